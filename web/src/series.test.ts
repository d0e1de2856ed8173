import { describe, expect, it } from 'vitest';
import { chartRangeFor, drawdownSeries, ema, timeframeMs } from './series';

describe('series', () => {
  it('drawdown is the percent below the running peak, zero at new highs', () => {
    const dd = drawdownSeries([
      { time: 1, value: 100 },
      { time: 2, value: 120 },
      { time: 3, value: 90 },
      { time: 4, value: 130 },
    ]);
    expect(dd.map((p) => p.value)).toEqual([0, 0, -25, 0]);
  });

  it('EMA skips the warm-up and converges to a constant series', () => {
    const closes = Array.from({ length: 30 }, (_, i) => ({ time: i, close: 10 }));
    const out = ema(closes, 20);
    expect(out).toHaveLength(11);
    expect(out[0]?.time).toBe(19);
    expect(out.every((p) => p.value === 10)).toBe(true);
  });

  it('EMA follows the standard recursion', () => {
    const out = ema(
      [
        { time: 0, close: 1 },
        { time: 1, close: 3 },
      ],
      1,
    );
    // period 1: k = 1, the EMA is the close itself.
    expect(out.map((p) => p.value)).toEqual([1, 3]);
  });

  it('draws a period with its own timeframe when it fits in one candles request, else a larger one', () => {
    const day = 86_400_000;
    const start = Date.parse('2024-01-01T00:00:00Z');
    expect(timeframeMs('4h')).toBe(4 * 3_600_000);
    expect(chartRangeFor('4h', start, start + 90 * day)).toEqual({
      timeframe: '4h',
      startMs: start,
      clipped: false,
    });
    // A year of 4h bars is 2,190: over the 1,000 a request serves.
    expect(chartRangeFor('4h', start, start + 365 * day).timeframe).toBe('12h');
    expect(chartRangeFor('1d', start, start + 900 * day)).toEqual({
      timeframe: '1d',
      startMs: start,
      clipped: false,
    });
    // Three years of days do not fit even in 1d: the last 1,000 days are drawn.
    const end = start + 3 * 365 * day;
    expect(chartRangeFor('4h', start, end)).toEqual({
      timeframe: '1d',
      startMs: end - 999 * day,
      clipped: true,
    });
  });
});
