import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BinanceServer, generateKlines, startBinanceServer } from '../../test/helpers/binance-server';
import { testDrivers, useTestDatabase } from '../db/testing';
import { AppError } from '../util/errors';
import { createBinanceClient } from './binance';
import { createCandleRepository } from './candle-source';
import { insertKlines, missingRanges, readKlines } from './candle-store';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
/** Bars 0..199 are closed; bar 200 is forming. */
const NOW = T0 + 200 * HOUR + 10 * 60_000;
const SERIES = generateKlines({ timeframe: '1h', start: T0, count: 210, startPrice: 2_000, seed: 7 });
const at = (i: number) => T0 + i * HOUR;

async function expectAppError(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
}

describe('missingRanges', () => {
  it('returns the runs of absent grid slots as inclusive ranges', () => {
    const present = [at(2), at(3), at(6), at(9)];
    expect(missingRanges(present, at(0), at(10), HOUR)).toEqual([
      { startTime: at(0), endTime: at(1) },
      { startTime: at(4), endTime: at(5) },
      { startTime: at(7), endTime: at(8) },
      { startTime: at(10), endTime: at(10) },
    ]);
    expect(missingRanges([at(0), at(1)], at(0), at(1), HOUR)).toEqual([]);
  });

  it('aligns unaligned bounds to the grid', () => {
    expect(missingRanges([], at(1) - 1, at(3) + 1, HOUR)).toEqual([{ startTime: at(1), endTime: at(3) }]);
  });
});

describe.each(testDrivers())('candle repository on %s', (driver) => {
  const t = useTestDatabase(driver);
  let srv: BinanceServer;
  // ETHUSDT on the server has a real hole: bars 50..54 never existed (an exchange outage).
  const ETH = generateKlines({ timeframe: '1h', start: T0, count: 210, seed: 3 }).filter(
    (k) => k.openTime < at(50) || k.openTime > at(54),
  );

  beforeAll(async () => {
    srv = await startBinanceServer({ candles: { 'BTCUSDT:1h': SERIES, 'ETHUSDT:1h': ETH }, now: () => NOW });
  });
  afterAll(async () => {
    await srv.close();
  });
  beforeEach(async () => {
    await t.reset();
    srv.requests.length = 0;
  });

  const repo = (withSource = true) =>
    createCandleRepository({
      db: t.db,
      symbols: SYMBOLS,
      now: () => NOW,
      source: withSource
        ? createBinanceClient({ baseUrl: srv.url, fallbackUrl: null, now: () => NOW })
        : undefined,
    });
  const requested = () => srv.klineRequests().map((r) => [r.startTime, r.endTime]);

  it('fetches a range once, then serves it from the database', async () => {
    const r = repo();
    const first = await r.getCandles({ symbol: 'BTCUSDT', timeframe: '1h', startMs: at(10), endMs: at(29) });
    expect(first.candles).toHaveLength(20);
    expect(first.gaps).toEqual([]);
    expect(requested()).toEqual([[at(10), at(29)]]);

    const again = await r.getCandles({ symbol: 'BTCUSDT', timeframe: '1h', startMs: at(10), endMs: at(29) });
    expect(again).toEqual(first);
    expect(requested()).toHaveLength(1);
  });

  it('fetches only the missing sub-ranges of a wider request', async () => {
    const r = repo();
    await r.getCandles({ symbol: 'BTCUSDT', timeframe: '1h', startMs: at(10), endMs: at(29) });
    await r.getCandles({ symbol: 'BTCUSDT', timeframe: '1h', startMs: at(40), endMs: at(49) });
    srv.requests.length = 0;

    const wide = await r.getCandles({ symbol: 'BTCUSDT', timeframe: '1h', startMs: at(5), endMs: at(59) });
    expect(requested()).toEqual([
      [at(5), at(9)],
      [at(30), at(39)],
      [at(50), at(59)],
    ]);
    expect(wide.candles.map((c) => c.openTime)).toEqual(Array.from({ length: 55 }, (_, i) => at(5 + i)));
    expect(wide.gaps).toEqual([]);
  });

  it('fills holes inside stored data with one request per hole', async () => {
    await insertKlines(
      t.db,
      'BTCUSDT',
      '1h',
      SERIES.slice(0, 30).filter((k) => k.openTime < at(12) || k.openTime > at(15)),
      'archive',
    );
    const { candles, gaps } = await repo().getCandles({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startMs: at(0),
      endMs: at(29),
    });
    expect(requested()).toEqual([[at(12), at(15)]]);
    expect(candles).toHaveLength(30);
    expect(gaps).toEqual([]);
  });

  it('stores the exact decimal strings and returns float candles', async () => {
    await repo().getCandles({ symbol: 'BTCUSDT', timeframe: '1h', startMs: at(0), endMs: at(4) });
    const stored = await readKlines(t.db, 'BTCUSDT', '1h', at(0), at(4));
    expect(stored).toEqual(SERIES.slice(0, 5));
    const { candles } = await repo(false).getCandles({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startMs: at(0),
      endMs: at(0),
    });
    expect(candles[0]).toEqual({
      openTime: at(0),
      open: Number(SERIES[0]!.open),
      high: Number(SERIES[0]!.high),
      low: Number(SERIES[0]!.low),
      close: Number(SERIES[0]!.close),
      volume: Number(SERIES[0]!.volume),
      closeTime: at(1) - 1,
      quoteVolume: Number(SERIES[0]!.quoteVolume),
      trades: SERIES[0]!.trades,
      takerBuyBase: Number(SERIES[0]!.takerBuyBase),
      takerBuyQuote: Number(SERIES[0]!.takerBuyQuote),
    });
  });

  it('reports an exchange hole as a gap and never fills it', async () => {
    const r = repo();
    const { candles, gaps } = await r.getCandles({
      symbol: 'ETHUSDT',
      timeframe: '1h',
      startMs: at(40),
      endMs: at(69),
    });
    expect(candles).toHaveLength(25);
    expect(gaps).toEqual([{ afterOpenTime: at(49), nextOpenTime: at(55), missingBars: 5 }]);
    srv.requests.length = 0;
    // Asked again: only the hole is requested, and it stays a hole.
    const again = await r.getCandles({ symbol: 'ETHUSDT', timeframe: '1h', startMs: at(40), endMs: at(69) });
    expect(requested()).toEqual([[at(50), at(54)]]);
    expect(again.gaps).toEqual(gaps);
  });

  it('without a source, serves what is stored and reports the holes at the edges too', async () => {
    await insertKlines(t.db, 'BTCUSDT', '1h', SERIES.slice(10, 20), 'archive');
    const { candles, gaps } = await repo(false).getCandles({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startMs: at(5),
      endMs: at(24),
    });
    expect(candles).toHaveLength(10);
    expect(gaps).toEqual([
      { afterOpenTime: at(4), nextOpenTime: at(10), missingBars: 5 },
      { afterOpenTime: at(19), nextOpenTime: at(25), missingBars: 5 },
    ]);
    expect(srv.requests).toHaveLength(0);

    const empty = await repo(false).getCandles({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startMs: at(100),
      endMs: at(101),
    });
    expect(empty).toEqual({
      candles: [],
      gaps: [{ afterOpenTime: at(99), nextOpenTime: at(102), missingBars: 2 }],
    });
  });

  it('clips a range to the last closed bar and never asks for the future', async () => {
    const { candles } = await repo().getCandles({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startMs: at(195),
      endMs: at(400),
    });
    expect(candles.map((c) => c.openTime)).toEqual([at(195), at(196), at(197), at(198), at(199)]);
    expect(requested()).toEqual([[at(195), at(199)]]);
  });

  it('latestCandles returns the last closed bars, fetching only what is missing', async () => {
    const r = repo();
    await r.getCandles({ symbol: 'BTCUSDT', timeframe: '1h', startMs: at(180), endMs: at(194) });
    srv.requests.length = 0;
    const { candles, gaps } = await r.latestCandles('BTCUSDT', '1h', 30, NOW);
    expect(requested()).toEqual([
      [at(170), at(179)],
      [at(195), at(199)],
    ]);
    expect(candles.map((c) => c.openTime)).toEqual(Array.from({ length: 30 }, (_, i) => at(170 + i)));
    expect(gaps).toEqual([]);
  });

  it('latestCandles offline returns the newest stored bars', async () => {
    await insertKlines(t.db, 'BTCUSDT', '1h', SERIES.slice(0, 50), 'archive');
    const { candles } = await repo(false).latestCandles('BTCUSDT', '1h', 3, NOW);
    expect(candles.map((c) => c.openTime)).toEqual([at(47), at(48), at(49)]);
  });

  it('rejects bad requests with a clear error and without touching Binance', async () => {
    const r = repo();
    await expectAppError(
      r.getCandles({ symbol: 'DOGEUSDT', timeframe: '1h', startMs: at(0), endMs: at(1) }),
      'UNKNOWN_SYMBOL',
    );
    await expectAppError(
      r.getCandles({ symbol: 'BTCUSDT', timeframe: '3m' as never, startMs: at(0), endMs: at(1) }),
      'UNSUPPORTED_TIMEFRAME',
    );
    await expectAppError(
      r.getCandles({ symbol: 'BTCUSDT', timeframe: '1h', startMs: at(2), endMs: at(1) }),
      'VALIDATION_ERROR',
    );
    await expectAppError(
      r.getCandles({ symbol: 'BTCUSDT', timeframe: '1h', startMs: Number.NaN, endMs: at(1) }),
      'VALIDATION_ERROR',
    );
    await expectAppError(
      createCandleRepository({ db: t.db, symbols: SYMBOLS, now: () => NOW, maxBars: 10 }).getCandles({
        symbol: 'BTCUSDT',
        timeframe: '1h',
        startMs: at(0),
        endMs: at(10),
      }),
      'VALIDATION_ERROR',
    );
    await expectAppError(r.latestCandles('BTCUSDT', '1h', 0, NOW), 'VALIDATION_ERROR');
    await expectAppError(r.latestCandles('BTCUSDT', '1h', 1001, NOW), 'VALIDATION_ERROR');
    expect(srv.requests).toHaveLength(0);
  });

  it('an upstream failure surfaces as an AppError and stores nothing', async () => {
    srv.injectFault({ kind: 'binance-error', code: -1121, msg: 'Invalid symbol.' });
    await expectAppError(
      repo().getCandles({ symbol: 'SOLUSDT', timeframe: '1h', startMs: at(0), endMs: at(3) }),
      'UNKNOWN_SYMBOL',
    );
    expect(await readKlines(t.db, 'SOLUSDT', '1h', at(0), at(3))).toEqual([]);
  });
});
