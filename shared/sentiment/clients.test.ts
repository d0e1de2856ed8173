import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DOCUMENTED_SAMPLES,
  generateFng,
  generateFunding,
  generateStats,
  type SentimentServer,
  startSentimentServer,
} from '../../test/helpers/sentiment-server';
import { AppError } from '../util/errors';
import { createFuturesClient, parseFuturesRows } from './binance-futures';
import { createFngClient, parseFngDocument } from './fng';
import { DAY_MS } from './types';

const HOUR = 3_600_000;
const DAY0 = Date.UTC(2024, 0, 1);
/** Noon on 2024-03-01: the index has values for 2024-01-01 .. 2024-03-01 (today's is served, not final). */
const NOW = Date.UTC(2024, 2, 1, 12);
const FNG = generateFng({ startDay: DAY0, days: 61 });
const FUNDING = generateFunding({ start: DAY0, count: 60 * 3 });

async function errorOf(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(AppError);
  return e as AppError;
}

describe('documented response samples parse as the providers document them', () => {
  it('Fear & Greed: the old 05:00 UTC stamp dates the value to its UTC day, known from the next midnight', () => {
    const [p] = parseFngDocument(DOCUMENTED_SAMPLES.fng);
    expect(p).toMatchObject({ series: 'fng', symbol: '*', value: '40', label: 'Fear' });
    expect(new Date(p!.time).toISOString()).toBe('2019-02-26T00:00:00.000Z');
    expect(new Date(p!.knownAt).toISOString()).toBe('2019-02-27T00:00:00.000Z');
  });

  it('funding, open interest and long/short keep the exact decimal strings', () => {
    const f = parseFuturesRows('funding', DOCUMENTED_SAMPLES.fundingRate);
    expect(f[0]).toMatchObject({ value: '-0.03750000', value2: '34287.54619963', time: 1570608000000 });
    expect(f[0]!.knownAt).toBe(1570608000001);
    const oi = parseFuturesRows('open_interest', DOCUMENTED_SAMPLES.openInterestHist);
    expect(oi[0]).toMatchObject({
      value: '20403.63700000',
      value2: '150570784.07809979',
      knownAt: 1583127900000 + HOUR,
    });
    const ls = parseFuturesRows('long_short', DOCUMENTED_SAMPLES.globalLongShortAccountRatio);
    expect(ls[0]).toMatchObject({ value: '0.1960', value2: '0.6622', time: 1583139600000 });
  });

  it('rejects malformed rows with the row number', () => {
    const bad = {
      ...DOCUMENTED_SAMPLES.fng,
      data: [{ value: '140', value_classification: 'Greed', timestamp: '1551157200' }],
    };
    expect(() => parseFngDocument(bad)).toThrow(/row 0 is malformed: Fear & Greed value 140/);
    expect(() =>
      parseFuturesRows('funding', [{ symbol: 'BTCUSDT', fundingRate: 'x', fundingTime: 1 }]),
    ).toThrow(/row 0 is malformed/);
    expect(() => parseFuturesRows('funding', { a: 1 })).toThrow(/not an array/);
  });
});

describe('clients against the local protocol server', () => {
  let srv: SentimentServer;
  let clock = NOW;
  const sleeps: number[] = [];
  const opts = () => ({
    baseUrl: srv.url,
    now: () => clock,
    sleep: async (ms: number) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    maxRetries: 2,
  });

  beforeAll(async () => {
    srv = await startSentimentServer({
      fng: FNG,
      funding: { BTCUSDT: FUNDING },
      openInterest: { BTCUSDT: generateStats({ start: NOW - 40 * DAY_MS, count: 40 * 24, base: 80000 }) },
      longShort: { BTCUSDT: generateStats({ start: NOW - 40 * DAY_MS, count: 40 * 24, base: 1 }) },
      now: () => clock,
    });
  });
  afterAll(() => srv.close());
  beforeEach(() => {
    clock = NOW;
    sleeps.length = 0;
    srv.clearFaults();
    srv.requests.length = 0;
  });

  it('F&G: asks enough days back for the range and keeps only final values inside it', async () => {
    const c = createFngClient(opts());
    const pts = await c.fetchFng({ startTime: Date.UTC(2024, 1, 1), endTime: Date.UTC(2024, 2, 31) });
    expect(new Date(pts[0]!.time).toISOString().slice(0, 10)).toBe('2024-02-01');
    // Today's (2024-03-01) value is served but not final: dropped.
    expect(new Date(pts.at(-1)!.time).toISOString().slice(0, 10)).toBe('2024-02-29');
    expect(pts).toHaveLength(29);
    expect(Number(srv.requestsTo('/fng/')[0]!.params.limit)).toBeGreaterThanOrEqual(30);
  });

  it('F&G: a metadata error, a truncated body and a bad row are clear errors', async () => {
    const c = createFngClient(opts());
    const range = { startTime: DAY0, endTime: NOW };
    srv.injectFault({ kind: 'fng-error', message: 'Service temporarily down' });
    expect((await errorOf(c.fetchFng(range))).message).toMatch(/reports an error: Service temporarily down/);
    srv.injectFault({ kind: 'malformed-body' });
    const e = await errorOf(c.fetchFng(range));
    expect(e.code).toBe('UPSTREAM_SENTIMENT');
    expect(e.message).toMatch(/not JSON/);
    srv.injectFault({ kind: 'bad-row' });
    expect((await errorOf(c.fetchFng(range))).message).toMatch(/is malformed/);
  });

  it('429 honours Retry-After; a ban longer than we wait fails at once; 5xx retries then fails', async () => {
    const c = createFngClient(opts());
    srv.injectFault({ kind: 'rate-limit', retryAfterSeconds: 3 });
    const pts = await c.fetchFng({ startTime: DAY0, endTime: NOW });
    expect(pts.length).toBeGreaterThan(50);
    expect(sleeps).toEqual([3000]);
    srv.injectFault({ kind: 'rate-limit', retryAfterSeconds: 3600 });
    const e = await errorOf(c.fetchFng({ startTime: DAY0, endTime: NOW }));
    expect(e.code).toBe('UPSTREAM_SENTIMENT_RATE_LIMITED');
    expect(e.details).toMatchObject({ retryAfterSeconds: 3600 });
    srv.injectFault({ kind: 'server-error', times: 3 });
    const e2 = await errorOf(c.fetchFng({ startTime: DAY0, endTime: NOW }));
    expect(e2.message).toMatch(/failed after 3 attempts: HTTP 500/);
  });

  it('a timeout is an error after the bounded retries', async () => {
    const c = createFngClient({ ...opts(), timeoutMs: 50, maxRetries: 0 });
    srv.injectFault({ kind: 'slow', delayMs: 500 });
    expect((await errorOf(c.fetchFng({ startTime: DAY0, endTime: NOW }))).message).toMatch(
      /timed out after 50 ms/,
    );
  });

  it('futures: 451 switches to the fallback host when one is set, else names the setting', async () => {
    const blocked = await startSentimentServer({ now: () => clock });
    try {
      blocked.injectFault({ kind: 'blocked', times: Number.POSITIVE_INFINITY });
      const c = createFuturesClient({ ...opts(), baseUrl: blocked.url, fallbackUrl: srv.url });
      const pts = await c.fetchFunding({ symbol: 'BTCUSDT', startTime: DAY0, endTime: DAY0 + DAY_MS - 1 });
      expect(pts).toHaveLength(3);
      expect(c.activeBaseUrl).toBe(srv.url);
      const none = createFuturesClient({ ...opts(), baseUrl: blocked.url });
      const e = await errorOf(none.fetchFunding({ symbol: 'BTCUSDT', startTime: DAY0, endTime: NOW }));
      expect(e.message).toMatch(/HTTP 451.*set BINANCE_FUTURES_BASE_URL/);
    } finally {
      await blocked.close();
    }
  });

  it('funding: pages through the history and maps Binance errors', async () => {
    const c = createFuturesClient({ ...opts(), fundingPageLimit: 50 });
    const pts = await c.fetchFunding({ symbol: 'BTCUSDT', startTime: DAY0, endTime: NOW });
    expect(pts.map((p) => p.time)).toEqual(
      FUNDING.filter((r) => r.fundingTime <= NOW).map((r) => r.fundingTime),
    );
    expect(srv.requestsTo('/fapi/v1/fundingRate').length).toBeGreaterThan(3);
    const e = await errorOf(c.fetchFunding({ symbol: 'DOGEUSDT', startTime: DAY0, endTime: NOW }));
    expect(e.code).toBe('UNKNOWN_SYMBOL');
    srv.injectFault({ kind: 'bad-row' });
    expect(
      (await errorOf(c.fetchFunding({ symbol: 'BTCUSDT', startTime: DAY0, endTime: NOW }))).message,
    ).toMatch(/row 0 is malformed/);
  });

  it('statistics: only the last 30 days are asked for; an older range makes no request', async () => {
    const c = createFuturesClient(opts());
    const old = await c.fetchOpenInterest({
      symbol: 'BTCUSDT',
      startTime: NOW - 40 * DAY_MS,
      endTime: NOW - 35 * DAY_MS,
    });
    expect(old).toEqual([]);
    expect(srv.requestsTo('/futures/data/openInterestHist')).toHaveLength(0);
    const recent = await c.fetchOpenInterest({
      symbol: 'BTCUSDT',
      startTime: NOW - 40 * DAY_MS,
      endTime: NOW,
    });
    expect(recent.length).toBeGreaterThan(600);
    expect(recent[0]!.time).toBeGreaterThanOrEqual(NOW - 30 * DAY_MS);
    const req = srv.requestsTo('/futures/data/openInterestHist')[0]!;
    expect(req.params.period).toBe('1h');
    const ratio = await c.fetchLongShortRatio({
      symbol: 'BTCUSDT',
      startTime: NOW - 2 * DAY_MS,
      endTime: NOW,
    });
    expect(ratio.length).toBeGreaterThan(40);
    expect(ratio.every((p) => p.knownAt <= NOW)).toBe(true);
  });
});
