import { describe, expect, it } from 'vitest';
import { generateKlines } from '../../test/helpers/binance-server';
import { fingerprintCandles } from './fingerprint';
import { klineToCandle } from './kline';

const bars = generateKlines({
  timeframe: '4h',
  start: Date.parse('2024-01-01T00:00:00Z'),
  count: 1440,
  startPrice: 42_000,
  seed: 3,
}).map(klineToCandle);

describe('fingerprintCandles', () => {
  it('is equal for equal series (copies included)', () => {
    expect(fingerprintCandles(bars.map((b) => ({ ...b })))).toBe(fingerprintCandles(bars));
  });

  it('changes with any one value of any bar, a missing bar, or the order', () => {
    const base = fingerprintCandles(bars);
    const seen = new Set([base]);
    for (const [i, field] of [
      [0, 'open'],
      [700, 'close'],
      [700, 'volume'],
      [1439, 'high'],
      [3, 'takerBuyQuote'],
    ] as const) {
      const changed = bars.map((b) => ({ ...b }));
      changed[i]![field] = (changed[i]![field] ?? 0) + 1e-9 * Math.max(1, Math.abs(changed[i]![field] ?? 1));
      const f = fingerprintCandles(changed);
      expect(seen.has(f)).toBe(false);
      seen.add(f);
    }
    expect(fingerprintCandles(bars.slice(1))).not.toBe(base);
    expect(fingerprintCandles([bars[1]!, bars[0]!, ...bars.slice(2)])).not.toBe(base);
  });
});
