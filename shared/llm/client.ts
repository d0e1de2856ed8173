/**
 * LLMClient: the one door for every model call.
 *
 * role -> tier (AGENT_TIER) -> model (CHEAP_MODEL / STRONG_MODEL); per-role max_tokens; low temperature
 * and a seed; structured output (json_schema or JSON mode, per model); the reply validated by the
 * agent's zod schema, ONE repair attempt that sends the validation error back, then abstention (never a
 * fabricated default). Around the provider: the response cache (cache.ts), the daily token budget
 * (budget.ts), bounded retries, and ONE `agent_logs` row per call with the provider's own usage, USD from
 * the dated price table, latency, retries and cache hit (spec NFR-9).
 *
 * Design decisions:
 * - Retries are ours, not the SDK's, and ONLY ours: one agent call makes at most 1 + LLM_MAX_RETRIES
 *   requests, whatever host runs it (the state machines retry Lambda's own transient errors, never an
 *   LLM error). 429 (honouring Retry-After up to LLM_RETRY_AFTER_MAX_MS), 5xx and timeouts are retried
 *   with exponential backoff and full jitter; a longer Retry-After fails the call at once (the decision
 *   is `failed` and resumable) instead of parking a Lambda. The sleep, clocks and random source are
 *   injectable so tests check the policy without waiting. After the last retry the error escapes as
 *   `LlmRateLimited`, `LlmTimeout`, `LlmUpstreamError` or `LlmCircuitOpen`.
 * - Around every request to a billable provider (shared/resilience): its circuit breaker and Retry-After
 *   hold (shared by every decision: in this process, or in PostgreSQL on AWS), so a provider that fails
 *   every call is asked a handful of times, not once per decision; and an adaptive concurrency limit
 *   that halves on 429s. A call that meets an open breaker fails at once (`LlmCircuitOpen`, naming the
 *   provider and when it will be tried again).
 * - Deadline: a call carries its decision's deadline (context.deadlineAt, DECISION_DEADLINE_MS after the
 *   decision was created). No request starts, and no wait runs, past it; a request's timeout is cut to
 *   what is left. So a hung provider ends the decision `failed` (LLM_TIMEOUT) within the deadline.
 * - Budget: each request to the provider (the first attempt and the repair) reserves its worst case
 *   (estimated input + max_tokens) before it is sent and settles to the reported usage after; a
 *   finally block releases it whatever fails in between, so `reserved` never stays inflated. A reply
 *   without usage is charged its reservation (a cap unreported calls could pass for free is no cap) and
 *   its cost is flagged unknown. A refusal is the outcome `budget_exceeded`. Cache hits and the offline
 *   rules cost no budget. An error thrown after a billed first attempt carries that spend (`spent`).
 * - Cache: the key covers everything that changes the answer (see cache.ts), and identical calls in
 *   one process are single-flighted: the later ones wait and read the first one's answer.
 * - The offline provider goes through this same code (validation, logging); only the budget and the
 *   cache are skipped for it, because it is free and already deterministic.
 * - A cache hit is logged with zero tokens and zero cost: it spent nothing. What it saved is in
 *   `llm_cache` (hits x the stored tokens and cost).
 */
import type { z } from 'zod';
import { MODEL_AGENT_TIER, type ModelAgentName, type Tier } from '../agents/schemas';
import { type Settings, selectedProvider } from '../config/settings';
import type { DbOrTx } from '../db/client';
import { agentLogs } from '../db/schema';
import { type MetricsPort, NO_METRICS } from '../observability/metrics';
import { createAdaptiveLimit } from '../resilience/adaptive-limit';
import {
  type Admission,
  type BreakerConfig,
  createMemoryHealthStore,
  createUpstreamGuard,
  type UpstreamHealthStore,
} from '../resilience/upstream-health';
import { createTokenBudget, type Reservation, type TokenBudget } from './budget';
import { cacheKey, createResponseCache, type ResponseCache } from './cache';
import { LlmCallError } from './errors';
import { createOfflineProvider } from './offline';
import { createOpenAIProvider } from './openai-provider';
import { costUsd, OFFLINE_MODEL, worstCaseUsd } from './prices';
import { type ChatProvider, ProviderError, type ProviderName, type ProviderResponse } from './provider';
import { parseReply, type StructuredMode, toStrictJsonSchema, withSchemaInstruction } from './structured';
import { type ChatMessage, estimateInputTokens } from './tokens';

/** Output caps per role: the analysts answer in a few fields, the researcher writes a short thesis. */
export const ROLE_MAX_TOKENS: Record<ModelAgentName, number> = {
  technical: 350,
  sentiment: 350,
  tokenomics: 300,
  researcher: 500,
  trader: 300,
  risk: 300,
  // The learning loop's agents list patterns and proposals: longer answers, once per cycle.
  learning: 1200,
  strategy_builder: 1200,
};

/** Passed where the provider supports it, so repeated calls vary less. */
export const DEFAULT_SEED = 7;
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 8_000;
/** How often a call refused while another call probes the provider asks again. */
const PROBE_POLL_MS = 200;
const SUMMARY_CHARS = 1_000;

export interface LlmCallContext {
  decisionId?: string | null;
  runId?: string | null;
  symbol?: string | null;
  /** Wall-clock epoch ms past which no request starts and no retry waits (the decision's deadline). */
  deadlineAt?: number;
}

export interface LlmCallRequest<T> {
  agent: ModelAgentName;
  promptVersion: string;
  messages: ChatMessage[];
  schemaName: string;
  schema: z.ZodType<T>;
  /** The agent's structured input (the offline rules compute from it; also the log's input summary). */
  input: unknown;
  context?: LlmCallContext;
  /** Overrides ROLE_MAX_TOKENS[agent]. */
  maxTokens?: number;
  /**
   * The caller writes the call's agent_logs row itself (outcome.log), in the same statement as the
   * result it stores (a decision step: one write instead of two, and the decision's totals and its logs
   * cannot disagree). A call that throws is still logged here, since the caller stores nothing.
   */
  deferLog?: boolean;
}

export interface LlmCallMeta {
  provider: ProviderName;
  tier: Tier;
  model: string;
  promptVersion: string;
  tokensIn: number;
  tokensOut: number;
  tokensCached: number;
  costUsd: number;
  /** False when the model has no listed price (cost reported as 0). */
  costKnown: boolean;
  latencyMs: number;
  retries: number;
  cacheHit: boolean;
  repaired: boolean;
}

/** An agent_logs row as the client writes it. */
export type AgentLogRow = typeof agentLogs.$inferInsert;

/** `log` is set when the request asked to write its log row itself (deferLog). */
export type LlmCallOutcome<T> =
  | { status: 'ok'; output: T; meta: LlmCallMeta; log?: AgentLogRow }
  | { status: 'abstained'; reason: string; meta: LlmCallMeta; log?: AgentLogRow }
  | { status: 'budget_exceeded'; reason: string; meta: LlmCallMeta; log?: AgentLogRow };

export interface LLMClient {
  readonly provider: ProviderName;
  route(agent: ModelAgentName): { tier: Tier; model: string; maxTokens: number };
  /**
   * One agent call. Returns ok / abstained / budget_exceeded; throws LlmCallError (name LlmRateLimited,
   * LlmTimeout, LlmUpstreamError or LlmRequestError) when the provider failed after bounded retries.
   */
  call<T>(req: LlmCallRequest<T>): Promise<LlmCallOutcome<T>>;
  readonly budget: TokenBudget;
}

export interface LLMClientOptions {
  db: DbOrTx;
  settings: Settings;
  /** Replaces the provider chosen from settings (tests, or a custom adapter). */
  provider?: ChatProvider;
  /** Structured-output mode per model; default from LLM_STRUCTURED_OUTPUT and LLM_JSON_MODE_MODELS. */
  structuredMode?: (model: string) => StructuredMode;
  seed?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  /** Every logged call is also a metric (shared/observability/metrics.ts). */
  metrics?: MetricsPort;
  /**
   * Wall clock for deadlines, breakers and Retry-After holds (default Date.now). Separate from `now`,
   * which a host may pin to a market time (tests, replays).
   */
  clock?: () => number;
  /** Where breaker states live (default: this process). AWS passes the PostgreSQL store. */
  health?: UpstreamHealthStore;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function providerFromSettings(settings: Settings): ChatProvider {
  return selectedProvider(settings) === 'offline'
    ? createOfflineProvider()
    : createOpenAIProvider({ apiKey: settings.LLM_API_KEY, baseURL: settings.LLM_BASE_URL });
}

export function createLLMClient(opts: LLMClientOptions): LLMClient {
  const { db, settings } = opts;
  const provider = opts.provider ?? providerFromSettings(settings);
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const metrics = opts.metrics ?? NO_METRICS;
  const modeFor =
    opts.structuredMode ??
    ((model: string): StructuredMode =>
      settings.LLM_JSON_MODE_MODELS.includes(model) ? 'json_object' : settings.LLM_STRUCTURED_OUTPUT);
  const seed = opts.seed ?? DEFAULT_SEED;
  const budget = createTokenBudget(db, {
    dailyTokens: settings.DAILY_TOKEN_BUDGET,
    dailyUsd: settings.DAILY_USD_BUDGET ?? null,
    now,
  });
  const cache: ResponseCache = createResponseCache(db);
  const useCache = provider.billable && settings.LLM_CACHE;
  /** Cache keys of the calls in flight in this process (see call()). */
  const inflight = new Map<string, Promise<void>>();
  const clock = opts.clock ?? Date.now;
  const upstreamKey = `llm:${provider.cacheScope ?? provider.name}`;
  // The offline rules cannot fail as an upstream does: no breaker, no limit.
  const guard = provider.billable
    ? createUpstreamGuard(
        opts.health ?? createMemoryHealthStore(),
        upstreamKey,
        breakerConfig(settings),
        clock,
      )
    : null;
  const limiter = provider.billable ? createAdaptiveLimit(settings.LLM_MAX_CONCURRENCY, clock) : null;

  function route(agent: ModelAgentName) {
    const tier = MODEL_AGENT_TIER[agent];
    const model =
      provider.name === 'offline'
        ? OFFLINE_MODEL
        : tier === 'cheap'
          ? settings.CHEAP_MODEL
          : settings.STRONG_MODEL;
    return { tier, model, maxTokens: ROLE_MAX_TOKENS[agent] };
  }

  /**
   * One provider request with bounded retries (at most 1 + LLM_MAX_RETRIES requests), through the
   * upstream's breaker, Retry-After hold and adaptive limit, within the deadline. Returns the response
   * and how many retries it took; throws a ProviderError carrying `retries`.
   */
  async function sendWithRetries(req: Parameters<ChatProvider['complete']>[0], deadlineAt: number) {
    let retries = 0;
    /** The end of the last wait this call slept through: a hold ending by then has been waited out. */
    let waitedUntil = 0;
    const pause = async (ms: number) => {
      waitedUntil = Math.max(waitedUntil, clock() + ms);
      await sleep(ms);
    };
    const fail = (pe: ProviderError) => Object.assign(pe, { retries });
    const deadlineError = (what: string) =>
      fail(
        new ProviderError(
          'timeout',
          `the decision's deadline (DECISION_DEADLINE_MS=${settings.DECISION_DEADLINE_MS}) passed ${what}`,
          undefined,
          undefined,
        ),
      );
    for (;;) {
      if (guard) {
        const a = await guard.admit(waitedUntil);
        if (!a.ok) {
          const wait = Math.max(0, a.until - clock());
          // A short Retry-After another call received: wait it out like our own, within the deadline.
          if (
            a.reason === 'not_before' &&
            wait <= settings.LLM_RETRY_AFTER_MAX_MS &&
            clock() + wait < deadlineAt
          ) {
            await pause(wait);
            continue;
          }
          // Another caller's probe is deciding whether the provider is back: wait for its outcome (in
          // short steps, within the deadline) rather than fail a call that may be about to succeed.
          if (a.reason === 'probing' && clock() + PROBE_POLL_MS < deadlineAt) {
            await sleep(PROBE_POLL_MS);
            continue;
          }
          throw fail(refusal(a, provider.cacheScope ?? provider.name));
        }
      }
      const remaining = deadlineAt - clock();
      if (remaining <= 0) throw deadlineError('before the request could be sent');
      if (limiter && !(await limiter.acquire(deadlineAt)))
        throw deadlineError('while waiting for a slot (the provider is rate-limiting)');
      let outcome: 'ok' | 'rate_limited' | 'other' = 'other';
      try {
        const res = await provider.complete({ ...req, timeoutMs: Math.min(req.timeoutMs, remaining) });
        outcome = 'ok';
        await guard?.record({ ok: true });
        return { res, retries };
      } catch (e) {
        const pe =
          e instanceof ProviderError
            ? e
            : new ProviderError('request', String(e), undefined, undefined, { cause: e });
        if (pe.kind === 'rate_limited') outcome = 'rate_limited';
        // The provider's own faults count against its breaker; a request it refused as bad does not.
        if (guard && pe.kind !== 'request') await guard.record({ ok: false, error: pe.message });
        if (guard && pe.retryAfterMs !== undefined && pe.retryAfterMs > 0)
          await guard.hold(
            clock() + pe.retryAfterMs,
            `Retry-After ${pe.retryAfterMs / 1000} s: ${pe.message}`,
          );
        const retryable = pe.kind !== 'request';
        const tooLong = pe.retryAfterMs !== undefined && pe.retryAfterMs > settings.LLM_RETRY_AFTER_MAX_MS;
        if (!retryable || retries >= settings.LLM_MAX_RETRIES || tooLong) throw fail(pe);
        const backoff = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retries) * random();
        const wait = Math.max(backoff, pe.retryAfterMs ?? 0);
        if (clock() + wait >= deadlineAt) throw fail(pe);
        await pause(wait);
        retries++;
      } finally {
        limiter?.release(outcome);
      }
    }
  }

  async function log(row: {
    ctx: LlmCallContext | undefined;
    agent: ModelAgentName;
    meta: LlmCallMeta;
    status: 'ok' | 'repaired' | 'abstained' | 'error' | 'budget_exceeded';
    input: unknown;
    output: unknown;
    error: string | null;
    /** Answer the row instead of writing it (the request's deferLog). */
    defer?: boolean;
  }): Promise<AgentLogRow | undefined> {
    const values: AgentLogRow = {
      timestamp: new Date(now()),
      runId: row.ctx?.runId ?? null,
      decisionId: row.ctx?.decisionId ?? null,
      agent: row.agent,
      symbol: row.ctx?.symbol ?? null,
      provider: row.meta.provider,
      tier: row.meta.tier,
      model: row.meta.model,
      promptVersion: row.meta.promptVersion,
      status: row.status,
      tokensIn: row.meta.tokensIn,
      tokensOut: row.meta.tokensOut,
      tokensCached: row.meta.tokensCached,
      costUsd: row.meta.costUsd.toFixed(8),
      latencyMs: Math.round(row.meta.latencyMs),
      retries: row.meta.retries,
      cacheHit: row.meta.cacheHit,
      inputSummary: summarize(row.input),
      outputSummary: row.output === null ? null : summarize(row.output),
      error: row.error,
    };
    if (!row.defer) await db.insert(agentLogs).values(values);
    const m = row.meta;
    metrics.modelCall({
      agent: row.agent,
      model: m.model,
      status: row.status,
      tokensIn: m.tokensIn,
      tokensOut: m.tokensOut,
      costUsd: m.costUsd,
      latencyMs: m.latencyMs,
      cacheHit: m.cacheHit,
    });
    if (row.status === 'budget_exceeded') metrics.budgetRefused({ agent: row.agent, model: m.model });
    return row.defer ? values : undefined;
  }

  async function call<T>(req: LlmCallRequest<T>): Promise<LlmCallOutcome<T>> {
    const started = now();
    const { tier, model, maxTokens: roleMax } = route(req.agent);
    const maxTokens = req.maxTokens ?? roleMax;
    const { jsonSchema, schemaText } = jsonSchemaOf(req.schema);
    const mode = modeFor(model);
    const baseMessages =
      mode === 'json_object' ? withSchemaInstruction(req.messages, jsonSchema) : req.messages;
    const meta: LlmCallMeta = {
      provider: provider.name,
      tier,
      model,
      promptVersion: req.promptVersion,
      tokensIn: 0,
      tokensOut: 0,
      tokensCached: 0,
      costUsd: 0,
      costKnown: true,
      latencyMs: 0,
      retries: 0,
      cacheHit: false,
      repaired: false,
    };
    const finish = () => {
      meta.latencyMs = Math.max(0, now() - started);
      return meta;
    };

    const key = useCache
      ? cacheKey({
          model,
          messages: baseMessages,
          schemaName: req.schemaName,
          jsonSchema,
          temperature: settings.LLM_TEMPERATURE,
          maxTokens,
          mode,
          seed,
          scope: provider.cacheScope ?? provider.name,
        })
      : undefined;
    // Identical calls in this process run one at a time: the later ones wait for the one in flight and
    // then read its answer from the cache, so they cost nothing and get the same answer.
    let endFlight: (() => void) | undefined;
    if (key) {
      for (let pending = inflight.get(key); pending; pending = inflight.get(key)) await pending;
      inflight.set(
        key,
        new Promise<void>((resolve) => {
          endFlight = resolve;
        }),
      );
    }
    try {
      if (key) {
        const hit = await cache.get(key);
        const parsed = hit ? req.schema.safeParse(hit.output) : undefined;
        if (parsed?.success) {
          meta.cacheHit = true;
          finish();
          const logged = await log({
            ctx: req.context,
            agent: req.agent,
            meta,
            status: 'ok',
            input: req.input,
            output: parsed.data,
            error: null,
            defer: req.deferLog,
          });
          return { status: 'ok', output: parsed.data, meta, ...(logged ? { log: logged } : {}) };
        }
      }

      let messages = baseMessages;
      let lastError = '';
      for (let attempt = 0; attempt < 2; attempt++) {
        let reservation: Reservation | null = null;
        if (provider.billable) {
          const inputEstimate = estimateInputTokens(messages, schemaText);
          // Under a dollar budget the call reserves its worst-case price too; a model without a listed
          // price cannot be priced, so it is refused by name rather than guessed.
          const worstUsd = budget.dailyUsd === null ? 0 : worstCaseUsd(model, inputEstimate, maxTokens);
          const outcome =
            worstUsd === null
              ? ({
                  ok: false,
                  message: `model ${model} has no listed price (shared/llm/prices.ts), so it cannot be called under DAILY_USD_BUDGET ($${budget.dailyUsd}); list its price or unset DAILY_USD_BUDGET`,
                } as const)
              : await budget.tryReserve({ tokens: inputEstimate + maxTokens, usd: worstUsd });
          if (outcome.ok) reservation = outcome.reservation;
          else {
            const reason = `BUDGET_EXCEEDED: ${outcome.message}`;
            finish();
            const logged = await log({
              ctx: req.context,
              agent: req.agent,
              meta,
              status: 'budget_exceeded',
              input: req.input,
              output: null,
              error: reason,
              defer: req.deferLog,
            });
            return { status: 'budget_exceeded', reason, meta, ...(logged ? { log: logged } : {}) };
          }
        }
        let res: ProviderResponse;
        // The reservation is settled or released exactly once, whatever happens in between (finally).
        let reservationOpen = reservation !== null;
        try {
          try {
            const sent = await sendWithRetries(
              {
                agent: req.agent,
                model,
                messages,
                maxTokens,
                temperature: settings.LLM_TEMPERATURE,
                seed,
                responseFormat: { mode, name: req.schemaName, schema: jsonSchema },
                input: req.input,
                timeoutMs: settings.LLM_TIMEOUT_MS,
              },
              req.context?.deadlineAt ?? clock() + settings.DECISION_DEADLINE_MS,
            );
            res = sent.res;
            meta.retries += sent.retries;
          } catch (e) {
            if (reservation) {
              reservationOpen = false;
              await budget.release(reservation);
            }
            const pe = e as ProviderError & { retries?: number };
            meta.retries += pe.retries ?? 0;
            finish();
            const name =
              pe.kind === 'rate_limited'
                ? 'LlmRateLimited'
                : pe.kind === 'timeout'
                  ? 'LlmTimeout'
                  : pe.kind === 'server'
                    ? 'LlmUpstreamError'
                    : pe.kind === 'unavailable'
                      ? 'LlmCircuitOpen'
                      : 'LlmRequestError';
            const message = `${pe.message} (after ${meta.retries} retries)`;
            await log({
              ctx: req.context,
              agent: req.agent,
              meta,
              status: 'error',
              input: req.input,
              output: null,
              error: `${name}: ${message}`,
            });
            const error = new LlmCallError(
              name,
              message,
              {
                agent: req.agent,
                model,
                retries: meta.retries,
                status: pe.status,
                ...(pe.retryAfterMs !== undefined
                  ? { retryAfterSeconds: Math.ceil(pe.retryAfterMs / 1000) }
                  : {}),
              },
              e,
            );
            error.spent = { tokensIn: meta.tokensIn, tokensOut: meta.tokensOut, costUsd: meta.costUsd };
            throw error;
          }

          const usage = res.usage ?? { promptTokens: 0, completionTokens: 0, cachedTokens: 0 };
          const reported = res.usage !== undefined && res.usageReported !== false;
          const cost = reported ? costUsd(model, usage) : null;
          if (cost === null) meta.costKnown = false;
          meta.tokensIn += usage.promptTokens;
          meta.tokensOut += usage.completionTokens;
          meta.tokensCached += usage.cachedTokens;
          meta.costUsd += cost ?? 0;
          if (reservation) {
            reservationOpen = false;
            // Without reported usage the call is charged its worst case: a cap that unreported calls
            // could pass for free would be no cap.
            await budget.settle(
              reservation,
              reported ? usage.promptTokens + usage.completionTokens : reservation.tokens,
              // Unreported usage under a dollar budget is charged its worst-case price, like its tokens.
              reported ? (cost ?? 0) : reservation.usd,
            );
          }
        } finally {
          if (reservation && reservationOpen) await budget.release(reservation);
        }

        const parsed = parseReply(res.content, req.schema);
        if (parsed.ok) {
          meta.repaired = attempt > 0;
          finish();
          if (key)
            await cache.put(key, model, {
              output: parsed.value,
              tokensIn: meta.tokensIn,
              tokensOut: meta.tokensOut,
              costUsd: meta.costUsd,
            });
          const logged = await log({
            ctx: req.context,
            agent: req.agent,
            meta,
            status: meta.repaired ? 'repaired' : 'ok',
            input: req.input,
            output: parsed.value,
            error: meta.repaired ? `repaired: ${lastError}` : null,
            defer: req.deferLog,
          });
          return { status: 'ok', output: parsed.value, meta, ...(logged ? { log: logged } : {}) };
        }
        lastError = parsed.error;
        // The repair: show the model its own reply and what is wrong with it, once.
        messages = [
          ...baseMessages,
          { role: 'assistant', content: (res.content ?? '').slice(0, SUMMARY_CHARS * 4) },
          {
            role: 'user',
            content: `Your reply was rejected: ${parsed.error}. Reply again with only the corrected JSON object.`,
          },
        ];
      }
      const reason = `abstained: the reply stayed invalid after one repair attempt (${lastError})`;
      finish();
      const logged = await log({
        ctx: req.context,
        agent: req.agent,
        meta,
        status: 'abstained',
        input: req.input,
        output: null,
        error: reason,
        defer: req.deferLog,
      });
      return { status: 'abstained', reason, meta, ...(logged ? { log: logged } : {}) };
    } finally {
      if (key && endFlight) {
        inflight.delete(key);
        endFlight();
      }
    }
  }

  return { provider: provider.name, route, call, budget };
}

/** An agent schema's strict JSON schema and its text, converted once per schema (agents reuse theirs). */
const jsonSchemas = new WeakMap<z.ZodType, { jsonSchema: Record<string, unknown>; schemaText: string }>();
function jsonSchemaOf(schema: z.ZodType) {
  let hit = jsonSchemas.get(schema);
  if (!hit) {
    const jsonSchema = toStrictJsonSchema(schema);
    hit = { jsonSchema, schemaText: JSON.stringify(jsonSchema) };
    jsonSchemas.set(schema, hit);
  }
  return hit;
}

function summarize(x: unknown): string {
  const s = typeof x === 'string' ? x : JSON.stringify(x);
  return s.length > SUMMARY_CHARS ? `${s.slice(0, SUMMARY_CHARS - 1)}…` : s;
}

export function breakerConfig(settings: Settings): BreakerConfig {
  return {
    failures: settings.LLM_BREAKER_FAILURES,
    failureRatio: settings.LLM_BREAKER_FAILURE_RATIO,
    minCalls: settings.LLM_BREAKER_MIN_CALLS,
    windowMs: settings.LLM_BREAKER_WINDOW_MS,
    cooldownMs: settings.LLM_BREAKER_COOLDOWN_MS,
    // A probe is one request: its lease covers the request's own timeout.
    probeLeaseMs: settings.LLM_TIMEOUT_MS + 1_000,
  };
}

/** The error for a call the breaker or a long Retry-After hold refused: no request was sent. */
function refusal(a: Extract<Admission, { ok: false }>, upstream: string): ProviderError {
  const at = new Date(a.until).toISOString();
  const waitMs = Math.max(0, a.until - Date.now());
  if (a.reason === 'not_before')
    return new ProviderError(
      'rate_limited',
      `the model provider at ${upstream} asked to wait until ${at} (Retry-After); not called`,
      429,
      waitMs,
    );
  return new ProviderError(
    'unavailable',
    `the model provider at ${upstream} is failing (circuit open${a.lastError ? `; last error: ${a.lastError}` : ''}); not called, next try after ${at}`,
    undefined,
    waitMs,
  );
}
