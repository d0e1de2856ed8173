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
 * - The day's row is created first with INSERT ... ON CONFLICT DO NOTHING, so the first callers of a
 *   day race only on the insert, which PostgreSQL resolves.
 * - After the call the reservation is settled to the provider's reported usage (reserved -= n,
 *   used += actual) or released on failure (reserved -= n). `used` never exceeds the budget as long as
 *   the provider's usage stays within the reservation: output is capped by `max_tokens`, and the input
 *   estimate carries a safety margin (see estimateInputTokens in tokens.ts).
 * - A refusal increments `refused` and is returned as a value (`null`), which the client turns into
 *   the agent status `budget_exceeded`: visible, never a silent HOLD and never a retryable error.
 * - The reservation remembers its day, so a call that crosses midnight settles on the day it reserved.
 * - The budget in force is the current setting: each reservation writes it to the row, so raising the
 *   setting takes effect the same day.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { tokenLedger } from '../db/schema';

export interface Reservation {
  day: string;
  tokens: number;
}

export interface BudgetStatus {
  day: string;
  budget: number;
  used: number;
  reserved: number;
  remaining: number;
  refused: number;
  costUsd: number;
}

export interface TokenBudget {
  /** Reserve `tokens`; null when the day's budget cannot fit them (the refusal is counted). */
  reserve(tokens: number): Promise<Reservation | null>;
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

export function createTokenBudget(db: DbOrTx, opts: { dailyTokens: number; now: () => number }): TokenBudget {
  const budget = opts.dailyTokens;

  async function ensureDay(day: string) {
    await db.insert(tokenLedger).values({ day, budget }).onConflictDoNothing({ target: tokenLedger.day });
  }

  return {
    async reserve(tokens) {
      const n = Math.max(0, Math.ceil(tokens));
      const day = utcDay(opts.now());
      await ensureDay(day);
      const rows = await db
        .update(tokenLedger)
        .set({
          reserved: sql`${tokenLedger.reserved} + ${n}`,
          budget,
          updatedAt: sql`now()`,
        })
        .where(
          and(
            eq(tokenLedger.day, day),
            sql`${tokenLedger.used} + ${tokenLedger.reserved} + ${n} <= ${budget}`,
          ),
        )
        .returning({ day: tokenLedger.day });
      if (rows.length === 1) return { day, tokens: n };
      await db
        .update(tokenLedger)
        .set({ refused: sql`${tokenLedger.refused} + 1`, updatedAt: sql`now()` })
        .where(eq(tokenLedger.day, day));
      return null;
    },

    async settle(r, usedTokens, cost) {
      await db
        .update(tokenLedger)
        .set({
          reserved: sql`greatest(${tokenLedger.reserved} - ${r.tokens}, 0)`,
          used: sql`${tokenLedger.used} + ${Math.max(0, Math.round(usedTokens))}`,
          costUsd: sql`${tokenLedger.costUsd} + ${cost.toFixed(8)}`,
          updatedAt: sql`now()`,
        })
        .where(eq(tokenLedger.day, r.day));
    },

    async release(r) {
      await db
        .update(tokenLedger)
        .set({ reserved: sql`greatest(${tokenLedger.reserved} - ${r.tokens}, 0)`, updatedAt: sql`now()` })
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
      };
    },
  };
}
