/**
 * Upstream health: one circuit breaker and one "not before" time per upstream (a model provider by its
 * base URL, a Binance host), shared by every decision that calls it.
 *
 *   closed --(LLM_BREAKER_FAILURES consecutive failures, or a failure ratio of at least
 *            LLM_BREAKER_FAILURE_RATIO over LLM_BREAKER_MIN_CALLS+ calls in LLM_BREAKER_WINDOW_MS)--> open
 *   open   --(LLM_BREAKER_COOLDOWN_MS passed)--> half-open: ONE caller is let through as the probe
 *   probe succeeds --> closed            probe fails --> open for another cool-down
 *
 * A Retry-After (a 429 from a model provider, a 418/429 from Binance) sets the upstream's `notBefore`:
 * it holds for every caller of that upstream, not only for the one that received it.
 *
 * Design decisions:
 * - The transitions are pure functions over a small state record (`admit`, `recordResult`, `holdUntil`),
 *   and the state lives in a store. Two stores apply the SAME transitions: in this process (the local
 *   host, the CLI: one process runs every decision of a backtest), or in PostgreSQL (AWS: every Map
 *   iteration is its own Lambda, so an in-process breaker would have as many states as warm containers).
 *   The database store applies a transition under the row's lock (SELECT ... FOR UPDATE in one
 *   transaction), so concurrent Lambdas cannot both take the probe or lose a failure count.
 *   Why not cockatiel's CircuitBreaker: its state lives in one process; we would need the persisted
 *   store anyway, and one implementation over two stores keeps one behaviour to test.
 * - Only the upstream's own failures count: 5xx, timeouts, rate limits, unreachable. A request the
 *   upstream rejected as bad (4xx other than 429), an invalid answer or an abstention is not the
 *   upstream being down.
 * - The probe is leased (`probeUntil`): a probe whose caller died frees itself after the lease.
 * - Times are wall-clock milliseconds from an injected clock, so tests step through cool-downs without
 *   waiting.
 */
import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { upstreamHealth } from '../db/schema';

export interface BreakerConfig {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** Failure ratio over the window that opens it (with at least `minCalls` calls in the window). */
  failureRatio: number;
  minCalls: number;
  windowMs: number;
  /** How long an open breaker refuses before it lets one probe through. */
  cooldownMs: number;
  /** How long a probe may take before another caller may probe instead. */
  probeLeaseMs: number;
}

export const DEFAULT_BREAKER: BreakerConfig = {
  failures: 5,
  failureRatio: 0.5,
  minCalls: 10,
  windowMs: 60_000,
  cooldownMs: 30_000,
  probeLeaseMs: 60_000,
};

export interface UpstreamState {
  consecutiveFailures: number;
  windowStart: number;
  windowCalls: number;
  windowFailures: number;
  /** While set and in the future, the breaker is open. Set and past: half-open (a probe may go). */
  openUntil: number | null;
  /** A probe in flight holds this lease. */
  probeUntil: number | null;
  /** A Retry-After in force for every caller. */
  notBefore: number | null;
  lastError: string | null;
  /** How many times the breaker opened (for the health view). */
  opened: number;
}

export const INITIAL_STATE: UpstreamState = {
  consecutiveFailures: 0,
  windowStart: 0,
  windowCalls: 0,
  windowFailures: 0,
  openUntil: null,
  probeUntil: null,
  notBefore: null,
  lastError: null,
  opened: 0,
};

export type Admission =
  | { ok: true; probe: boolean }
  | {
      ok: false;
      /** open: the breaker refuses; probing: another caller's probe decides; not_before: a Retry-After. */
      reason: 'open' | 'probing' | 'not_before';
      /** When the upstream may be tried again (epoch ms). */
      until: number;
      lastError: string | null;
    };

export type CallResult = { ok: true } | { ok: false; error: string };

/** May a call go to the upstream now? Takes the probe (a lease) when the breaker is half-open. */
export function admit(
  s: UpstreamState,
  now: number,
  cfg: BreakerConfig,
): { next: UpstreamState; result: Admission } {
  const refuse = (reason: 'open' | 'probing' | 'not_before', until: number) => ({
    next: s,
    result: { ok: false, reason, until, lastError: s.lastError } as const,
  });
  if (s.notBefore !== null && s.notBefore > now) return refuse('not_before', s.notBefore);
  if (s.openUntil === null) return { next: s, result: { ok: true, probe: false } };
  if (s.openUntil > now) return refuse('open', s.openUntil);
  // Half-open: one probe at a time.
  if (s.probeUntil !== null && s.probeUntil > now) return refuse('probing', s.probeUntil);
  return { next: { ...s, probeUntil: now + cfg.probeLeaseMs }, result: { ok: true, probe: true } };
}

/** Count a call's result; a failure may open (or re-open) the breaker. */
export function recordResult(
  s: UpstreamState,
  now: number,
  cfg: BreakerConfig,
  result: CallResult,
): UpstreamState {
  const fresh = now - s.windowStart >= cfg.windowMs;
  const windowStart = fresh ? now : s.windowStart;
  const windowCalls = (fresh ? 0 : s.windowCalls) + 1;
  const windowFailures = (fresh ? 0 : s.windowFailures) + (result.ok ? 0 : 1);
  if (result.ok)
    return {
      ...s,
      consecutiveFailures: 0,
      windowStart,
      windowCalls,
      windowFailures,
      openUntil: null,
      probeUntil: null,
    };
  const consecutiveFailures = s.consecutiveFailures + 1;
  const wasProbe = s.openUntil !== null && s.openUntil <= now;
  const trips =
    wasProbe ||
    consecutiveFailures >= cfg.failures ||
    (windowCalls >= cfg.minCalls && windowFailures / windowCalls >= cfg.failureRatio);
  const alreadyOpen = s.openUntil !== null && s.openUntil > now;
  return {
    ...s,
    consecutiveFailures,
    windowStart,
    windowCalls,
    windowFailures,
    lastError: result.error.slice(0, 300),
    openUntil: trips && !alreadyOpen ? now + cfg.cooldownMs : s.openUntil,
    probeUntil: trips ? null : s.probeUntil,
    opened: trips && !alreadyOpen ? s.opened + 1 : s.opened,
  };
}

/** A Retry-After: no caller goes to the upstream before `until`. */
export function holdUntil(s: UpstreamState, until: number, why: string): UpstreamState {
  return s.notBefore !== null && s.notBefore >= until
    ? s
    : { ...s, notBefore: until, lastError: why.slice(0, 300) };
}

/** Where upstream states live; `apply` runs one transition atomically for its key. */
export interface UpstreamHealthStore {
  readonly kind: 'memory' | 'database';
  apply<T>(key: string, fn: (s: UpstreamState) => { next: UpstreamState; result: T }): Promise<T>;
  list(): Promise<{ key: string; state: UpstreamState }[]>;
  /** Forget every state (an operator's "the provider is back", and test isolation). */
  reset(): Promise<void>;
}

export function createMemoryHealthStore(): UpstreamHealthStore {
  const states = new Map<string, UpstreamState>();
  return {
    kind: 'memory',
    async apply(key, fn) {
      // One synchronous read-modify-write: atomic in this process.
      const { next, result } = fn(states.get(key) ?? INITIAL_STATE);
      states.set(key, next);
      return result;
    },
    async list() {
      return [...states.entries()].map(([key, state]) => ({ key, state }));
    },
    async reset() {
      states.clear();
    },
  };
}

export function createDatabaseHealthStore(db: DbOrTx): UpstreamHealthStore {
  return {
    kind: 'database',
    async apply(key, fn) {
      return db.transaction(async (tx) => {
        await tx
          .insert(upstreamHealth)
          .values({ key, state: INITIAL_STATE })
          .onConflictDoNothing({ target: upstreamHealth.key });
        const [row] = await tx
          .select({ state: upstreamHealth.state })
          .from(upstreamHealth)
          .where(eq(upstreamHealth.key, key))
          .for('update');
        const current = { ...INITIAL_STATE, ...((row?.state as Partial<UpstreamState>) ?? {}) };
        const { next, result } = fn(current);
        if (next !== current)
          await tx
            .update(upstreamHealth)
            .set({ state: next, updatedAt: sql`now()` })
            .where(eq(upstreamHealth.key, key));
        return result;
      });
    },
    async list() {
      const rows = await db.select().from(upstreamHealth);
      return rows.map((r) => ({
        key: r.key,
        state: { ...INITIAL_STATE, ...(r.state as Partial<UpstreamState>) },
      }));
    },
    async reset() {
      await db.delete(upstreamHealth);
    },
  };
}

/** The breaker and the not-before of one upstream, bound to a store, a config and a clock. */
export interface UpstreamGuard {
  readonly key: string;
  /**
   * `waitedUntil`: the caller has already slept until then (a Retry-After it waited out), so a hold
   * ending by then no longer applies to it (clocks in tests do not move while a stand-in sleep runs).
   */
  admit(waitedUntil?: number): Promise<Admission>;
  record(result: CallResult): Promise<void>;
  /** Every caller waits until `until` (a Retry-After). */
  hold(until: number, why: string): Promise<void>;
}

export function createUpstreamGuard(
  store: UpstreamHealthStore,
  key: string,
  cfg: BreakerConfig,
  clock: () => number,
): UpstreamGuard {
  return {
    key,
    admit: (waitedUntil = 0) => store.apply(key, (s) => admit(s, Math.max(clock(), waitedUntil), cfg)),
    record: (result) =>
      store.apply(key, (s) => ({ next: recordResult(s, clock(), cfg, result), result: undefined })),
    hold: (until, why) => store.apply(key, (s) => ({ next: holdUntil(s, until, why), result: undefined })),
  };
}
