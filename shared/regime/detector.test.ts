import { beforeAll, describe, expect, it } from 'vitest';
import { computeIndicators } from '../indicators/compute';
import { createMarketView } from '../indicators/market-view';
import { binanceDataFile, hasBinanceData, readBinanceCsv, realDataSuiteName } from '../indicators/testing';
import type { Candle } from '../market/types';
import { detectRegime, type RegimeReading } from './detector';

const D = 86_400_000;
const T0 = Date.UTC(2022, 0, 1);

/** Candles from closes, each bar's range `rangePct[i]` % around its close. */
function series(closes: number[], rangePct: (i: number) => number): Candle[] {
  return closes.map((c, i) => {
    const half = (c * rangePct(i)) / 200;
    const open = i === 0 ? c : (closes[i - 1] as number);
    return {
      openTime: T0 + i * D,
      open,
      high: Math.max(open, c) + half,
      low: Math.min(open, c) - half,
      close: c,
      volume: 1,
      closeTime: T0 + (i + 1) * D - 1,
    };
  });
}
function lcg(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}
const N = 600;
/** A range noise in [0.5, 1.5]% except the last `tail` bars at `tailPct`. */
const noisyRange = (seed: number, tail = 0, tailPct = 1) => {
  const rnd = lcg(seed);
  const r = Array.from({ length: N }, () => 0.5 + rnd());
  return (i: number) => (i >= N - tail ? tailPct : (r[i] as number));
};
const read = (c: Candle[]): RegimeReading => {
  const r = detectRegime(c, '1d');
  if (!r.ok) throw new Error(r.reason);
  return r.reading;
};
/** Chop around 100 (independent noise): no trend. */
const chop = (seed: number) => {
  const rnd = lcg(seed);
  return Array.from({ length: N }, () => 100 + (rnd() - 0.5) * 2);
};

describe('regime rules on constructed series', () => {
  it('BULL: a steady uptrend (EMA50 over EMA200, rising, strong ADX)', () => {
    const r = read(
      series(
        Array.from({ length: N }, (_, i) => 100 * 1.004 ** i),
        noisyRange(1, 30, 1),
      ),
    );
    expect(r.regime).toBe('BULL');
    expect(r.figures.ema50).toBeGreaterThan(r.figures.ema200);
    expect(r.figures.adx).toBeGreaterThanOrEqual(20);
    expect(r.confidence).toBeGreaterThan(0.6);
  });

  it('BEAR: the mirror', () => {
    const r = read(
      series(
        Array.from({ length: N }, (_, i) => 100 * 0.996 ** i),
        noisyRange(2, 30, 1),
      ),
    );
    expect(r.regime).toBe('BEAR');
    expect(r.figures.ema50SlopePct).toBeLessThan(0);
  });

  it('SIDEWAYS: chop with ordinary volatility (weak ADX)', () => {
    const r = read(series(chop(3), noisyRange(3, 30, 1)));
    expect(r.regime).toBe('SIDEWAYS');
    expect(r.figures.atrPercentile).toBeGreaterThan(0.1);
    expect(r.figures.atrPercentile).toBeLessThan(0.9);
  });

  it('HIGH_VOL: ATR% at the top of its trailing year wins over everything', () => {
    const r = read(
      series(
        Array.from({ length: N }, (_, i) => 100 * 1.004 ** i),
        noisyRange(4, 20, 6),
      ),
    );
    expect(r.regime).toBe('HIGH_VOL');
    expect(r.figures.atrPercentile).toBeGreaterThanOrEqual(0.9);
    expect(r.confidence).toBeGreaterThanOrEqual(0.6);
  });

  it('LOW_VOL: ATR% at the bottom of its trailing year, no trend', () => {
    const closes = chop(5);
    // the last 40 bars barely move
    for (let i = N - 40; i < N; i++) closes[i] = 100 + 0.02 * Math.sin(i);
    const r = read(series(closes, noisyRange(5, 40, 0.05)));
    expect(r.regime).toBe('LOW_VOL');
    expect(r.figures.atrPercentile).toBeLessThanOrEqual(0.1);
  });

  it('too few candles: no reading, with the reason', () => {
    const r = detectRegime(
      series([1, 2, 3], () => 1),
      '1d',
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/need 211 bars/);
  });

  it('is deterministic and reads only the candles it is given (what the clock-gated view shows)', () => {
    const c = series(chop(6), noisyRange(6));
    expect(detectRegime(c.slice(0, 400), '1d')).toEqual(detectRegime(c.slice(0, 400), '1d'));
    // the reading at bar 399 is the same whatever follows it
    const more = [
      ...c.slice(0, 400),
      ...series(
        Array.from({ length: 50 }, () => 1),
        () => 50,
      ),
    ];
    expect(detectRegime(more.slice(0, 400), '1d')).toEqual(detectRegime(c.slice(0, 400), '1d'));
  });
});

describe.skipIf(!hasBinanceData('BTCUSDT-1d.csv'))(
  realDataSuiteName('regime rules on real BTCUSDT daily candles', 'BTCUSDT-1d.csv'),
  () => {
    let candles: Candle[] = [];
    beforeAll(() => {
      candles = readBinanceCsv(binanceDataFile('BTCUSDT-1d.csv'));
    });
    /** The regime at the close of the day before `day`, through the clock-gated market view. */
    const at = (day: string) => {
      const t = Date.parse(`${day}T00:00:00Z`);
      const view = createMarketView(candles, computeIndicators(candles, '1d'), '1d').at(t);
      const r = detectRegime(view.recentCandles(view.length), '1d');
      if (!r.ok) throw new Error(r.reason);
      return r.reading;
    };

    it('March 2020 (the COVID crash) is HIGH_VOL', () => {
      expect(at('2020-03-20').regime).toBe('HIGH_VOL');
    });
    it('mid-2022 (after LUNA) is BEAR', () => {
      const r = at('2022-06-01');
      expect(r.regime).toBe('BEAR');
      expect(r.figures.ema50).toBeLessThan(r.figures.ema200);
    });
    it('January 2023 (the calm after FTX) is LOW_VOL', () => {
      expect(at('2023-01-01').regime).toBe('LOW_VOL');
    });
    it('early 2024 (the ETF rally) is BULL', () => {
      const r = at('2024-03-01');
      expect(['BULL', 'HIGH_VOL']).toContain(r.regime);
      expect(r.figures.ema50).toBeGreaterThan(r.figures.ema200);
    });
    it('every regime appears over 2018-2025, none dominating absurdly', () => {
      const seen: Record<string, number> = {};
      const view = createMarketView(candles, computeIndicators(candles, '1d'), '1d');
      const first = 400;
      for (let i = first; i < candles.length; i += 7) {
        const v = view.at(candles[i]!.closeTime + 1);
        const r = detectRegime(v.recentCandles(v.length), '1d');
        if (r.ok) seen[r.reading.regime] = (seen[r.reading.regime] ?? 0) + 1;
      }
      const total = Object.values(seen).reduce((a, b) => a + b, 0);
      for (const g of ['BULL', 'BEAR', 'SIDEWAYS', 'HIGH_VOL', 'LOW_VOL'])
        expect(seen[g] ?? 0).toBeGreaterThan(0);
      for (const v of Object.values(seen)) expect(v / total).toBeLessThan(0.6);
    });
  },
);
