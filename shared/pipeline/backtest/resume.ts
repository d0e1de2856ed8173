/**
 * Resume: a backtest cut by an outage completes without paying twice.
 *
 * - `resumeBacktest` reopens a finished backtest that has failed decisions (provider, Binance or budget
 *   errors, or points the run never reached after it stopped past BACKTEST_MAX_FAILED_PCT), or that
 *   failed as a run (interrupted, a step error). In ONE transaction, guarded by the backtest's status:
 *   its failed decisions are deleted (their calls stay in agent_logs) and it goes back to `pending`
 *   with its result cleared. The caller then starts the Backtest workflow again, as for a new run.
 * - The plan of a run (planDecisionPoints) only lists decision points that have no finished decision, so
 *   the rerun calls the agents for the failed points alone; the decisions already made stay as they are
 *   (no call, $0), and the simulator then runs over all of them again.
 * - Two resumes at once: the conditional UPDATE lets exactly one reopen the run; the other is a 409.
 */
import { and, eq, inArray, notInArray, sql } from 'drizzle-orm';
import { backtests, decisions } from '../../db/schema';
import { AppError } from '../../util/errors';
import type { PipelineDeps } from '../deps';
import { settingsOf } from './settings';
import { loadRow } from './store';

/** Finished decisions that made (or validly declined) a choice: kept by a resume. */
export const DECIDED_STATUSES = ['completed', 'no_trade'] as const;

/** The code of a decision point a stopped run never reached (listed as failed; resume runs it). */
export const NOT_RUN_CODE = 'NOT_RUN';

export interface ResumeOutcome {
  backtestId: string;
  /** Decision points the rerun will decide: the failed ones and any never recorded. */
  toRun: number;
  /** Decisions kept as they are (no new model call). */
  kept: number;
}

export async function resumeBacktest(deps: PipelineDeps, backtestId: string): Promise<ResumeOutcome> {
  const row = await loadRow(deps, backtestId);
  if (row.status === 'pending' || row.status === 'running')
    throw new AppError('CONFLICT', `backtest ${backtestId} is ${row.status}: wait for it to finish`, {
      id: backtestId,
      status: row.status,
    });
  const planned = settingsOf(row).decisionTimes.length;
  return deps.db.transaction(async (tx) => {
    const reopened = await tx
      .update(backtests)
      .set({ status: 'pending', result: null, error: null, finishedAt: null })
      .where(and(eq(backtests.id, backtestId), inArray(backtests.status, ['succeeded', 'failed'])))
      .returning({ id: backtests.id });
    if (reopened.length === 0)
      throw new AppError('CONFLICT', `backtest ${backtestId} is already being resumed`, { id: backtestId });
    // Failed decisions, and any left unfinished by an interrupted run, are decided again.
    const removed = await tx
      .delete(decisions)
      .where(and(eq(decisions.backtestId, backtestId), notInArray(decisions.status, [...DECIDED_STATUSES])))
      .returning({ id: decisions.id });
    const [{ kept } = { kept: 0 }] = await tx
      .select({ kept: sql<number>`count(*)::int` })
      .from(decisions)
      .where(eq(decisions.backtestId, backtestId));
    if (removed.length === 0 && kept >= planned) {
      // Nothing failed and nothing is missing: undo by failing the transaction.
      throw new AppError('CONFLICT', `backtest ${backtestId} has no failed or missing decision to resume`, {
        id: backtestId,
      });
    }
    await tx.update(backtests).set({ progressDone: kept }).where(eq(backtests.id, backtestId));
    return { backtestId, toRun: planned - kept, kept };
  });
}

/**
 * Record the decision points a stopped run never reached as failed decisions (code NOT_RUN), so the
 * result lists every planned point and resume knows what to run. Idempotent: a point with a decision
 * is left alone.
 */
export async function recordNotRunPoints(deps: PipelineDeps, backtestId: string, reason: string) {
  const row = await loadRow(deps, backtestId);
  // Decisions the stopped Map left unfinished (their child executions were stopped) end failed too.
  await deps.db
    .update(decisions)
    .set({
      status: 'failed',
      error: { code: NOT_RUN_CODE, message: `not finished: ${reason}` },
      completedAt: new Date(deps.now()),
    })
    .where(and(eq(decisions.backtestId, backtestId), inArray(decisions.status, ['pending', 'running'])));
  const times = settingsOf(row).decisionTimes;
  const existing = await deps.db
    .select({ t: decisions.decisionTime })
    .from(decisions)
    .where(eq(decisions.backtestId, backtestId));
  const have = new Set(existing.map((e) => e.t.getTime()));
  const missing = times.filter((t) => !have.has(t));
  if (missing.length === 0) return 0;
  const now = new Date(deps.now());
  await deps.db.insert(decisions).values(
    missing.map((t) => ({
      runId: row.runId,
      backtestId,
      symbol: row.symbol,
      timeframe: row.timeframe,
      mode: 'backtest' as const,
      decisionTime: new Date(t),
      status: 'failed' as const,
      provider: settingsOf(row).provider,
      error: { code: NOT_RUN_CODE, message: `not run: ${reason}` },
      completedAt: now,
    })),
  );
  return missing.length;
}
