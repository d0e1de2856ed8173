/**
 * The daily token budget (DAILY_TOKEN_BUDGET per UTC day), enforced atomically in PostgreSQL.
 *
 * Design decisions:
 * - Reserve before the call, settle after. A call reserves its worst case (estimated input tokens plus
 *   `max_tokens`) with ONE conditional UPDATE on the day's `token_ledger` row:
 *     UPDATE token_ledger SET reserved = reserved + n WHERE day = d AND used + reserved + n <= budget
 *   PostgreSQL takes the row lock for the UPDATE and re-checks the WHERE clause on the latest row
 *   version, so concurrent callers (Map iterations, Lambdas, parallel analysts) are serialized on the
 *   row and can never together pass the cap. A SUM over logs checked before a call (what peers do) lets
 *   every concurrent caller see the same headroom and overshoot.
 * - The day's row is created with INSERT ... ON CONFLICT DO NOTHING when a reservation matched no row
 *   (the day's first call, or a refusal, which then tries once more), so the first callers of a day
 *   race only on the insert, which PostgreSQL resolves; every other call is one UPDATE.
 * - After the call the reservation is settled to the provider's reported usage (reserved -= n,
 *   used += actual) or released on failure (reserved -= n). `used` never exceeds the budget as long as
 *   the provider's usage stays within the reservation: output is capped by `max_tokens`, and the input
 *   estimate carries a safety margin (see estimateInputTokens in tokens.ts).
 * - A refusal increments `refused` and is returned as a value (`null`), which the client turns into
 *   the agent status `budget_exceeded`: visible, never a silent HOLD and never a retryable error.
 * - The reservation remembers its day, so a call that crosses midnight settles on the day it reserved.
 * - The budget in force is the current setting: each reservation writes it to the row, so raising the
 *   setting takes effect the same day.
 * - Dollars (DAILY_USD_BUDGET, unset by default) are enforced in the SAME conditional UPDATE, beside the
 *   tokens: a call reserves its worst-case price too (see worstCaseUsd in prices.ts) and passes only when
 *   both fit, `cost_usd + usd_reserved + c <= usd_budget`; it settles to the real cost. So the dollar cap
 *   holds under concurrency exactly as the token cap does. A refusal says which budget refused.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { tokenLedger } from '../db/schema';

export interface Reservation {
  day: string;
  tokens: number;
  /** Worst-case USD reserved (0 when no dollar budget is set). */
  usd: number;
}

/** What a call asks the ledger for: its worst-case tokens and, under a dollar budget, its worst-case USD. */
export interface ReservationRequest {
  tokens: number;
  usd?: number;
}

export type ReserveOutcome =
  | { ok: true; reservation: Reservation }
  | { ok: false; by: 'tokens' | 'usd'; message: string };

export interface BudgetStatus {
  day: string;
  budget: number;
  used: number;
  reserved: number;
  remaining: number;
  refused: number;
  costUsd: number;
  /** The dollar budget in force, or null when DAILY_USD_BUDGET is unset. */
  usd: { budget: number; used: number; reserved: number; remaining: number } | null;
}

export interface TokenBudget {
  /** Reserve `tokens`; null when the day's budget cannot fit them (the refusal is counted). */
  reserve(tokens: number): Promise<Reservation | null>;
  /** Reserve tokens and dollars in one atomic step; a refusal (counted) says which budget refused. */
  tryReserve(req: ReservationRequest): Promise<ReserveOutcome>;
  /** The dollar budget in force (null: none). */
  readonly dailyUsd: number | null;
  /** Replace the reservation by the real usage and its cost. */
  settle(r: Reservation, usedTokens: number, costUsd: number): Promise<void>;
  /** Give the reservation back (the call failed before using tokens). */
  release(r: Reservation): Promise<void>;
  status(day?: string): Promise<BudgetStatus>;
}

/** The UTC calendar day of an epoch-ms time, as YYYY-MM-DD. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** USD as the ledger stores it (numeric(18,8)); a reservation rounds UP so it never under-reserves. */
const usdText = (x: number) => (Math.ceil(Math.max(0, x) * 1e8) / 1e8).toFixed(8);

export function createTokenBudget(
  db: DbOrTx,
  opts: { dailyTokens: number; dailyUsd?: number | null; now: () => number },
): TokenBudget {
  const budget = opts.dailyTokens;
  const usdBudget = opts.dailyUsd ?? null;

  async function ensureDay(day: string) {
    await db.insert(tokenLedger).values({ day, budget }).onConflictDoNothing({ target: tokenLedger.day });
  }

  async function tryReserve(req: ReservationRequest): Promise<ReserveOutcome> {
    const n = Math.max(0, Math.ceil(req.tokens));
    const usd = usdBudget === null ? 0 : Number(usdText(req.usd ?? 0));
    const day = utcDay(opts.now());
    const fitsTokens = sql`${tokenLedger.used} + ${tokenLedger.reserved} + ${n} <= ${budget}`;
    const fitsUsd =
      usdBudget === null
        ? sql`true`
        : sql`${tokenLedger.costUsd} + ${tokenLedger.usdReserved} + ${usd.toFixed(8)}::numeric <= ${usdBudget.toFixed(8)}::numeric`;
    const reserve = () =>
      db
        .update(tokenLedger)
        .set({
          reserved: sql`${tokenLedger.reserved} + ${n}`,
          usdReserved: sql`${tokenLedger.usdReserved} + ${usd.toFixed(8)}::numeric`,
          budget,
          usdBudget: usdBudget === null ? null : usdBudget.toFixed(8),
          updatedAt: sql`now()`,
        })
        .where(and(eq(tokenLedger.day, day), fitsTokens, fitsUsd))
        .returning({ day: tokenLedger.day });
    // The day's row exists for every call but the day's first: try the reservation first, and create the
    // row (and try again) only when nothing matched. One statement per reservation instead of two.
    let rows = await reserve();
    if (rows.length === 0) {
      await ensureDay(day);
      rows = await reserve();
    }
    if (rows.length === 1) return { ok: true, reservation: { day, tokens: n, usd } };
    // Refused: count it, and read back (in the same statement) which of the two caps was short.
    const [after] = await db
      .update(tokenLedger)
      .set({ refused: sql`${tokenLedger.refused} + 1`, updatedAt: sql`now()` })
      .where(eq(tokenLedger.day, day))
      .returning({
        tokensShort: sql<boolean>`${fitsTokens} is not true`,
        usdLeft: sql<string>`(${tokenLedger.usdBudget} - ${tokenLedger.costUsd} - ${tokenLedger.usdReserved})::text`,
      });
    if (after?.tokensShort !== false || usdBudget === null)
      return {
        ok: false,
        by: 'tokens',
        message: `the daily token budget (${budget} tokens, UTC day) cannot fit this call (${n} tokens at worst)`,
      };
    const left = Math.max(0, Number(after.usdLeft ?? 0));
    return {
      ok: false,
      by: 'usd',
      message: `the daily dollar budget (DAILY_USD_BUDGET $${usdBudget}, UTC day) cannot fit this call ($${usd.toFixed(6)} at worst; $${left.toFixed(6)} left)`,
    };
  }

  return {
    dailyUsd: usdBudget,
    tryReserve,

    async reserve(tokens) {
      const r = await tryReserve({ tokens });
      return r.ok ? r.reservation : null;
    },

    async settle(r, usedTokens, cost) {
      await db
        .update(tokenLedger)
        .set({
          reserved: sql`greatest(${tokenLedger.reserved} - ${r.tokens}, 0)`,
          usdReserved: sql`greatest(${tokenLedger.usdReserved} - ${(r.usd ?? 0).toFixed(8)}::numeric, 0)`,
          used: sql`${tokenLedger.used} + ${Math.max(0, Math.round(usedTokens))}`,
          costUsd: sql`${tokenLedger.costUsd} + ${cost.toFixed(8)}`,
          updatedAt: sql`now()`,
        })
        .where(eq(tokenLedger.day, r.day));
    },

    async release(r) {
      await db
        .update(tokenLedger)
        .set({
          reserved: sql`greatest(${tokenLedger.reserved} - ${r.tokens}, 0)`,
          usdReserved: sql`greatest(${tokenLedger.usdReserved} - ${(r.usd ?? 0).toFixed(8)}::numeric, 0)`,
          updatedAt: sql`now()`,
        })
        .where(eq(tokenLedger.day, r.day));
    },

    async status(dayArg) {
      const day = dayArg ?? utcDay(opts.now());
      const [row] = await db.select().from(tokenLedger).where(eq(tokenLedger.day, day));
      const used = row ? Number(row.used) : 0;
      const reserved = row ? Number(row.reserved) : 0;
      return {
        day,
        budget,
        used,
        reserved,
        remaining: Math.max(0, budget - used - reserved),
        refused: row?.refused ?? 0,
        costUsd: row ? Number(row.costUsd) : 0,
        usd:
          usdBudget === null
            ? null
            : {
                budget: usdBudget,
                used: row ? Number(row.costUsd) : 0,
                reserved: row ? Number(row.usdReserved) : 0,
                remaining: Math.max(0, usdBudget - (row ? Number(row.costUsd) + Number(row.usdReserved) : 0)),
              },
      };
    },
  };
}
