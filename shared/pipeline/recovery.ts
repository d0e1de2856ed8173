/**
 * Work a stopped host left unfinished. A local host that stops (Ctrl-C past the grace period, a crash,
 * a kill) cannot finish its running backtests and analyses; left alone they would say "running"
 * forever. They are marked failed with code INTERRUPTED and a message saying how to get the result
 * (run it again), so a user never waits on work nobody is doing. Recorded decisions, trades and
 * progress are kept: nothing is deleted.
 *
 * Only for a database one host owns (PGlite, locked to one process): on a shared PostgreSQL another
 * host may be running that work.
 */
import { and, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { backtests, decisions } from '../db/schema';

export const INTERRUPTED = 'INTERRUPTED';

export async function markInterruptedWork(
  db: DbOrTx,
  why: string,
): Promise<{ backtests: number; decisions: number }> {
  const error = { code: INTERRUPTED, message: `${why}; run it again to get a result` };
  const bt = await db
    .update(backtests)
    .set({ status: 'failed', error, finishedAt: sql`now()` })
    .where(inArray(backtests.status, ['pending', 'running']))
    .returning({ id: backtests.id });
  const dec = await db
    .update(decisions)
    .set({ status: 'failed', error, completedAt: sql`now()` })
    .where(and(inArray(decisions.status, ['pending', 'running'])))
    .returning({ id: decisions.id });
  return { backtests: bt.length, decisions: dec.length };
}
