/**
 * Walk-forward learning in a backtest (`learning: { every: N }`): the decisions run in segments of N;
 * between two segments the backtest learns as the live firm would at that moment:
 *
 *   segment k's decisions (the strategy version in force at their time: the backtest's own timeline)
 *   -> endBacktestSegment: simulate the decisions so far on the candles that closed by the next
 *      segment's first decision time (`asOf`), write the run's closed outcomes (open lots stay open:
 *      no end-of-backtest close), and open a learning cycle at `asOf` on the backtest's run
 *   -> the learning cycle's steps (shared/learning/cycle.ts): it reads only outcomes closed before
 *      `asOf`; auto-applicable proposals become versions of the backtest's own timeline, effective at
 *      `asOf`; the rest are recorded `would_need_review`
 *   -> segment k+1.
 *
 * Decisions:
 * - The backtest's timeline starts as a copy of the live version in force when it was created
 *   (plan.ts), so a backtest never changes the live book and never sees a live change made later.
 * - The cycles of a backtest apply their own auto-applicable proposals whatever SELF_LEARNING_ENABLED
 *   says (that setting guards the live book); the policy (threshold, LOW risk, HIGH priority) and the
 *   validation are the live ones.
 * - Idempotent: a retried end of segment finds the cycle it opened (by backtest and `asOf`).
 */
import { and, asc, eq } from 'drizzle-orm';
import { simulate } from '../../backtest';
import { learningCycles, strategyAdjustments } from '../../db/schema';
import { createLearningCycle } from '../../learning/cycle';
import { TIMEFRAME_MS, type Timeframe } from '../../market/types';
import { replaceRunOutcomes } from '../../outcomes/repository';
import type { WalkForwardLearningRecord } from '../../schemas/records';
import { listStrategyVersions } from '../../strategy/store';
import type { PipelineDeps } from '../deps';
import { iso, segmentsOf, settingsOf, simulationSettingsOf } from './settings';
import { loadBacktestDecisions, loadRow, toTimedDecisions, writeSimulatedBook } from './store';

export async function endBacktestSegment(
  deps: PipelineDeps,
  { backtestId, segment }: { backtestId: string; segment: number },
): Promise<{
  backtestId: string;
  segment: number;
  last: boolean;
  next: number | null;
  cycleId: string | null;
}> {
  const row = await loadRow(deps, backtestId);
  const s = settingsOf(row);
  const segments = segmentsOf(s);
  const nextStart = segments[segment + 1]?.[0];
  if (!s.request.learning || nextStart === undefined)
    return { backtestId, segment, last: true, next: null, cycleId: null };
  const asOf = nextStart;
  const [existing] = await deps.db
    .select({ id: learningCycles.id })
    .from(learningCycles)
    .where(and(eq(learningCycles.backtestId, backtestId), eq(learningCycles.asOf, new Date(asOf))))
    .limit(1);
  if (existing) return { backtestId, segment, last: false, next: segment + 1, cycleId: existing.id };
  await writeOutcomesBefore(deps, backtestId, asOf);
  const { cycleId } = await createLearningCycle(deps, {
    trigger: 'backtest',
    runId: row.runId,
    backtestId,
    asOf,
    autoApply: true,
  });
  return { backtestId, segment, last: false, next: segment + 1, cycleId };
}

/**
 * Simulate the decisions made before `asOf` on the candles closed by `asOf` and store the run's closed
 * outcomes (the cycle's memory). Nothing after `asOf` is read: the candle source is asked for bars
 * opening before `asOf - timeframe` only, and the result is filtered again.
 */
export async function writeOutcomesBefore(deps: PipelineDeps, backtestId: string, asOf: number) {
  const row = await loadRow(deps, backtestId);
  const s = settingsOf(row);
  const tf = row.timeframe as Timeframe;
  const tfMs = TIMEFRAME_MS[tf];
  const rows = (await loadBacktestDecisions(deps, backtestId)).filter((r) => r.decisionTime < asOf);
  const { candles } = await deps.candles.getCandles({
    symbol: row.symbol,
    timeframe: tf,
    startMs: s.simulateFromMs,
    endMs: Math.max(s.simulateFromMs, asOf - tfMs),
  });
  const known = candles.filter((c) => c.openTime + tfMs <= asOf);
  await deps.db.transaction(async (tx) => {
    if (rows.length === 0 || known.length === 0) {
      await replaceRunOutcomes(tx, { runId: row.runId, backtestId });
      return;
    }
    const result = simulate({
      candles: known,
      timeframe: tf,
      decisions: toTimedDecisions(rows),
      settings: simulationSettingsOf(row, s),
    });
    await writeSimulatedBook(tx, { runId: row.runId, symbol: row.symbol, result, now: deps.now() });
    // No final mark: a lot still open at `asOf` is not an outcome yet.
    await replaceRunOutcomes(tx, { runId: row.runId, backtestId });
  });
}

/** The cycles and the strategy timeline of a walk-forward backtest (null without learning). */
export async function walkForwardOf(
  deps: PipelineDeps,
  row: Awaited<ReturnType<typeof loadRow>>,
): Promise<WalkForwardLearningRecord> {
  const s = settingsOf(row);
  const every = s.request.learning?.every as number;
  const cycles = await deps.db
    .select()
    .from(learningCycles)
    .where(eq(learningCycles.backtestId, row.id))
    .orderBy(asc(learningCycles.asOf));
  const adjustments = await deps.db
    .select({ cycleId: strategyAdjustments.cycleId, status: strategyAdjustments.status })
    .from(strategyAdjustments)
    .where(eq(strategyAdjustments.runId, row.runId));
  const count = (cycleId: string, status: string) =>
    adjustments.filter((a) => a.cycleId === cycleId && a.status === status).length;
  const versions = await listStrategyVersions(deps.db, { settings: deps.settings, runId: row.runId });
  return {
    every,
    cycles: cycles.map((c) => ({
      id: c.id,
      asOf: iso(c.asOf.getTime()),
      status: c.status,
      trades:
        typeof (c.summary as { trades?: unknown } | null)?.trades === 'number'
          ? (c.summary as { trades: number }).trades
          : null,
      applied: count(c.id, 'applied'),
      wouldNeedReview: count(c.id, 'would_need_review'),
      invalid: count(c.id, 'invalid'),
      costUsd: Number(c.costUsd),
    })),
    timeline: versions.map((v) => ({
      seq: v.seq,
      effectiveAt: iso(v.effectiveAt),
      appliedBy: v.appliedBy,
      change: v.change,
      reason: v.reason,
      adjustmentId: v.adjustmentId,
    })),
  };
}
