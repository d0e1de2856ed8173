/**
 * A walk-forward backtest (`learning: { every }`) through the synthesized Backtest state machine,
 * executed locally: the decision Map runs one segment, End segment opens the learning cycle, the
 * `Walk-forward:` Learning states run it, the next segment is planned, and so on; then simulate. The same
 * backtest run by the in-process runner (the same steps in order) ends with the same cycles, the same
 * strategy timeline and the same trades. Real pipeline, offline provider, PGlite; a seeded random walk.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backtests, learningCycles, strategyAdjustments } from '../../shared/db/schema';
import { testDrivers, useTestDatabase } from '../../shared/db/testing';
import { createBacktest, getBacktest, runBacktest } from '../../shared/pipeline/backtest';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import { offlineTestDeps, warmedRangeCandles } from '../../shared/pipeline/testing';
import { createLocalWorkflows, type LocalWorkflows } from './stepfunctions';

const START = Date.parse('2024-01-01T00:00:00Z');
const END = Date.parse('2024-03-01T00:00:00Z');
const { candles, now: NOW } = warmedRangeCandles({ startMs: START, endMs: END, seed: 3 });
const request = {
  symbol: 'BTCUSDT',
  start_date: '2024-01-01',
  end_date: '2024-03-01',
  timeframe: '4h',
  max_decisions: 45,
  decision_interval: 6,
  learning: { every: 15 },
};

describe.each(testDrivers())('walk-forward backtest through the local state machine on %s', (driver) => {
  const t = useTestDatabase(driver);
  let deps: PipelineDeps;
  let w: LocalWorkflows;
  beforeAll(() => {
    deps = offlineTestDeps({
      db: t.db,
      candles: { BTCUSDT: { '4h': candles } },
      now: NOW,
      env: {
        SELF_LEARNING_MIN_TRADES: '3',
        SELF_LEARNING_MIN_EVIDENCE: '2',
        SELF_LEARNING_LOOKBACK_DAYS: '365',
        SELF_LEARNING_AUTO_APPLY_THRESHOLD: '55',
      },
    });
    w = createLocalWorkflows({ deps, retryDelayMs: 0, mapConcurrency: 4 });
  }, 300_000); // the first synthesis loads aws-cdk-lib: minutes on a loaded 2-core machine
  beforeEach(() => t.reset());
  afterAll(async () => {
    await w?.close();
  });

  const outcome = async (backtestId: string) => {
    const cycles = await t.db
      .select()
      .from(learningCycles)
      .where(eq(learningCycles.backtestId, backtestId))
      .orderBy(learningCycles.asOf);
    const adjustments = await t.db
      .select()
      .from(strategyAdjustments)
      .where(eq(strategyAdjustments.runId, backtestId));
    const dto = await getBacktest(deps, backtestId);
    const [row] = await t.db.select().from(backtests).where(eq(backtests.id, backtestId));
    return {
      status: dto.status,
      cycles: cycles.map((c) => ({ asOf: c.asOf.getTime(), status: c.status, summary: c.summary })),
      adjustments: adjustments
        .map(
          (a) =>
            `${a.parameter ?? a.agent} ${JSON.stringify(a.oldValue)}->${JSON.stringify(a.newValue)} ${a.status}`,
        )
        .sort(),
      // Ids differ between the two runs (the inherited base names the live version it copied).
      timeline: dto.learning?.timeline.map(({ adjustmentId: _a, reason, ...v }) => ({
        ...v,
        reason: v.appliedBy === 'inherited' ? 'copy of live version' : reason,
      })),
      hash: (row!.result as { tradeListHash: string }).tradeListHash,
    };
  };

  it('runs the segments and their learning cycles, and ends as the in-process runner does', async () => {
    const sm = await createBacktest(deps, request);
    expect(sm.estimate.learningCycles).toBe(2);
    const exec = await w.awaitExecution((await w.startBacktest({ backtestId: sm.backtestId })).executionId);
    expect(exec.status).toBe('SUCCEEDED');
    const viaMachine = await outcome(sm.backtestId);
    expect(viaMachine.status).toBe('succeeded');
    expect(viaMachine.cycles).toHaveLength(2);
    expect(viaMachine.cycles.some((c) => c.status === 'succeeded')).toBe(true);
    expect(viaMachine.timeline!.length).toBeGreaterThan(1); // a cycle changed the backtest's strategy
    // The machine ran the learning states of the segments' cycles.
    expect(Object.keys(exec.retries).concat(Object.keys(exec.caught))).toEqual([]);

    await t.reset();
    const ip = await createBacktest(deps, request);
    await runBacktest(deps, ip.backtestId, { concurrency: 4 });
    const inProcess = await outcome(ip.backtestId);
    expect(viaMachine).toEqual(inProcess);
  });
});
