import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type FngRow,
  generateFng,
  generateFunding,
  type SentimentServer,
  startSentimentServer,
} from '../../test/helpers/sentiment-server';
import { testDrivers, useTestDatabase } from '../db/testing';
import { createFuturesClient } from './binance-futures';
import { createFngClient } from './fng';
import { createSentimentReader } from './reader';
import { createSentimentStore, FAILED_FETCH_COOLDOWN_MS, readSentimentPoints } from './store';
import { DAY_MS } from './types';
import { createSeriesTimeline } from './view';

const HOUR = 3_600_000;
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const DAY0 = Date.UTC(2023, 0, 1);
const DAYS = 500;
const NOW = DAY0 + DAYS * DAY_MS + 12 * HOUR; // noon of the day after the last full value
const FNG = generateFng({ startDay: DAY0, days: DAYS + 1 });
const FUNDING = generateFunding({ start: DAY0, count: DAYS * 3 + 2 });
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

describe.each(testDrivers())('sentiment cache and point-in-time view (%s)', (driver) => {
  const t = useTestDatabase(driver);
  let srv: SentimentServer;
  let clock = NOW;
  const clients = () => ({
    fng: createFngClient({ baseUrl: srv.url, now: () => clock, maxRetries: 0 }),
    futures: createFuturesClient({ baseUrl: srv.url, now: () => clock, maxRetries: 0 }),
  });
  const newStore = () => createSentimentStore({ db: t.db, ...clients(), symbols: SYMBOLS, now: () => clock });

  beforeAll(async () => {
    srv = await startSentimentServer({
      fng: FNG,
      funding: { BTCUSDT: FUNDING, ETHUSDT: FUNDING },
      now: () => clock,
    });
  });
  afterAll(() => srv.close());
  beforeEach(async () => {
    await t.reset();
    clock = NOW;
    srv.clearFaults();
    srv.setFng(FNG);
    srv.requests.length = 0;
  });

  it('caches a range and fetches only the missing part on the next call', async () => {
    const store = newStore();
    const a = await store.getSeries('funding', 'BTCUSDT', day('2023-03-01'), day('2023-03-31') - 1);
    expect(a.points).toHaveLength(30 * 3);
    expect(a.gaps).toEqual([]);
    const first = srv.requestsTo('/fapi/v1/fundingRate').length;
    expect(first).toBe(1);
    // Same range again: served from the database.
    await store.getSeries('funding', 'BTCUSDT', day('2023-03-01'), day('2023-03-31') - 1);
    expect(srv.requestsTo('/fapi/v1/fundingRate')).toHaveLength(first);
    // A wider range: only the new days are asked for.
    await store.getSeries('funding', 'BTCUSDT', day('2023-03-01'), day('2023-04-10') - 1);
    const last = srv.requestsTo('/fapi/v1/fundingRate').at(-1)!;
    expect(Number(last.params.startTime)).toBe(day('2023-03-31'));
  });

  it('parallel callers missing the same span ask upstream once', async () => {
    const store = newStore();
    const all = await Promise.all(
      [0, 1, 2, 3, 4].map(() => store.getSeries('funding', 'BTCUSDT', day('2023-07-01'), day('2023-07-20'))),
    );
    expect(srv.requestsTo('/fapi/v1/fundingRate')).toHaveLength(1);
    for (const r of all) expect(r.points).toHaveLength(all[0]!.points.length);
  });

  it('reports upstream holes as gaps, and asks for a settled hole only once per store', async () => {
    const holed: FngRow[] = FNG.filter((r) => {
      const d = new Date(r.timestamp * 1000).toISOString().slice(0, 10);
      return d !== '2023-05-10' && d !== '2023-05-11';
    });
    srv.setFng(holed);
    const store = newStore();
    const r = await store.getSeries('fng', 'BTCUSDT', day('2023-05-01'), day('2023-05-20'));
    expect(r.gaps).toEqual([{ afterTime: day('2023-05-09'), nextTime: day('2023-05-12'), missingPoints: 2 }]);
    expect(r.points).toHaveLength(18);
    await store.getSeries('fng', 'ETHUSDT', day('2023-05-01'), day('2023-05-20'));
    expect(srv.requestsTo('/fng/')).toHaveLength(1);
    // A new store (another process) asks again: the memory is not persisted.
    await newStore().getSeries('fng', 'BTCUSDT', day('2023-05-01'), day('2023-05-20'));
    expect(srv.requestsTo('/fng/')).toHaveLength(2);
  });

  it('never caches a value that is not final, nor a malformed answer', async () => {
    const store = newStore();
    // Today's index value is served by the API but its day has not ended.
    const r = await store.getSeries('fng', 'BTCUSDT', NOW - 5 * DAY_MS, NOW);
    expect(r.points.at(-1)!.time).toBe(Math.floor(NOW / DAY_MS) * DAY_MS - DAY_MS);
    const all = await readSentimentPoints(t.db, 'fng', 'BTCUSDT', 0, NOW + DAY_MS);
    expect(all.every((p) => p.knownAt <= NOW)).toBe(true);

    await t.reset();
    srv.injectFault({ kind: 'bad-row', path: '/fapi/v1/fundingRate' });
    await expect(store.getSeries('funding', 'BTCUSDT', day('2023-02-01'), day('2023-03-01'))).rejects.toThrow(
      /malformed/,
    );
    srv.injectFault({ kind: 'malformed-body', path: '/fapi/v1/fundingRate' });
    await expect(store.getSeries('funding', 'BTCUSDT', day('2023-02-01'), day('2023-03-01'))).rejects.toThrow(
      /not JSON/,
    );
    expect(await readSentimentPoints(t.db, 'funding', 'BTCUSDT', 0, NOW)).toEqual([]);
  });

  it('an upstream failing past the retries is not asked again for a minute: reads fail fast with its error', async () => {
    let wall = 1_000_000;
    const store = createSentimentStore({
      db: t.db,
      futures: createFuturesClient({
        baseUrl: srv.url,
        now: () => clock,
        maxRetries: 1,
        sleep: async () => {},
      }),
      symbols: SYMBOLS,
      now: () => clock,
      clock: () => wall,
    });
    srv.injectFault({ kind: 'server-error', status: 503, times: 2, path: '/fapi/v1/fundingRate' });
    const read = () => store.getSeries('funding', 'BTCUSDT', day('2023-02-01'), day('2023-03-01'));
    await expect(read()).rejects.toMatchObject({ code: 'UPSTREAM_SENTIMENT', details: { attempts: 2 } });
    const asked = srv.requestsTo('/fapi/v1/fundingRate').length;
    expect(asked).toBe(2);
    // Within the cool-down: the same error at once, nothing asked.
    wall += FAILED_FETCH_COOLDOWN_MS - 1;
    await expect(read()).rejects.toMatchObject({ code: 'UPSTREAM_SENTIMENT' });
    expect(srv.requestsTo('/fapi/v1/fundingRate')).toHaveLength(asked);
    // After it: asked again (the upstream is back) and served.
    wall += 2;
    const r = await read();
    expect(r.points.length).toBeGreaterThan(0);
    expect(srv.requestsTo('/fapi/v1/fundingRate').length).toBeGreaterThan(asked);
  });

  it('point in time: F&G of day D is visible from D+1 00:00, a funding rate only after its time', async () => {
    const store = newStore();
    const fng = await store.getSeries('fng', 'BTCUSDT', day('2023-06-01'), day('2023-06-10'));
    const view = createSeriesTimeline(fng.points);
    expect(new Date(view.at(day('2023-06-05')).last()!.time).toISOString().slice(0, 10)).toBe('2023-06-04');
    expect(new Date(view.at(day('2023-06-05') - 1).last()!.time).toISOString().slice(0, 10)).toBe(
      '2023-06-03',
    );
    const funding = await store.getSeries('funding', 'BTCUSDT', day('2023-06-01'), day('2023-06-10'));
    const fv = createSeriesTimeline(funding.points);
    const t8 = day('2023-06-05') + 8 * HOUR;
    expect(fv.at(t8).last()!.time).toBe(day('2023-06-05'));
    expect(fv.at(t8 + 1).last()!.time).toBe(t8);
  });

  it('truncation: the summary at t is identical with every value after t removed upstream', async () => {
    const reader = createSentimentReader(newStore(), ['fng', 'funding', 'static']);
    const tDecision = day('2024-02-10') + 4 * HOUR;
    const full = await reader.summaryAt('BTCUSDT', tDecision);
    // Warm the cache with the later data too, so the full run's database holds values after t.
    await newStore().getSeries('fng', 'BTCUSDT', tDecision, NOW);
    await newStore().getSeries('funding', 'BTCUSDT', tDecision, NOW);
    const again = await createSentimentReader(newStore(), ['fng', 'funding', 'static']).summaryAt(
      'BTCUSDT',
      tDecision,
    );
    expect(again).toEqual(full);

    await t.reset();
    srv.setFng(FNG.filter((r) => r.timestamp * 1000 < tDecision));
    srv.setFunding(
      'BTCUSDT',
      FUNDING.filter((r) => r.fundingTime < tDecision),
    );
    try {
      const cut = await createSentimentReader(newStore(), ['fng', 'funding', 'static']).summaryAt(
        'BTCUSDT',
        tDecision,
      );
      expect(cut).toEqual(full);
      expect(full.fearGreed?.percentile1y).not.toBeNull();
      expect(full.funding?.mean7dPct).toBeTypeOf('number');
      expect(full.missing).toEqual({});
    } finally {
      srv.setFunding('BTCUSDT', FUNDING);
    }
  });

  it('each source fails on its own, with the reason recorded', async () => {
    srv.injectFault({ kind: 'server-error', path: '/fng/', times: 5 });
    const s = await createSentimentReader(newStore(), [
      'fng',
      'funding',
      'open_interest',
      'static',
    ]).summaryAt('BTCUSDT', day('2024-01-10'));
    expect(s.fearGreed).toBeUndefined();
    expect(s.missing.fng).toMatch(
      /^UPSTREAM_SENTIMENT: Fear & Greed \/fng\/ failed after 1 attempts: HTTP 500/,
    );
    expect(s.funding).toBeDefined();
    // Open interest older than Binance's 30-day window: missing, never asked.
    expect(s.missing.open_interest).toMatch(/no .*open interest.*last 30 days upstream/);
    expect(srv.requestsTo('/futures/data/openInterestHist')).toHaveLength(0);
  });

  it('a stale series is missing rather than shown as current', async () => {
    const store = newStore();
    srv.setFng(FNG.filter((r) => r.timestamp * 1000 < day('2023-09-01')));
    const s = await createSentimentReader(store, ['fng']).summaryAt('BTCUSDT', day('2023-09-10'));
    expect(s.missing.fng).toMatch(/is 2\d\d h old/);
  });
});
