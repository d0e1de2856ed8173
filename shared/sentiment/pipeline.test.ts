/**
 * The sentiment analyst inside the real pipeline (offline provider, PGlite, the local Fear & Greed and
 * Binance futures servers): ok on a live decision when the sources answer, each source missing on its
 * own, unavailable only when all are, and a backtest decision never asking for anything at or after t.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKlines } from '../../test/helpers/binance-server';
import {
  generateFng,
  generateFunding,
  type SentimentServer,
  startSentimentServer,
} from '../../test/helpers/sentiment-server';
import type { DecisionSnapshot } from '../agents/inputs';
import { decisions } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { klineToCandle } from '../market/kline';
import { runAnalysis } from '../pipeline/analysis';
import type { PipelineDeps } from '../pipeline/deps';
import { offlineTestDeps } from '../pipeline/testing';
import { createFuturesClient } from './binance-futures';
import { createFngClient } from './fng';
import { createSentimentReader } from './reader';
import { createSentimentStore } from './store';
import type { SentimentSourceName } from './types';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2025, 5, 1, 9, 30);
const START = NOW - 2200 * 4 * HOUR;
const CANDLES = generateKlines({
  timeframe: '4h',
  start: Math.floor(START / (4 * HOUR)) * 4 * HOUR,
  count: 2200,
})
  .filter((k) => k.closeTime < NOW)
  .map(klineToCandle);
const FROM = NOW - 500 * DAY;

describe.each(testDrivers())('sentiment analyst in the pipeline (%s)', (driver) => {
  const t = useTestDatabase(driver);
  let srv: SentimentServer;

  function deps(sources: SentimentSourceName[] = ['fng', 'funding', 'static']): PipelineDeps {
    const base = offlineTestDeps({ db: t.db, candles: { BTCUSDT: { '4h': CANDLES } }, now: NOW });
    const now = () => NOW;
    const store = createSentimentStore({
      db: t.db,
      fng: createFngClient({ baseUrl: srv.url, now, maxRetries: 0 }),
      futures: createFuturesClient({ baseUrl: srv.url, now, maxRetries: 0 }),
      symbols: base.settings.SYMBOLS,
      now,
    });
    return { ...base, sentiment: createSentimentReader(store, sources) };
  }

  beforeAll(async () => {
    srv = await startSentimentServer({
      fng: generateFng({ startDay: Math.floor(FROM / DAY) * DAY, days: 501 }),
      funding: { BTCUSDT: generateFunding({ start: Math.floor(FROM / DAY) * DAY, count: 1503 }) },
      now: () => NOW,
    });
  });
  afterAll(() => srv.close());
  beforeEach(async () => {
    await t.reset();
    srv.clearFaults();
    srv.requests.length = 0;
  });

  it('a live analysis today has its sentiment analyst ok, naming its sources', async () => {
    const a = await runAnalysis(deps(), { symbol: 'BTCUSDT', timeframe: '4h', mode: 'live' });
    expect(a.error).toBeNull();
    expect(a.status).toBe('completed');
    const s = a.agents.sentiment!;
    expect(s.status).toBe('ok');
    const out = s.output as { data_note: string; reasons: string[] };
    expect(out.data_note).toMatch(/Fear & Greed/);
    expect(out.data_note).toMatch(/funding/);
    expect(out.data_note).not.toMatch(/missing/);
    expect(out.reasons.join(' ')).toMatch(/Fear & Greed \d+/);
    const [row] = await t.db.select().from(decisions).where(eq(decisions.id, a.id));
    const snap = row!.snapshot as DecisionSnapshot;
    expect(snap.sentiment?.fearGreed?.value).toBeTypeOf('number');
    expect(snap.sentiment?.funding?.latestPct).toBeTypeOf('number');
  });

  it('one source failing leaves the others; all failing makes the analyst unavailable with every reason', async () => {
    srv.injectFault({ kind: 'server-error', path: '/fng/', times: Number.POSITIVE_INFINITY });
    const a = await runAnalysis(deps(['fng', 'funding']), {
      symbol: 'BTCUSDT',
      timeframe: '4h',
      mode: 'live',
    });
    expect(a.agents.sentiment!.status).toBe('ok');
    expect((a.agents.sentiment!.output as { data_note: string }).data_note).toMatch(/missing: fng/);

    srv.injectFault({
      kind: 'slow',
      delayMs: 2000,
      path: '/fapi/v1/fundingRate',
      times: Number.POSITIVE_INFINITY,
    });
    const d = deps(['fng', 'funding']);
    const store = createSentimentStore({
      db: t.db,
      fng: createFngClient({ baseUrl: srv.url, now: () => NOW, maxRetries: 0 }),
      futures: createFuturesClient({ baseUrl: srv.url, now: () => NOW, maxRetries: 0, timeoutMs: 100 }),
      symbols: d.settings.SYMBOLS,
      now: () => NOW,
    });
    await t.reset();
    const b = await runAnalysis(
      { ...d, sentiment: createSentimentReader(store, ['fng', 'funding']) },
      { symbol: 'BTCUSDT', timeframe: '4h', mode: 'live' },
    );
    expect(b.agents.sentiment!.status).toBe('unavailable');
    expect(b.agents.sentiment!.reason).toMatch(/fng: UPSTREAM_SENTIMENT: .*HTTP 500/);
    expect(b.agents.sentiment!.reason).toMatch(/funding: UPSTREAM_SENTIMENT: .*timed out after 100 ms/);
    // The decision itself went on: the other analysts decided.
    expect(b.agents.technical!.status).toBe('ok');
  });

  it('a backtest decision never asks upstream for anything at or after its time', async () => {
    const at = NOW - 60 * DAY;
    const a = await runAnalysis(deps(), {
      symbol: 'BTCUSDT',
      timeframe: '4h',
      mode: 'backtest_step',
      timestamp: at,
    });
    expect(a.agents.sentiment!.status).toBe('ok');
    const funding = srv.requestsTo('/fapi/v1/fundingRate');
    expect(funding.length).toBeGreaterThan(0);
    for (const r of funding) expect(Number(r.params.endTime)).toBeLessThan(at);
    const [row] = await t.db.select().from(decisions).where(eq(decisions.id, a.id));
    const snap = row!.snapshot as DecisionSnapshot;
    expect(snap.sentiment?.fearGreed?.ageDays).toBe(0);
  });
});
