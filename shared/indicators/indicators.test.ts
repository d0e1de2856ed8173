import { describe, expect, it } from 'vitest';
import { type Candle, periodsPerYear } from '../market/types';
import { AppError } from '../util/errors';
import {
  assertWarm,
  computeIndicators,
  type IndicatorSeries,
  indicatorsAt,
  VOLATILITY_WINDOW,
  WARMUP_BARS,
} from './compute';
import { createMarketView, summarizeForAgents } from './market-view';
import { binanceDataFile, hasBinanceData, readBinanceCsv, realDataSuiteName } from './testing';

const DAILY = 'BTCUSDT-1d.csv';
const HOURLY = 'BTCUSDT-1h.csv.gz';
const COLUMNS = [
  'rsi14',
  'macd',
  'macdSignal',
  'macdHistogram',
  'ema20',
  'ema50',
  'ema200',
  'atr14',
  'bbUpper',
  'bbMiddle',
  'bbLower',
  'bbPercentB',
  'realizedVol',
] as const;

// Independent reference implementations (textbook formulas), to check the library's numbers.
function emaRef(values: readonly number[], period: number): (number | null)[] {
  const out: (number | null)[] = new Array(values.length).fill(null);
  const alpha = 2 / (period + 1);
  let e = 0;
  for (let i = 0; i < period; i++) e += values[i]!;
  e /= period; // seeded with the SMA of the first `period` values
  out[period - 1] = e;
  for (let i = period; i < values.length; i++) {
    e = values[i]! * alpha + e * (1 - alpha);
    out[i] = e;
  }
  return out;
}
function wilderRsiRef(closes: readonly number[], period: number): (number | null)[] {
  const out: (number | null)[] = new Array(closes.length).fill(null);
  let gain = 0;
  let loss = 0;
  for (let i = 1; i <= period; i++) {
    const d = closes[i]! - closes[i - 1]!;
    gain += Math.max(d, 0);
    loss += Math.max(-d, 0);
  }
  gain /= period;
  loss /= period;
  out[period] = loss === 0 ? 100 : 100 - 100 / (1 + gain / loss);
  for (let i = period + 1; i < closes.length; i++) {
    const d = closes[i]! - closes[i - 1]!;
    gain = (gain * (period - 1) + Math.max(d, 0)) / period;
    loss = (loss * (period - 1) + Math.max(-d, 0)) / period;
    out[i] = loss === 0 ? 100 : 100 - 100 / (1 + gain / loss);
  }
  return out;
}
function wilderAtrRef(c: readonly Candle[], period: number): (number | null)[] {
  const tr = c.map((b, i) =>
    i === 0
      ? b.high - b.low
      : Math.max(b.high - b.low, Math.abs(b.high - c[i - 1]!.close), Math.abs(b.low - c[i - 1]!.close)),
  );
  const out: (number | null)[] = new Array(c.length).fill(null);
  let atr = 0;
  for (let i = 1; i <= period; i++) atr += tr[i]!;
  atr /= period;
  out[period] = atr;
  for (let i = period + 1; i < c.length; i++) {
    atr = (atr * (period - 1) + tr[i]!) / period;
    out[i] = atr;
  }
  return out;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe.skipIf(!hasBinanceData(DAILY))(
  realDataSuiteName('indicators on real BTCUSDT 1d data', DAILY),
  () => {
    const candles = hasBinanceData(DAILY) ? readBinanceCsv(binanceDataFile(DAILY)) : [];
    const closes = candles.map((c) => c.close);
    const series = hasBinanceData(DAILY) ? computeIndicators(candles, '1d') : ({} as IndicatorSeries);
    const probes = [199, 500, 1399, 2000, candles.length - 1];

    it('reads the whole file (2,922 daily bars)', () => {
      expect(candles).toHaveLength(2922);
      expect(series.length).toBe(2922);
    });

    it('EMA 20/50/200 match the recursive formula seeded with the SMA', () => {
      for (const p of [20, 50, 200] as const) {
        const ref = emaRef(closes, p);
        const col = series[`ema${p}`];
        for (const i of probes) expect(rel(col[i]!, ref[i]!)).toBeLessThan(1e-12);
      }
    });

    it("RSI(14) matches Wilder's formula (the library rounds to 2 decimals)", () => {
      const ref = wilderRsiRef(closes, 14);
      for (const i of [14, ...probes])
        expect(Math.abs(series.rsi14[i]! - ref[i]!)).toBeLessThanOrEqual(0.005 + 1e-9);
    });

    it("ATR(14) matches Wilder's true-range average once warm", () => {
      const ref = wilderAtrRef(candles, 14);
      // Seeding conventions differ by a bar; after 13 x 14 bars the seed weighs (13/14)^182 < 1e-5.
      for (const i of [1399, 2000, candles.length - 1])
        expect(rel(series.atr14[i]!, ref[i]!)).toBeLessThan(1e-6);
    });

    it('MACD(12,26,9) is EMA12 - EMA26, its signal the EMA9 of MACD, histogram the difference', () => {
      const e12 = emaRef(closes, 12);
      const e26 = emaRef(closes, 26);
      const line = closes.map((_, i) => (i >= 25 ? e12[i]! - e26[i]! : 0)).slice(25);
      const sig = emaRef(line, 9);
      for (const i of probes) {
        expect(Math.abs(series.macd[i]! - (e12[i]! - e26[i]!))).toBeLessThan(1e-8);
        expect(Math.abs(series.macdSignal[i]! - sig[i - 25]!)).toBeLessThan(1e-8);
        expect(series.macdHistogram[i]!).toBeCloseTo(series.macd[i]! - series.macdSignal[i]!, 8);
      }
    });

    it('Bollinger(20, 2) is the SMA20 +- 2 population standard deviations, %b relative to the bands', () => {
      for (const i of probes) {
        const w = closes.slice(i - 19, i + 1);
        const mean = w.reduce((s, x) => s + x, 0) / 20;
        const sd = Math.sqrt(w.reduce((s, x) => s + (x - mean) ** 2, 0) / 20);
        expect(rel(series.bbMiddle[i]!, mean)).toBeLessThan(1e-12);
        expect(rel(series.bbUpper[i]!, mean + 2 * sd)).toBeLessThan(1e-9);
        expect(rel(series.bbLower[i]!, mean - 2 * sd)).toBeLessThan(1e-9);
        expect(series.bbPercentB[i]!).toBeCloseTo((closes[i]! - (mean - 2 * sd)) / (4 * sd), 9);
      }
    });

    it('realized volatility is the sample stdev of 30 log returns x sqrt(365)', () => {
      for (const i of probes) {
        const r = [];
        for (let j = i - VOLATILITY_WINDOW + 1; j <= i; j++) r.push(Math.log(closes[j]! / closes[j - 1]!));
        const m = r.reduce((s, x) => s + x, 0) / r.length;
        const sd = Math.sqrt(r.reduce((s, x) => s + (x - m) ** 2, 0) / (r.length - 1));
        expect(rel(series.realizedVol[i]!, sd * Math.sqrt(periodsPerYear('1d')))).toBeLessThan(1e-12);
      }
    });

    it('aligns outputs to their candles with null during each warm-up', () => {
      const firstValue: Record<string, number> = {
        rsi14: 14,
        macd: 25,
        macdSignal: 33,
        macdHistogram: 33,
        ema20: 19,
        ema50: 49,
        ema200: 199,
        atr14: 14,
        bbUpper: 19,
        bbMiddle: 19,
        bbLower: 19,
        bbPercentB: 19,
        realizedVol: VOLATILITY_WINDOW,
      };
      for (const k of COLUMNS) {
        const first = firstValue[k]!;
        expect(series[k][first - 1], k).toBeNull();
        expect(series[k][first], k).not.toBeNull();
        expect(series[k]).toHaveLength(candles.length);
      }
    });

    it('refuses to read indicators before WARMUP_BARS bars', () => {
      expect(WARMUP_BARS).toBe(1400);
      expect(indicatorsAt(series, WARMUP_BARS - 2)).toBeNull();
      expect(indicatorsAt(series, WARMUP_BARS - 1)?.index).toBe(WARMUP_BARS - 1);
      try {
        assertWarm(series, 300);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(AppError);
        expect((e as AppError).code).toBe('INSUFFICIENT_DATA');
      }
    });

    it('truncation: values at t are identical when the data is cut just after t', () => {
      for (const t of [1399, 1777, 2500]) {
        const cut = computeIndicators(candles.slice(0, t + 1), '1d');
        for (const k of COLUMNS) expect(cut[k][t], `${k}@${t}`).toBe(series[k][t]);
        const fullView = createMarketView(candles, series, '1d');
        const cutView = createMarketView(candles.slice(0, t + 1), cut, '1d');
        const at = fullView.knownAt(t);
        expect(summarizeForAgents(cutView.at(at))).toEqual(summarizeForAgents(fullView.at(at)));
      }
    });
  },
);

describe.skipIf(!hasBinanceData(HOURLY))(realDataSuiteName('warm-up on real BTCUSDT 1h data', HOURLY), () => {
  it('values at t move by less than the stated tolerance when 20,000 more bars of history are added', () => {
    const candles = readBinanceCsv(binanceDataFile(HOURLY)).slice(0, 45_000);
    const full = computeIndicators(candles, '1h');
    // Tolerances (relative to the value; RSI in points; MACD relative to the price):
    // EMA200 1e-6 (seed weight (1-2/201)^1200 ~ 6e-6 of the seed error), everything else 1e-9.
    const starts = [20_000, 23_333, 26_666, 30_000, 33_333];
    for (const s of starts) {
      const short = computeIndicators(candles.slice(s), '1h');
      const t = WARMUP_BARS - 1; // the first bar a decision may read
      for (const k of COLUMNS) {
        const a = short[k][t]!;
        const b = full[k][s + t]!;
        const price = candles[s + t]!.close;
        const err =
          k === 'rsi14' ? Math.abs(a - b) : k.startsWith('macd') ? Math.abs(a - b) / price : rel(a, b);
        expect(err, `${k} from start ${s}`).toBeLessThan(k === 'ema200' ? 1e-6 : k === 'rsi14' ? 0.01 : 1e-9);
      }
    }
  });
});

function synthetic(n: number, intervalMs = 3_600_000): Candle[] {
  return Array.from({ length: n }, (_, i) => {
    const close = 100 + 10 * Math.sin(i / 7) + i * 0.01;
    return {
      openTime: i * intervalMs,
      open: close - 0.5,
      high: close + 1,
      low: close - 1.5,
      close,
      volume: 10 + (i % 5),
      closeTime: (i + 1) * intervalMs - 1,
    };
  });
}

describe('clock-gated market view', () => {
  const candles = synthetic(1600);
  const series = computeIndicators(candles, '1h');
  const timeline = createMarketView(candles, series, '1h');

  it('shows exactly the bars with closeTime < decision time', () => {
    const i = 1500;
    const t = candles[i]!.closeTime + 1;
    expect(timeline.knownAt(i)).toBe(t);
    const view = timeline.at(t);
    expect(view.length).toBe(i + 1);
    expect(view.lastCandle().openTime).toBe(candles[i]!.openTime);
    // One millisecond earlier, bar i is still forming: invisible.
    expect(timeline.at(t - 1).length).toBe(i);
  });

  it('makes later bars unreachable: every accessor checks the bound and hands out copies', () => {
    const view = timeline.at(candles[1500]!.closeTime + 1);
    expect(() => view.candle(1501)).toThrow(/not visible/);
    expect(() => view.indicators(1501)).toThrow(/not visible/);
    expect(view.recentCandles(10_000)).toHaveLength(1501);
    expect(view.recentCloses(3)).toEqual([candles[1498]!.close, candles[1499]!.close, candles[1500]!.close]);
    // No property of the view is an array or a mutable object that could lead to the full series.
    for (const v of Object.values(view)) expect(['function', 'number', 'string']).toContain(typeof v);
    expect(Object.isFrozen(view)).toBe(true);
    expect(Object.isFrozen(view.lastCandle())).toBe(true);
    // Mutating what the caller passed in does not change what the view shows.
    const copy = synthetic(1600);
    const tl = createMarketView(copy, computeIndicators(copy, '1h'), '1h');
    const v = tl.at(copy[10]!.closeTime + 1);
    copy[10]!.close = -1;
    expect(v.lastCandle().close).toBe(candles[10]!.close);
  });

  it('refuses indicators before the warm-up with INSUFFICIENT_DATA', () => {
    const early = timeline.at(candles[100]!.closeTime + 1);
    expect(() => early.indicators()).toThrow(AppError);
    expect(() => summarizeForAgents(early)).toThrow(/warm-up/);
    expect(() => timeline.at(0).lastCandle()).toThrow(/no bar closed/);
  });

  it('never exposes a truncated bar before its hour ends', () => {
    const c = synthetic(5);
    c[2] = { ...c[2]!, closeTime: c[2]!.openTime + 60_000 }; // an outage bar that closed after 1 minute
    const tl = createMarketView(c, computeIndicators(c, '1h'), '1h');
    expect(tl.knownAt(2)).toBe(c[2]!.openTime + 3_600_000);
    expect(tl.at(c[2]!.closeTime + 1).length).toBe(2);
  });

  it('rejects an indicator series computed on other candles', () => {
    expect(() => createMarketView(candles.slice(1), series, '1h')).toThrow(/same candles/);
  });

  it('summarizes for agents as a small JSON object', () => {
    const view = timeline.at(candles[1599]!.closeTime + 1);
    const s = summarizeForAgents(view);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(s.lastClose).toBeCloseTo(candles[1599]!.close, 3);
    expect(s.returnsPct.bars1).toBeCloseTo((candles[1599]!.close / candles[1598]!.close - 1) * 100, 3);
    expect(s.distanceToEmaPct.ema20).toBeCloseTo((candles[1599]!.close / series.ema20[1599]! - 1) * 100, 3);
    expect(s.volumeVsAverage).toBeCloseTo(candles[1599]!.volume / 12, 3); // volumes cycle 10..14: mean 12
    expect(JSON.stringify(s).length).toBeLessThan(1200);
  });
});
