import { describe, expect, it } from 'vitest';
import { klineToCandle, parseEpochMs, parseKlineFields } from './kline';

const ROW = [
  1735689600000000,
  '93576.00000000',
  '94509.42000000',
  '93489.03000000',
  '94401.14000000',
  '755.99676000',
  1735693199999999,
  '71016563.60582930',
  107155,
  '366.19798000',
  '34398808.61040860',
  '0',
];

describe('parseEpochMs', () => {
  it('keeps milliseconds and divides microseconds by 1000', () => {
    expect(parseEpochMs('1704067200000')).toBe(1704067200000);
    expect(parseEpochMs(1735689600000000)).toBe(1735689600000);
    expect(parseEpochMs('1735693199999999')).toBe(1735693199999);
  });

  it('refuses anything but a non-negative integer', () => {
    for (const bad of ['', '-1', '1.5', 'abc', '1e12', '99999999999999999999'])
      expect(parseEpochMs(bad)).toBeUndefined();
  });
});

describe('parseKlineFields', () => {
  it('parses a 12-field microsecond row (2025 spot archive) into exact strings and ms times', () => {
    const r = parseKlineFields(ROW, '1h');
    expect(r).toEqual({
      ok: true,
      kline: {
        openTime: 1735689600000,
        open: '93576.00000000',
        high: '94509.42000000',
        low: '93489.03000000',
        close: '94401.14000000',
        volume: '755.99676000',
        closeTime: 1735693199999,
        quoteVolume: '71016563.60582930',
        trades: 107155,
        takerBuyBase: '366.19798000',
        takerBuyQuote: '34398808.61040860',
      },
    });
    if (r.ok) expect(klineToCandle(r.kline).close).toBe(94401.14);
  });

  it('fills the regular close time for a 6-field OHLCV row and leaves the rest null', () => {
    const r = parseKlineFields(['1597104000000', '2.85', '3.52', '2.84', '3.29', '1552384.78'], '1d');
    expect(r).toMatchObject({
      ok: true,
      kline: {
        closeTime: 1597104000000 + 86_400_000 - 1,
        quoteVolume: null,
        trades: null,
        takerBuyQuote: null,
      },
    });
  });

  it('names the field that is wrong', () => {
    expect(parseKlineFields(ROW.slice(0, 7), '1h')).toEqual({
      ok: false,
      reason: 'expected 12, 11 or 6 columns, got 7',
    });
    const negative = [...ROW];
    negative[3] = '-1';
    expect(parseKlineFields(negative, '1h')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^low /),
    });
    const trades = [...ROW];
    trades[8] = '12.5';
    expect(parseKlineFields(trades, '1h')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^trades /),
    });
    const nan = [...ROW];
    nan[4] = 'NaN';
    expect(parseKlineFields(nan, '1h')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^close /),
    });
  });
});
