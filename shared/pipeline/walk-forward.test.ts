/**
 * Walk-forward learning in a backtest (`learning: { every }`), with the offline provider on a seeded
 * random walk, PGlite (and PostgreSQL with TEST_PG=1):
 * - the decisions run in segments; between two segments a learning cycle at the next segment's start
 *   reads only the outcomes closed before it, and every outcome it read closed before its time;
 * - the look-ahead (truncation) test: the same backtest with the candles after each segment's end
 *   removed upstream (the candle source itself) gives the same cycles, the same proposals and the same
 *   strategy timeline;
 * - the result shows the cycles and the timeline, and the pre-flight estimate counts the cycles;
 * - without `learning` nothing of this happens.
 */
import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { backtests, decisions, learningCycles, strategyAdjustments } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { runLearningCycle } from '../learning/cycle';
import type { LearningDeps } from '../learning/ports';
import type { CandleSource } from '../market/candle-source';
import { listOutcomes } from '../outcomes/repository';
import type { OutcomeQuery, TradeOutcome } from '../outcomes/types';
import { listStrategyVersions } from '../strategy/store';
import {
  createBacktest,
  endBacktestSegment,
  getBacktest,
  planBacktest,
  runBacktest,
  runBacktestDecision,
  simulateBacktest,
} from './backtest';
import { memoryCandleSource, offlineTestDeps, warmedRangeCandles } from './testing';

const TF_MS = 4 * 3_600_000;
const START = Date.parse('2024-01-01T00:00:00Z');
const END = Date.parse('2024-04-01T00:00:00Z');
const { candles, now: NOW } = warmedRangeCandles({ startMs: START, endMs: END, seed: 3 });
const EVERY = 20;
const request = {
  symbol: 'BTCUSDT',
  start_date: '2024-01-01',
  end_date: '2024-04-01',
  timeframe: '4h',
  max_decisions: 90,
  decision_interval: 6,
  learning: { every: EVERY },
};
const ENV = {
  SELF_LEARNING_MIN_TRADES: '3',
  SELF_LEARNING_MIN_EVIDENCE: '2',
  SELF_LEARNING_LOOKBACK_DAYS: '365',
  SELF_LEARNING_AUTO_APPLY_THRESHOLD: '55',
};

describe.each(testDrivers())('walk-forward learning in a backtest on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  /** Deps whose candle source can hide every bar not closed by `cutoff`, and whose reads are recorded. */
  const depsWith = () => {
    const reads: { q: OutcomeQuery; got: TradeOutcome[] }[] = [];
    const cut = { at: Number.POSITIVE_INFINITY };
    const inner = memoryCandleSource({ BTCUSDT: { '4h': candles } });
    const source: CandleSource = {
      async getCandles(q) {
        const r = await inner.getCandles(q);
        return { ...r, candles: r.candles.filter((c) => c.openTime + TF_MS <= cut.at) };
      },
    };
    const deps: LearningDeps = {
      ...offlineTestDeps({ db: t.db, candles: {}, now: NOW, env: ENV }),
      candles: source,
      readOutcomes: async (db, q) => {
        const got = await listOutcomes(db, q);
        reads.push({ q, got });
        return got;
      },
    };
    return { deps, reads, cut };
  };

  /** What a cycle decided, without ids. */
  const cyclesOf = async (backtestId: string) => {
    const rows = await t.db
      .select()
      .from(learningCycles)
      .where(eq(learningCycles.backtestId, backtestId))
      .orderBy(learningCycles.asOf);
    const out = [];
    for (const c of rows) {
      const props = await t.db
        .select()
        .from(strategyAdjustments)
        .where(eq(strategyAdjustments.cycleId, c.id))
        .orderBy(strategyAdjustments.createdAt, strategyAdjustments.id);
      out.push({
        asOf: c.asOf.getTime(),
        status: c.status,
        summary: c.summary,
        patterns: c.patterns,
        // Written in one transaction at one (pinned) time: compared as a set.
        proposals: props
          .map((p) => ({
            kind: p.kind,
            parameter: p.parameter,
            oldValue: p.oldValue,
            newValue: p.newValue,
            status: p.status,
          }))
          .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      });
    }
    return out;
  };
  const timelineOf = async (runId: string, settings: LearningDeps['settings']) =>
    (await listStrategyVersions(t.db, { settings, runId })).map((v) => ({
      seq: v.seq,
      params: v.params,
      change: v.change,
      appliedBy: v.appliedBy,
      effectiveAt: v.effectiveAt,
    }));

  it('learns between segments from the past only, and the truncated run learns the same', async () => {
    const a = depsWith();
    const { backtestId, estimate } = await createBacktest(a.deps, request);
    expect(estimate.decisions).toBe(90);
    expect(estimate.learningCycles).toBe(Math.ceil(90 / EVERY) - 1);
    await runBacktest(a.deps, backtestId, { concurrency: 4 });
    const dto = await getBacktest(a.deps, backtestId);
    expect(dto.status).toBe('succeeded');
    const cycles = await cyclesOf(backtestId);
    expect(cycles).toHaveLength(4);
    // The cycles are at the segments' starts, and what each read closed before it.
    const [bt] = await t.db.select().from(backtests).where(eq(backtests.id, backtestId));
    const times = (bt!.settings as { decisionTimes: number[] }).decisionTimes;
    expect(cycles.map((c) => c.asOf)[0]).toBe(times[0]! + EVERY * 6 * TF_MS);
    const cycleReads = a.reads.filter((r) => r.q.runId === backtestId);
    expect(cycleReads.map((r) => r.q.closedBefore)).toEqual(cycles.map((c) => c.asOf));
    for (const r of cycleReads) for (const o of r.got) expect(o.exitTime).toBeLessThan(r.q.closedBefore!);
    // Not vacuous: the later cycles had trades to read, and some cycle proposed something.
    expect(cycleReads.at(-1)!.got.length).toBeGreaterThanOrEqual(3);
    expect(cycles.some((c) => c.status === 'succeeded' && c.proposals.length > 0)).toBe(true);
    // The result shows the cycles and the timeline (base: a copy of the live version).
    expect(dto.learning?.every).toBe(EVERY);
    expect(dto.learning?.cycles.map((c) => Date.parse(c.asOf))).toEqual(cycles.map((c) => c.asOf));
    expect(dto.learning?.timeline[0]).toMatchObject({ seq: 1, appliedBy: 'inherited' });
    const timelineA = await timelineOf(backtestId, a.deps.settings);
    expect(timelineA.length).toBeGreaterThan(1); // the cycles changed the backtest's own strategy
    // Every version a cycle made takes effect at its cycle's time.
    for (const v of timelineA.slice(1)) expect(cycles.map((c) => c.asOf)).toContain(v.effectiveAt);
    // Each decision ran under the version in force at its time on the backtest's own timeline.
    const versions = await listStrategyVersions(t.db, { settings: a.deps.settings, runId: backtestId });
    const made = await t.db
      .select({ time: decisions.decisionTime, version: decisions.strategyVersionId })
      .from(decisions)
      .where(eq(decisions.backtestId, backtestId));
    expect(made).toHaveLength(90);
    for (const d of made) {
      const inForce = versions.filter((v) => v.effectiveAt <= d.time.getTime()).at(-1)!;
      expect(d.version).toBe(inForce.id);
    }
    expect(new Set(made.map((d) => d.version)).size).toBeGreaterThan(1);
    // Pending proposals in a backtest are records: would_need_review, never pending.
    expect(cycles.flatMap((c) => c.proposals).some((p) => p.status === 'pending')).toBe(false);

    // The same backtest, the candles after each segment's end removed upstream while it runs.
    await t.reset();
    const b = depsWith();
    const second = await createBacktest(b.deps, request);
    for (let segment: number | null = 0; segment !== null; ) {
      const plan = await planBacktest(b.deps, { backtestId: second.backtestId, segment });
      // Segment k ends where run A's k-th cycle stands: nothing after it exists while the segment runs.
      b.cut.at = cycles[segment]?.asOf ?? Number.POSITIVE_INFINITY;
      expect(plan.items.every((i) => i.decisionTime < b.cut.at)).toBe(true);
      for (const item of plan.items) await runBacktestDecision(b.deps, item);
      const end = await endBacktestSegment(b.deps, { backtestId: second.backtestId, segment });

      if (end.cycleId) await runLearningCycle(b.deps, end.cycleId);
      segment = end.next;
    }
    await simulateBacktest(b.deps, { backtestId: second.backtestId });
    const truncated = await cyclesOf(second.backtestId);
    expect(truncated).toEqual(cycles);
    expect(await timelineOf(second.backtestId, b.deps.settings)).toEqual(timelineA);
  }, 300_000); // two 90-decision backtests: about 30 s alone, minutes on a loaded machine

  it('without learning, a backtest runs in one segment and opens no cycle', async () => {
    const a = depsWith();
    const { learning: _omit, ...plain } = request;
    const { backtestId, estimate } = await createBacktest(a.deps, plain);
    expect(estimate.learningCycles).toBeUndefined();
    const plan = await planBacktest(a.deps, { backtestId });
    expect(plan).toMatchObject({ segment: 0, segments: 1, decisions: 90 });
    expect(plan.items).toHaveLength(90);
    await runBacktest(a.deps, backtestId, { concurrency: 4 });
    expect(await cyclesOf(backtestId)).toEqual([]);
    expect((await getBacktest(a.deps, backtestId)).learning).toBeUndefined();
    // Too many segments for one execution's history: a clear 400 naming the field, nothing recorded.
    const tooMany = { ...request, max_decisions: 150, decision_interval: 1, learning: { every: 1 } };
    await expect(createBacktest(a.deps, tooMany)).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'learning.every', min: 2 },
    });
  }, 180_000);
});
