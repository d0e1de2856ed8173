import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BinanceServer,
  generateKlines,
  loadKlinesFromCsv,
  startBinanceServer,
} from '../../test/helpers/binance-server';
import { BINANCE_DATA_DIR, realDataSuiteName } from '../indicators/testing';
import { createMemoryHealthStore } from '../resilience/upstream-health';
import { AppError } from '../util/errors';
import { type BinanceClientOptions, createBinanceClient } from './binance';
import { parseKlineFields } from './kline';
import type { Kline } from './types';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1); // 1704067200000
/** The exchange clock sits half-way through bar 2400: bars 0..2399 are closed, 2400 is still open. */
const NOW = T0 + 2400 * HOUR + HOUR / 2;
const SERIES = generateKlines({ timeframe: '1h', start: T0, count: 2500, startPrice: 42_000 });
const DATA = BINANCE_DATA_DIR;
const BACKOFF_BASE_MS = 100;

let srv: BinanceServer;
let sleeps: number[];

function client(extra: Partial<BinanceClientOptions> = {}) {
  return createBinanceClient({
    baseUrl: srv.url,
    fallbackUrl: null,
    now: () => NOW,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    backoffBaseMs: BACKOFF_BASE_MS,
    maxRetries: 3,
    timeoutMs: 2_000,
    ...extra,
  });
}

async function expectAppError(p: Promise<unknown>, code: string): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).code).toBe(code);
  return err as AppError;
}

/** A port nothing listens on: bind one, then close it. */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

beforeAll(async () => {
  srv = await startBinanceServer({ candles: { 'BTCUSDT:1h': SERIES }, now: () => NOW });
});
afterAll(async () => {
  await srv.close();
});
beforeEach(() => {
  srv.clearFaults();
  srv.requests.length = 0;
  sleeps = [];
});

describe('fetchKlines', () => {
  it('paginates over more than 1000 bars with startTime = last open time + interval', async () => {
    const klines = await client().fetchKlines({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startTime: T0,
      endTime: T0 + 2450 * HOUR,
    });
    expect(klines).toHaveLength(2400);
    expect(klines[0]).toEqual(SERIES[0]);
    expect(klines[1999]).toEqual(SERIES[1999]);
    for (let i = 1; i < klines.length; i++) expect(klines[i]!.openTime - klines[i - 1]!.openTime).toBe(HOUR);
    expect(srv.klineRequests().map((r) => [r.startTime, r.endTime, r.limit])).toEqual([
      [T0, T0 + 2450 * HOUR, 1000],
      [T0 + 1000 * HOUR, T0 + 2450 * HOUR, 1000],
      [T0 + 2000 * HOUR, T0 + 2450 * HOUR, 1000],
    ]);
  });

  it('drops the still-open last candle the server sends', async () => {
    const klines = await client().fetchKlines({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startTime: T0 + 2390 * HOUR,
      endTime: T0 + 2500 * HOUR,
    });
    expect(srv.requests[0]!.rows).toBe(11); // 2390..2400, the last one still forming
    expect(klines.map((k) => k.openTime)).toEqual(
      Array.from({ length: 10 }, (_, i) => T0 + (2390 + i) * HOUR),
    );
    expect(klines.every((k) => k.closeTime < NOW)).toBe(true);
  });

  it('returns nothing for a range before any data without looping', async () => {
    const klines = await client().fetchKlines({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startTime: T0 - 10 * HOUR,
      endTime: T0 - HOUR,
    });
    expect(klines).toEqual([]);
    expect(srv.requests).toHaveLength(1);
  });

  it('rejects an unsupported timeframe and a reversed range before calling Binance', async () => {
    const c = client();
    await expectAppError(
      c.fetchKlines({ symbol: 'BTCUSDT', timeframe: '3m' as never, startTime: T0, endTime: T0 + HOUR }),
      'UNSUPPORTED_TIMEFRAME',
    );
    await expectAppError(
      c.fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0 + HOUR, endTime: T0 }),
      'VALIDATION_ERROR',
    );
    expect(srv.requests).toHaveLength(0);
  });
});

describe('rate limits', () => {
  it('honours Retry-After on 429, then succeeds', async () => {
    srv.injectFault({ kind: 'rate-limit', status: 429, retryAfterSeconds: 3 });
    const klines = await client().fetchKlines({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startTime: T0,
      endTime: T0 + 4 * HOUR,
    });
    expect(klines).toHaveLength(5);
    expect(sleeps).toEqual([3000]);
    expect(srv.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('fails fast with UPSTREAM_BINANCE_RATE_LIMITED on a 418 ban longer than the wait bound', async () => {
    srv.injectFault({ kind: 'rate-limit', status: 418, retryAfterSeconds: 7200 });
    const err = await expectAppError(
      client().fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 + HOUR }),
      'UPSTREAM_BINANCE_RATE_LIMITED',
    );
    expect(err.status).toBe(503);
    expect(err.details).toMatchObject({ status: 418, retryAfterSeconds: 7200 });
    expect(sleeps).toEqual([]);
    expect(srv.requests).toHaveLength(1);
  });

  it('waits through a short 418 like a 429', async () => {
    srv.injectFault({ kind: 'rate-limit', status: 418, retryAfterSeconds: 2 });
    await client().fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 + HOUR });
    expect(sleeps).toEqual([2000]);
  });

  it('gives up with UPSTREAM_BINANCE_RATE_LIMITED when 429s keep coming', async () => {
    srv.injectFault({
      kind: 'rate-limit',
      status: 429,
      retryAfterSeconds: 1,
      times: Number.POSITIVE_INFINITY,
    });
    await expectAppError(
      client({ maxRetries: 2 }).fetchKlines({
        symbol: 'BTCUSDT',
        timeframe: '1h',
        startTime: T0,
        endTime: T0,
      }),
      'UPSTREAM_BINANCE_RATE_LIMITED',
    );
    expect(sleeps).toEqual([1000, 1000]);
    expect(srv.requests).toHaveLength(3);
  });
});

describe('server errors and timeouts', () => {
  it('retries 5xx with exponential backoff and jitter, then succeeds', async () => {
    srv.injectFault({ kind: 'server-error', status: 500, times: 2 });
    const klines = await client().fetchKlines({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startTime: T0,
      endTime: T0 + HOUR,
    });
    expect(klines).toHaveLength(2);
    // random() = 0.5: half the ceiling fixed plus a quarter: 100 -> 75, 200 -> 150.
    expect(sleeps).toEqual([75, 150]);
    expect(srv.requests.map((r) => r.status)).toEqual([500, 500, 200]);
  });

  it('jitter spreads the delay between half and all of the ceiling', async () => {
    srv.injectFault({ kind: 'server-error', status: 503, times: 2 });
    const randoms = [0, 0.999];
    await client({ random: () => randoms.shift() ?? 0 }).fetchKlines({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startTime: T0,
      endTime: T0,
    });
    expect(sleeps).toEqual([50, 200]);
  });

  it('fails with UPSTREAM_BINANCE once 5xx retries are exhausted', async () => {
    srv.injectFault({ kind: 'server-error', status: 502, times: Number.POSITIVE_INFINITY });
    const err = await expectAppError(
      client().fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 }),
      'UPSTREAM_BINANCE',
    );
    expect(err.status).toBe(502);
    expect(err.details).toMatchObject({ attempts: 4 });
    expect(srv.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it('retries a request that times out', async () => {
    srv.injectFault({ kind: 'slow', delayMs: 5_000 });
    const klines = await client({ timeoutMs: 150 }).fetchKlines({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startTime: T0,
      endTime: T0 + 2 * HOUR,
    });
    expect(klines).toHaveLength(3);
    expect(sleeps).toHaveLength(1);
    expect(srv.requests).toHaveLength(2);
  });

  it('fails with UPSTREAM_BINANCE when every attempt times out', async () => {
    srv.injectFault({ kind: 'slow', delayMs: 5_000, times: Number.POSITIVE_INFINITY });
    const err = await expectAppError(
      client({ timeoutMs: 100, maxRetries: 1 }).fetchKlines({
        symbol: 'BTCUSDT',
        timeframe: '1h',
        startTime: T0,
        endTime: T0,
      }),
      'UPSTREAM_BINANCE',
    );
    expect(err.message).toMatch(/timed out/);
    expect(srv.requests).toHaveLength(2);
  });

  it('retries a dropped connection when there is no fallback', async () => {
    srv.injectFault({ kind: 'drop-connection' });
    const klines = await client().fetchKlines({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startTime: T0,
      endTime: T0,
    });
    expect(klines).toHaveLength(1);
    expect(sleeps).toHaveLength(1);
    expect(srv.requests).toHaveLength(2);
  });

  it('reports a body that is not JSON as UPSTREAM_BINANCE', async () => {
    srv.injectFault({ kind: 'malformed-body' });
    await expectAppError(
      client().fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 }),
      'UPSTREAM_BINANCE',
    );
  });
});

describe('fallback host', () => {
  let fallback: BinanceServer;
  beforeAll(async () => {
    fallback = await startBinanceServer({ candles: { 'BTCUSDT:1h': SERIES }, now: () => NOW });
  });
  afterAll(async () => {
    await fallback.close();
  });
  beforeEach(() => {
    fallback.requests.length = 0;
  });

  it('a 418 ban holds the host for every caller: the next request does not reach it (503, retryAfterSeconds)', async () => {
    const health = createMemoryHealthStore();
    srv.injectFault({ kind: 'rate-limit', status: 418, retryAfterSeconds: 120 });
    const req = { symbol: 'BTCUSDT', timeframe: '1h' as const, startTime: T0, endTime: T0 + HOUR };
    const first = await expectAppError(client({ health }).fetchKlines(req), 'UPSTREAM_BINANCE_RATE_LIMITED');
    expect(first.details).toMatchObject({ status: 418, retryAfterSeconds: 120 });
    expect(srv.requests).toHaveLength(1);
    // another client (another decision, a second later) sharing the store: not called at all
    const second = await expectAppError(client({ health }).fetchKlines(req), 'UPSTREAM_BINANCE_RATE_LIMITED');
    expect(second.status).toBe(503);
    expect(second.message).toMatch(/not called/);
    expect((second.details as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(100);
    expect(srv.requests).toHaveLength(1);
    // the fallback host, not held itself, still answers that request
    const viaFallback = await client({ health, fallbackUrl: fallback.url }).fetchKlines(req);
    expect(viaFallback).toHaveLength(2);
    expect(srv.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);
  });

  it('a short Retry-After hold is waited out once, then the host is called again', async () => {
    const health = createMemoryHealthStore();
    srv.injectFault({ kind: 'rate-limit', status: 429, retryAfterSeconds: 3 });
    const req = { symbol: 'BTCUSDT', timeframe: '1h' as const, startTime: T0, endTime: T0 + HOUR };
    expect(await client({ health }).fetchKlines(req)).toHaveLength(2);
    expect(sleeps).toEqual([3000]);
    expect(srv.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it('switches to the fallback host on 451 and stays there', async () => {
    srv.injectFault({ kind: 'blocked', status: 451, times: Number.POSITIVE_INFINITY });
    const c = client({ fallbackUrl: fallback.url });
    const klines = await c.fetchKlines({
      symbol: 'BTCUSDT',
      timeframe: '1h',
      startTime: T0,
      endTime: T0 + HOUR,
    });
    expect(klines).toHaveLength(2);
    expect(c.activeBaseUrl).toBe(fallback.url);
    await c.fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 });
    expect(srv.requests.map((r) => r.status)).toEqual([451]);
    expect(fallback.requests).toHaveLength(2);
  });

  it('switches on 403 too', async () => {
    srv.injectFault({ kind: 'blocked', status: 403 });
    const c = client({ fallbackUrl: fallback.url });
    await c.fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 });
    expect(c.activeBaseUrl).toBe(fallback.url);
  });

  it('switches when the primary cannot be reached', async () => {
    const c = client({ baseUrl: await deadUrl(), fallbackUrl: fallback.url });
    const klines = await c.fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 });
    expect(klines).toHaveLength(1);
    expect(c.activeBaseUrl).toBe(fallback.url);
    expect(sleeps).toEqual([]);
  });

  it('without a fallback, a 451 is an UPSTREAM_BINANCE error naming the setting', async () => {
    srv.injectFault({ kind: 'blocked', status: 451 });
    const err = await expectAppError(
      client().fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 }),
      'UPSTREAM_BINANCE',
    );
    expect(err.message).toMatch(/BINANCE_BASE_URL/);
  });
});

describe('Binance error codes', () => {
  it('-1121 invalid symbol -> UNKNOWN_SYMBOL (400)', async () => {
    const err = await expectAppError(
      client().fetchKlines({ symbol: 'NOTACOIN', timeframe: '1h', startTime: T0, endTime: T0 }),
      'UNKNOWN_SYMBOL',
    );
    expect(err.status).toBe(400);
    expect(err.details).toMatchObject({ binanceCode: -1121 });
  });

  it('-1120 invalid interval -> UNSUPPORTED_TIMEFRAME (400)', async () => {
    srv.injectFault({ kind: 'binance-error', code: -1120, msg: 'Invalid interval.' });
    const err = await expectAppError(
      client().fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 }),
      'UNSUPPORTED_TIMEFRAME',
    );
    expect(err.status).toBe(400);
  });

  it('-1100 illegal characters -> VALIDATION_ERROR', async () => {
    const err = await expectAppError(
      client().fetchKlines({ symbol: 'btcusdt', timeframe: '1h', startTime: T0, endTime: T0 }),
      'VALIDATION_ERROR',
    );
    expect(err.message).toMatch(/symbol/);
  });

  it('any other code -> UPSTREAM_BINANCE (502), not retried', async () => {
    srv.injectFault({ kind: 'binance-error', code: -1022, msg: 'Signature for this request is not valid.' });
    const err = await expectAppError(
      client().fetchKlines({ symbol: 'BTCUSDT', timeframe: '1h', startTime: T0, endTime: T0 }),
      'UPSTREAM_BINANCE',
    );
    expect(err.status).toBe(502);
    expect(srv.requests).toHaveLength(1);
  });
});

describe('latestPrice', () => {
  it('reads /api/v3/ticker/price', async () => {
    const price = await client().latestPrice('BTCUSDT');
    expect(price).toBe(Number(SERIES[2400]!.close)); // the open bar's current close
  });

  it('maps an unknown symbol to UNKNOWN_SYMBOL', async () => {
    await expectAppError(client().latestPrice('NOTACOIN'), 'UNKNOWN_SYMBOL');
  });
});

describe.skipIf(!existsSync(DATA))(realDataSuiteName('real klines'), () => {
  it('parses the same 500 bars as the reconstructed API sample', async () => {
    const real = await loadKlinesFromCsv(resolve(DATA, 'BTCUSDT-1h.csv.gz'), '1h');
    const start = 1704067200000;
    const realSrv = await startBinanceServer({
      candles: { 'BTCUSDT:1h': real },
      now: () => Date.UTC(2026, 0, 1),
    });
    try {
      const c = createBinanceClient({ baseUrl: realSrv.url, fallbackUrl: null });
      const got = await c.fetchKlines({
        symbol: 'BTCUSDT',
        timeframe: '1h',
        startTime: start,
        endTime: start + 499 * HOUR,
      });
      const sample = JSON.parse(
        readFileSync(
          resolve(DATA, 'api-samples/klines_BTCUSDT_1h_startTime1704067200000_limit500_reconstructed.json'),
          'utf8',
        ),
      ) as unknown[][];
      const expected = sample.map((row) => (parseKlineFields(row, '1h') as { kline: Kline }).kline);
      expect(got).toHaveLength(500);
      expect(got).toEqual(expected);
      expect(got[0]).toMatchObject({
        open: '42283.58000000',
        trades: 47134,
        takerBuyQuote: '28957416.81964500',
      });
    } finally {
      await realSrv.close();
    }
  });
});
