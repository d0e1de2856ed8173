import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Candle } from '../market/types';
import { AppError } from '../util/errors';
import { simulate } from './simulator';
import {
  type BarsView,
  mulberry32,
  randomStrategy,
  runBaseline,
  runStrategy,
  type Strategy,
  smaCrossover,
} from './strategies';

const H = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const known = (i: number) => T0 + (i + 1) * H;
const settings = { symbol: 'BTCUSDT', initialCash: 10_000 };

function series(closes: number[]): Candle[] {
  return closes.map((p, i) => ({
    openTime: T0 + i * H,
    open: p,
    high: p,
    low: p,
    close: p,
    volume: 1,
    closeTime: T0 + (i + 1) * H - 1,
  }));
}

/** The crossover computed the slow way: both means from scratch at every bar. */
function naiveCrossover(closes: number[], fast: number, slow: number): { bar: number; action: string }[] {
  const out: { bar: number; action: string }[] = [];
  let long = false;
  const mean = (a: number, b: number) => closes.slice(a, b).reduce((s, x) => s + x, 0) / (b - a);
  for (let i = slow - 1; i < closes.length - 1; i++) {
    const above = mean(i - fast + 1, i + 1) > mean(i - slow + 1, i + 1);
    if (above !== long) {
      long = above;
      out.push({ bar: i, action: above ? 'BUY' : 'SELL' });
    }
  }
  return out;
}

describe('sma_crossover', () => {
  // fast 2, slow 3, computed by hand:
  // bar 3: SMA2 10.5 > SMA3 10.33 -> BUY (fills at bar 4's open, 12)
  // bar 7: SMA2 11.5 < SMA3 12    -> SELL (fills at bar 8's open, 10)
  // bar 11: SMA2 10.5 > SMA3 10   -> BUY (fills at bar 12's open, 12)
  const closes = [10, 10, 10, 11, 12, 13, 12, 11, 10, 9, 10, 11, 12];

  it('trades on a constructed series exactly where the averages cross, at the next open', () => {
    const run = runStrategy({
      candles: series(closes),
      timeframe: '1h',
      strategy: smaCrossover({ fast: 2, slow: 3 }),
      settings: { ...settings, limits: { maxPositionPct: 100, maxTotalExposurePct: 100 } },
    });
    expect(run.fills.map((f) => [f.side, f.barIndex, Number(f.referencePrice)])).toEqual([
      ['BUY', 4, 12],
      ['SELL', 8, 10],
      ['BUY', 12, 12],
    ]);
    expect(run.fills.map((f) => f.decisionTime)).toEqual([known(3), known(7), known(11)]);
    // All cash in (after the fee taken from the BTC received and 5 bps of slippage).
    const buy = run.fills[0];
    expect(Number(buy?.notional)).toBeGreaterThan(9_980);
    expect(Number(buy?.feeUsd)).toBeCloseTo(Number(buy?.notional) * 0.001, 6);
    // Decides from the first bar where both averages exist (bar 2) to the last bar with a next bar.
    expect(run.decisionsTaken).toBe(closes.length - 1);
    // The equity curve starts at the first decision bar, where buy-and-hold also starts.
    expect(run.equityCurve[0]?.timestamp).toBe(known(0));
  });

  it('matches the from-scratch averages on random walks (O(1) updates change nothing)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -30, max: 30 }), { minLength: 60, maxLength: 200 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 2, max: 12 }),
        (steps, fast, extra) => {
          const closes: number[] = [];
          let p = 1000;
          for (const s of steps) {
            p = Math.max(1, p + s);
            closes.push(p);
          }
          const slow = fast + extra;
          const expected = naiveCrossover(closes, fast, slow);
          const run = runStrategy({
            candles: series(closes),
            timeframe: '1h',
            strategy: smaCrossover({ fast, slow }),
            settings,
          });
          const got = run.decisions.filter((d) => d.action !== 'HOLD');
          expect(got.map((d) => [d.decisionTime, d.action])).toEqual(
            expected.map((e) => [known(e.bar), e.action]),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('truncation: poisoning every bar after t changes no decision taken before t', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -30, max: 30 }), { minLength: 80, maxLength: 160 }),
        fc.integer({ min: 10, max: 70 }),
        (steps, cut) => {
          const closes: number[] = [];
          let p = 1000;
          for (const s of steps) {
            p = Math.max(1, p + s);
            closes.push(p);
          }
          // After the cut the series jumps wildly: a rule that read ahead would decide differently.
          const poisoned = closes.map((c, i) => (i < cut ? c : i % 2 ? 1 : 1e6));
          const decide = (cs: number[]) =>
            runStrategy({
              candles: series(cs),
              timeframe: '1h',
              strategy: smaCrossover({ fast: 3, slow: 8 }),
              settings,
            }).decisions.filter((d) => d.decisionTime <= known(cut - 1));
          const clean = decide(closes);
          expect(clean.length).toBeGreaterThan(0);
          expect(decide(poisoned).map((d) => [d.decisionTime, d.action])).toEqual(
            clean.map((d) => [d.decisionTime, d.action]),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses fast >= slow', () => {
    expect(() => smaCrossover({ fast: 50, slow: 20 })).toThrow(/fast < slow/);
  });
});

describe('the strategy API', () => {
  it('is clock-gated: a bar at or past the decision time cannot be read', () => {
    const peek: Strategy = (v) => (v.close(v.length) > 0 ? 'BUY' : 'HOLD');
    let err: unknown;
    try {
      runStrategy({ candles: series([1, 2, 3, 4]), timeframe: '1h', strategy: peek, settings });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).message).toMatch(/LOOKAHEAD/);
  });

  it('a kept view sees nothing after the run, and sees only the present during it', () => {
    let kept: BarsView | undefined;
    const lengths: number[] = [];
    const spy: Strategy = (v) => {
      kept = v;
      lengths.push(v.length);
      expect(v.time).toBe(known(v.length - 1));
      return null;
    };
    runStrategy({ candles: series([1, 2, 3, 4, 5]), timeframe: '1h', strategy: spy, settings });
    expect(lengths).toEqual([1, 2, 3, 4]);
    expect(kept?.length).toBe(0);
    expect(() => kept?.close(0)).toThrow(/LOOKAHEAD/);
  });

  it('a user rule in a few lines gives the same result as the simulator fed its decisions', () => {
    const closes = [10, 11, 12, 11, 10, 11, 12, 13, 12, 11];
    const candles = series(closes);
    const upDay: Strategy = (v) =>
      v.length < 2 ? null : v.close(v.length - 1) > v.close(v.length - 2) ? 'BUY' : 'SELL';
    const run = runStrategy({ candles, timeframe: '1h', strategy: upDay, settings });
    const direct = simulate({ candles, timeframe: '1h', decisions: run.decisions, settings });
    expect(run.tradeListHash).toBe(direct.tradeListHash);
    expect(run.fills.length).toBeGreaterThan(0);
  });
});

describe('random baseline', () => {
  const closes = Array.from({ length: 300 }, (_, i) => 100 + 10 * Math.sin(i / 7));
  const candles = series(closes);
  const times = Array.from({ length: 20 }, (_, k) => known(60 + k * 10));
  const run = (seed: number) =>
    runBaseline('random', { candles, timeframe: '1h', settings, decisionTimes: times, params: { seed } });

  it('decides at the firm’s decision times only, the same count', () => {
    const r = run(7);
    expect(r.decisionsTaken).toBe(times.length);
    for (const d of r.decisions) expect(times).toContain(d.decisionTime);
    expect(r.params.seed).toBe(7);
  });

  it('is reproducible from its seed, and another seed trades differently', () => {
    expect(run(7).tradeListHash).toBe(run(7).tradeListHash);
    const hashes = new Set([1, 2, 3, 4, 5].map((s) => run(s).tradeListHash));
    expect(hashes.size).toBeGreaterThan(1);
  });

  it('draws BUY, SELL and HOLD about a third each', () => {
    const draw = randomStrategy({ seed: 42 }).create();
    const view = {} as BarsView;
    const counts: Record<string, number> = { BUY: 0, SELL: 0, HOLD: 0 };
    for (let i = 0; i < 30_000; i++) counts[String(draw(view))] = (counts[String(draw(view))] ?? 0) + 1;
    for (const k of ['BUY', 'SELL', 'HOLD']) expect((counts[k] ?? 0) / 30_000).toBeCloseTo(1 / 3, 1);
  });

  it('mulberry32 is uniform in [0, 1) and seed-determined', () => {
    const a = mulberry32(123);
    const b = mulberry32(123);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });
});

describe('buy_and_hold baseline', () => {
  it('equals the simulator’s buy-and-hold benchmark on the same span', () => {
    const closes = Array.from({ length: 120 }, (_, i) => 100 + i + 5 * Math.cos(i));
    const times = [known(60), known(80), known(100)];
    const r = runBaseline('buy_and_hold', {
      candles: series(closes),
      timeframe: '1h',
      settings,
      decisionTimes: times,
    });
    expect(r.fills).toHaveLength(1);
    expect(r.metrics.totalReturn).toBeCloseTo(r.buyAndHold?.totalReturn as number, 12);
  });
});

describe('the baselines end at the range end (settings.endTime), as the firm does', () => {
  // Bars 0-5 close by the range end; bars 6-9 are after it, at prices that would show if read.
  const candles = series([10, 11, 12, 11, 13, 14, 50, 60, 70, 80]);
  const endTime = known(5);
  const base = { candles, timeframe: '1h' as const, settings: { ...settings, endTime } };

  it.each(['buy_and_hold', 'sma_crossover', 'random'] as const)(
    '%s: no point, fill or mark after it',
    (b) => {
      const r = runBaseline(b, {
        ...base,
        decisionTimes: [known(1), known(3), known(5)],
        params: { fast: 2, slow: 3 },
      });
      expect(r.equityCurve.at(-1)!.timestamp).toBe(endTime);
      expect(r.finalMark).toEqual({ price: '14', time: endTime });
      expect(r.buyAndHold!.equityCurve.at(-1)!.timestamp).toBe(endTime);
      for (const f of r.fills) expect(f.executedAt).toBeLessThan(endTime);
      expect(r.decisions.every((d) => d.decisionTime <= endTime)).toBe(true);
    },
  );

  it('a strategy without a window decides nowhere after the range end', () => {
    const r = runStrategy({ ...base, strategy: () => 'BUY' });
    expect(Math.max(...r.decisions.map((d) => d.decisionTime))).toBeLessThanOrEqual(endTime);
    expect(r.metrics.finalEquity).toBe(r.equityCurve.at(-1)!.equity);
  });
});
