/**
 * Market sentiment over HTTP (the local host, the local Fear & Greed and Binance futures servers with
 * synthetic series, the team's real candles): the series route, and a live analysis on "today" (the
 * harness clock) whose sentiment analyst is ok, then unavailable with the reasons when every source fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_DATA, type Harness, SKIP_REASON, startHarness, TEST_NOW } from './harness';

describe.skipIf(!HAS_DATA)(`market sentiment through the API ${HAS_DATA ? '' : SKIP_REASON}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workflows: 'inprocess' });
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('GET /market/{symbol}/sentiment serves the index and funding series with the summary', async () => {
    const r = await h.get('/market/BTCUSDT/sentiment?timeframe=4h&limit=60');
    expect(r.status).toBe(200);
    expect(r.body.sources).toEqual(['fng', 'funding', 'static']);
    const fng = r.body.series.fng;
    // 60 x 4h = 10 days; the newest value is yesterday's (today's is not final yet).
    expect(fng.points.length).toBeGreaterThanOrEqual(9);
    expect(fng.points.at(-1).time).toBe(TEST_NOW - 86_400_000);
    expect(fng.points.every((p: { knownAt: number }) => p.knownAt <= TEST_NOW)).toBe(true);
    expect(r.body.series.funding.points.length).toBeGreaterThanOrEqual(29);
    expect(r.body.summary.fearGreed.value).toBe(fng.points.at(-1).value);
    expect(r.body.summary.funding.latestPct).toBeTypeOf('number');
    expect(r.body.summary.missing).toEqual({});
  });

  it('validates like the other market routes', async () => {
    expect((await h.get('/market/DOGEUSDT/sentiment')).body.error.code).toBe('UNKNOWN_SYMBOL');
    const bad = await h.get('/market/BTCUSDT/sentiment?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/limit/);
  });

  it('a live analysis today has its sentiment analyst ok; a failing source is named missing, the others count', async () => {
    const ok = await h.post('/analyze', { symbol: 'ETHUSDT', timeframe: '4h' });
    expect(ok.status).toBe(200);
    expect(ok.body.agents.sentiment.status).toBe('ok');
    expect(ok.body.agents.sentiment.output.data_note).toMatch(/Fear & Greed/);
    expect(ok.body.agents.sentiment.output.data_note).toMatch(/funding/);

    // Every upstream request now fails. The index (market-wide) is already cached for this decision
    // time; SOLUSDT's funding is not, so it is missing for this decision, with the reason.
    h.sentiment.injectFault({ kind: 'server-error', times: Number.POSITIVE_INFINITY });
    try {
      const down = await h.post('/analyze', { symbol: 'SOLUSDT', timeframe: '4h' });
      expect(down.status).toBe(200);
      const s = down.body.agents.sentiment;
      expect(s.status).toBe('ok');
      expect(s.output.data_note).toMatch(/sources: Crypto Fear & Greed/);
      expect(s.output.data_note).toMatch(/missing: .*funding/);
      expect(down.body.agents.technical.status).toBe('ok');
    } finally {
      h.sentiment.clearFaults();
    }
  });
});
