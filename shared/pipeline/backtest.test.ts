/**
 * Backtest decision spacing: without a `decision_interval` the decisions are spread evenly over the
 * range (interval = max(1, floor(barsInRange / max_decisions))), so the LLM strategy is judged over the
 * same period as buy-and-hold; a given interval is kept as requested. Real PGlite (PostgreSQL with
 * TEST_PG=1), the offline agent provider, candles from a seeded random walk.
 */

import { eq } from 'drizzle-orm';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backtests, decisions } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { appendStrategyVersion, strategyInForce } from '../strategy/store';
import {
  createBacktest,
  getBacktest,
  runBacktest,
  spreadDecisionInterval,
  startBacktestDecision,
} from './backtest';
import type { PipelineDeps } from './deps';
import { createDecision, prepareSnapshot, runAnalyst } from './steps';
import { memoryCandleSource, offlineTestDeps, warmedRangeCandles } from './testing';

const TF_MS = 4 * 3_600_000;
const START = Date.parse('2024-01-01T00:00:00Z');
const END = Date.parse('2024-03-01T00:00:00Z'); // 60 days: 360 bars of 4h
const BARS_IN_RANGE = (END - START) / TF_MS;
const { candles, now: NOW } = warmedRangeCandles({ startMs: START, endMs: END, seed: 11 });
const request = { symbol: 'BTCUSDT', start_date: '2024-01-01', end_date: '2024-03-01', timeframe: '4h' };

describe('spreadDecisionInterval', () => {
  it('is max(1, floor(barsInRange / max_decisions))', () => {
    expect(spreadDecisionInterval(360, 50)).toBe(7);
    expect(spreadDecisionInterval(360, 360)).toBe(1);
    expect(spreadDecisionInterval(10, 50)).toBe(1);
    expect(spreadDecisionInterval(0, 5)).toBe(1);
  });
});

describe.each(testDrivers())('backtest decision spacing on %s', (driver) => {
  const t = useTestDatabase(driver);
  let deps: PipelineDeps;
  beforeAll(() => {
    deps = offlineTestDeps({ db: t.db, candles: { BTCUSDT: { '4h': candles } }, now: NOW });
  });
  beforeEach(() => t.reset());

  const planOf = async (backtestId: string) => {
    const [row] = await t.db.select().from(backtests);
    expect(row?.id).toBe(backtestId);
    return {
      interval: row!.decisionInterval,
      times: (row!.settings as { decisionTimes: number[] }).decisionTimes,
      request: (row!.settings as { request: { decision_interval: number } }).request,
    };
  };

  it('without decision_interval, 50 decisions are spread over the whole range, not its first 50 bars', async () => {
    const { backtestId, estimate } = await createBacktest(deps, { ...request, max_decisions: 50 });
    expect(BARS_IN_RANGE).toBe(360);
    const plan = await planOf(backtestId);
    expect(plan.interval).toBe(7); // floor(360 / 50)
    expect(plan.request.decision_interval).toBe(7);
    expect(estimate.decisions).toBe(50);
    expect(plan.times).toHaveLength(50);
    // the first decision at the first bar's close, then every 7 bars
    expect(plan.times[0]).toBe(START + TF_MS);
    for (let i = 1; i < plan.times.length; i++) expect(plan.times[i]! - plan.times[i - 1]!).toBe(7 * TF_MS);
    // the decisions reach the end of the range, as buy-and-hold does (before: the first 50 bars, 14%)
    expect(plan.times.at(-1)).toBe(START + (1 + 49 * 7) * TF_MS);
    expect((plan.times.at(-1)! - START) / (END - START)).toBeGreaterThan(0.95);
    expect((await getBacktest(deps, backtestId)).decisionInterval).toBe(7);
  });

  it('a given decision_interval is kept as requested', async () => {
    const { backtestId } = await createBacktest(deps, {
      ...request,
      max_decisions: 50,
      decision_interval: 1,
    });
    const plan = await planOf(backtestId);
    expect(plan.interval).toBe(1);
    expect(plan.times).toHaveLength(50);
    expect(plan.times.at(-1)).toBe(START + 50 * TF_MS);
  });

  it("the result's assumptions print the interval chosen, and why", async () => {
    const spread = await createBacktest(deps, { ...request, max_decisions: 4 });
    const a = await runBacktest(deps, spread.backtestId, { concurrency: 4 });
    expect(a.status).toBe('succeeded');
    expect(a.decisionInterval).toBe(90);
    expect(a.result?.assumptions).toContainEqual(
      expect.stringMatching(
        /^decisions every 90 4h bar\(s\) \(spread evenly: max\(1, floor\(360 bars in range \/ 4 max decisions\)\)\) /,
      ),
    );

    await t.reset();
    const given = await createBacktest(deps, { ...request, max_decisions: 4, decision_interval: 3 });
    const b = await runBacktest(deps, given.backtestId, { concurrency: 4 });
    expect(b.result?.assumptions).toContainEqual(
      expect.stringMatching(/^decisions every 3 4h bar\(s\) \(as requested\) /),
    );
  });

  it('runs every decision under the strategy version in force when the backtest was created', async () => {
    const base = await strategyInForce(t.db, { settings: deps.settings });
    const { backtestId } = await createBacktest(deps, { ...request, max_decisions: 4 });
    // A change applied after creation (an approved adjustment) must not reach the running backtest.
    const later = await appendStrategyVersion(t.db, {
      base,
      parameter: 'researcherMinConfidence',
      value: 0.95,
      appliedBy: 'person',
      adjustmentId: null,
      reason: 'test: applied while the backtest runs',
      effectiveAt: 0,
    });
    expect((await strategyInForce(t.db, { settings: deps.settings })).id).toBe(later.id);
    const done = await runBacktest(deps, backtestId, { concurrency: 4 });
    expect(done.status).toBe('succeeded');
    const rows = await t.db
      .select({ version: decisions.strategyVersionId, snapshot: decisions.snapshot })
      .from(decisions)
      .where(eq(decisions.backtestId, backtestId));
    expect(rows).toHaveLength(4);
    for (const r of rows) {
      expect(r.version).toBe(base.id);
      expect((r.snapshot as { strategy: { version: string } }).strategy.version).toBe(base.id);
    }
  });

  it("read-ahead: while a point's analysts wait, the market of the point BACKTEST_MAP_CONCURRENCY ahead is read, only when the host asks", async () => {
    const { backtestId } = await createBacktest(deps, { ...request, max_decisions: 6 });
    const times = (await planOf(backtestId)).times;
    const requested: number[] = [];
    const counting = (readAhead: boolean): PipelineDeps => ({
      ...deps,
      readAhead,
      settings: { ...deps.settings, BACKTEST_MAP_CONCURRENCY: 2 },
      candles: {
        getCandles: (r) => {
          requested.push(r.endMs + 1);
          return deps.candles.getCandles(r);
        },
      },
    });
    const settle = () => new Promise((r) => setTimeout(r, 50));
    for (const [i, readAhead] of [
      [0, false],
      [1, true],
    ] as const) {
      const d = counting(readAhead);
      const { decisionId } = await startBacktestDecision(d, { backtestId, decisionTime: times[i]! });
      await prepareSnapshot(d, { decisionId });
      await runAnalyst(d, { decisionId, analyst: 'technical' });
      await settle();
    }
    // Each point read its own market (the snapshot); only the second, with read-ahead, read the one 2 ahead.
    expect(requested).toEqual([times[0], times[1], times[3]]);
  });

  it('read-ahead sees nothing after its point: its reading equals one from candles cut at that point', async () => {
    const { backtestId } = await createBacktest(deps, { ...request, max_decisions: 6 });
    const times = (await planOf(backtestId)).times;
    const ahead = times[3]!;
    // The source the host reads ahead from has every bar not closed before `ahead` wildly changed.
    const poisoned = candles.map((c) =>
      c.closeTime + 1 > ahead ? { ...c, open: 1, high: 1e9, low: 1, close: 1e9, volume: 1e12 } : c,
    );
    const host: PipelineDeps = {
      ...deps,
      readAhead: true,
      settings: { ...deps.settings, BACKTEST_MAP_CONCURRENCY: 2 },
      candles: memoryCandleSource({ BTCUSDT: { '4h': poisoned } }),
    };
    const first = await startBacktestDecision(host, { backtestId, decisionTime: times[1]! });
    await prepareSnapshot(host, { decisionId: first.decisionId });
    await runAnalyst(host, { decisionId: first.decisionId, analyst: 'technical' });
    await new Promise((r) => setTimeout(r, 50)); // the reading at `ahead` is in the memo now
    const later = await startBacktestDecision(host, { backtestId, decisionTime: ahead });
    await prepareSnapshot(host, { decisionId: later.decisionId });
    // The same point decided by a run whose candles end before it (nothing to look ahead into).
    const cut: PipelineDeps = {
      ...deps,
      candles: memoryCandleSource({ BTCUSDT: { '4h': candles.filter((c) => c.closeTime + 1 <= ahead) } }),
    };
    const fresh = await createDecision(cut, {
      symbol: 'BTCUSDT',
      timeframe: '4h',
      mode: 'backtest_step',
      timestamp: ahead,
    });
    await prepareSnapshot(cut, { decisionId: fresh.decisionId });
    const snapshotOf = async (id: string) =>
      (await t.db.select().from(decisions).where(eq(decisions.id, id)))[0]!.snapshot as {
        market: { lastClose: number };
        regime: unknown;
      };
    const [withAhead, withoutFuture] = [
      await snapshotOf(later.decisionId),
      await snapshotOf(fresh.decisionId),
    ];
    expect(withAhead.market).toEqual(withoutFuture.market);
    expect(withAhead.regime).toEqual(withoutFuture.regime);
    expect(withAhead.market.lastClose).toBeLessThan(1e6);
  });
});
