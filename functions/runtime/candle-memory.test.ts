/**
 * The in-memory candle layer over the real repository (PGlite, candles stored as an import would):
 * complete ranges are answered from memory with the repository's own answer, ranges with a hole always
 * go back to the repository, a newly closed bar is fetched and joined to what is kept.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { testDrivers, useTestDatabase } from '../../shared/db/testing';
import { type CandleRepository, createCandleRepository } from '../../shared/market/candle-source';
import { insertKlines } from '../../shared/market/candle-store';
import type { Kline } from '../../shared/market/types';
import { withCandleMemory } from './candle-memory';

const H4 = 4 * 3_600_000;
const T0 = Date.parse('2024-01-01T00:00:00Z');
const BARS = 60;

function kline(i: number): Kline {
  const p = (100 + i).toFixed(2);
  return {
    openTime: T0 + i * H4,
    open: p,
    high: p,
    low: p,
    close: p,
    volume: '1',
    closeTime: T0 + (i + 1) * H4 - 1,
    quoteVolume: null,
    trades: null,
    takerBuyBase: null,
    takerBuyQuote: null,
  };
}

function counting(repo: CandleRepository) {
  let calls = 0;
  return {
    repo: {
      ...repo,
      getCandles: (r: Parameters<CandleRepository['getCandles']>[0]) => {
        calls++;
        return repo.getCandles(r);
      },
    },
    calls: () => calls,
  };
}

describe.each(testDrivers())('candle memory on %s', (driver) => {
  const t = useTestDatabase(driver);
  let clock = T0 + BARS * H4; // every stored bar is closed
  const now = () => clock;
  beforeEach(async () => {
    await t.reset();
    clock = T0 + BARS * H4;
  });

  it('answers a complete range again from memory, as the repository did', async () => {
    await insertKlines(
      t.db,
      'BTCUSDT',
      '4h',
      Array.from({ length: BARS }, (_, i) => kline(i)),
      'archive',
    );
    const inner = counting(createCandleRepository({ db: t.db, symbols: ['BTCUSDT'], now }));
    const memo = withCandleMemory(inner.repo, now);
    const req = { symbol: 'BTCUSDT', timeframe: '4h' as const, startMs: T0, endMs: T0 + 50 * H4 };
    const first = await memo.getCandles(req);
    expect(first.candles).toHaveLength(51);
    const sub = { ...req, startMs: T0 + 10 * H4, endMs: T0 + 20 * H4 + 5 };
    const again = await memo.getCandles(sub);
    expect(inner.calls()).toBe(1);
    expect(again).toEqual(await inner.repo.getCandles(sub));
    // What a caller gets is its own: changing it does not change the next answer.
    again.candles[0]!.close = -1;
    expect((await memo.getCandles(sub)).candles[0]!.close).toBe(110);
  });

  it('asks the repository again for a range with a hole, and for a bar that closed since', async () => {
    const stored = Array.from({ length: BARS }, (_, i) => kline(i)).filter((_, i) => i !== 30);
    await insertKlines(t.db, 'BTCUSDT', '4h', stored, 'archive');
    const inner = counting(createCandleRepository({ db: t.db, symbols: ['BTCUSDT'], now }));
    const memo = withCandleMemory(inner.repo, now);
    const holed = { symbol: 'BTCUSDT', timeframe: '4h' as const, startMs: T0, endMs: T0 + 40 * H4 };
    expect((await memo.getCandles(holed)).gaps).toHaveLength(1);
    expect((await memo.getCandles(holed)).gaps).toHaveLength(1);
    expect(inner.calls()).toBe(2);

    const recent = { ...holed, startMs: T0 + 31 * H4, endMs: T0 + 100 * H4 };
    expect((await memo.getCandles(recent)).candles.at(-1)?.openTime).toBe(T0 + (BARS - 1) * H4);
    expect(inner.calls()).toBe(3);
    // A new bar closes: the request reaching it goes to the repository, then both are kept as one run.
    await insertKlines(t.db, 'BTCUSDT', '4h', [kline(BARS)], 'archive');
    clock += H4;
    expect((await memo.getCandles({ ...recent, startMs: T0 + 55 * H4 })).candles.at(-1)?.openTime).toBe(
      T0 + BARS * H4,
    );
    expect(inner.calls()).toBe(4);
    const both = await memo.getCandles(recent);
    expect(inner.calls()).toBe(4);
    expect(both.candles).toHaveLength(BARS + 1 - 31);
  });
});
