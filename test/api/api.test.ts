/**
 * The REST API over HTTP against the local host (one host for the file): every endpoint's happy path,
 * the error contract (404/405/malformed JSON, no stack traces), and a table of 100+ bad inputs, each a
 * 4xx whose message or details name the field, after which the live portfolio and trades are unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  analysisSchema,
  backtestAcceptedSchema,
  candlesResponseSchema,
  costsResponseSchema,
  dailyCostsResponseSchema,
  latestResponseSchema,
} from '../../shared/api/contract';
import { HAS_DATA, type Harness, SKIP_REASON, startHarness, TEST_NOW } from './harness';

describe.skipIf(!HAS_DATA)(`REST API over HTTP ${HAS_DATA ? '' : SKIP_REASON}`, () => {
  let h: Harness;
  beforeAll(async () => {
    // BACKTEST_MAX_DECISIONS below the API's ceiling, so a request between the two is refused by the setting.
    h = await startHarness({
      workflows: 'inprocess',
      withHourly: 2000,
      env: { BACKTEST_MAX_DECISIONS: '500' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  describe('happy paths', () => {
    it('GET /health', async () => {
      const r = await h.get('/health');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'ok' });
      expect(r.headers.get('x-request-id')).toBeTruthy();
    });

    it('GET /market/symbols lists the configured symbols and timeframes', async () => {
      const r = await h.get('/market/symbols');
      expect(r.status).toBe(200);
      expect(r.body.symbols.map((s: { symbol: string }) => s.symbol)).toEqual([
        'BTCUSDT',
        'ETHUSDT',
        'SOLUSDT',
      ]);
      expect(r.body.timeframes).toContain('4h');
    });

    it('GET /market/{symbol}/latest returns real candles with warm indicators', async () => {
      const r = await h.get('/market/BTCUSDT/latest?timeframe=4h&limit=5');
      expect(r.status).toBe(200);
      const body = latestResponseSchema.parse(r.body);
      expect(body.candles).toHaveLength(5);
      // The data's last 4h bar opens 2025-12-31 20:00 UTC and closes 87648.22.
      expect(body.candles.at(-1)?.time).toBe(Date.parse('2025-12-31T20:00:00Z'));
      expect(body.price).toBe(87648.22);
      expect(body.indicators.ema200).not.toBeNull();
      expect(body.indicators.rsi14).toBeGreaterThan(0);
      expect(body.indicators.rsi14).toBeLessThan(100);
    });

    it('GET /market/{symbol}/latest defaults to 1h and 200 candles', async () => {
      const r = await h.get('/market/BTCUSDT/latest');
      expect(r.status).toBe(200);
      expect(r.body.timeframe).toBe('1h');
      expect(r.body.candles).toHaveLength(200);
    });

    it('GET /market/{symbol}/candles serves a past period, bounded and clipped', async () => {
      const r = await h.get('/market/BTCUSDT/candles?timeframe=4h&start=2024-01-01&end=2024-01-31T20:00:00Z');
      expect(r.status).toBe(200);
      const body = candlesResponseSchema.parse(r.body);
      expect(body.candles).toHaveLength(31 * 6);
      expect(body.candles[0]!.time).toBe(Date.parse('2024-01-01T00:00:00Z'));
      expect(body.candles.at(-1)!.time).toBe(Date.parse('2024-01-31T20:00:00Z'));
      expect(body.gaps).toEqual([]);
      // Without an end: as many bars as allowed from start.
      const open = await h.get('/market/BTCUSDT/candles?timeframe=4h&start=2024-01-01');
      expect(open.body.candles).toHaveLength(1000);
      // Clipped to the last closed bar (the data's last 4h bar opens 2025-12-31 20:00).
      const recent = await h.get('/market/BTCUSDT/candles?timeframe=4h&start=2025-12-30&end=2026-01-01');
      expect(recent.body.candles.at(-1).time).toBe(Date.parse('2025-12-31T20:00:00Z'));
      expect(recent.body.end).toBe('2025-12-31T20:00:00.000Z');
    });

    it('POST /analyze backtest_step answers the finished analysis, using data up to the timestamp only', async () => {
      const r = await h.post('/analyze', {
        symbol: 'ETHUSDT',
        mode: 'backtest_step',
        timeframe: '4h',
        timestamp: '2024-06-01T00:00:00Z',
      });
      expect(r.status).toBe(200);
      const a = analysisSchema.parse(r.body);
      expect(a.mode).toBe('backtest_step');
      expect(a.decisionTime).toBe('2024-06-01T00:00:00.000Z');
      expect(a.execution).toBeNull();
      expect(a.agents.technical?.status).toBe('ok');
      const again = await h.get(`/analyses/${a.id}`);
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(a.id);
    });

    it('POST /analyze with wait:false answers 202 with a poll URL that resolves', async () => {
      const r = await h.post('/analyze', {
        symbol: 'BTCUSDT',
        mode: 'backtest_step',
        timeframe: '4h',
        timestamp: '2024-03-01',
        wait: false,
      });
      expect(r.status).toBe(202);
      expect(r.body.poll).toBe(`/analyses/${r.body.id}`);
      const deadline = Date.now() + 30_000;
      let status = r.body.status;
      while (
        !['completed', 'no_trade', 'failed', 'budget_exceeded'].includes(status) &&
        Date.now() < deadline
      ) {
        await new Promise((ok) => setTimeout(ok, 50));
        status = (await h.get(r.body.poll)).body.status;
      }
      expect(status).toBe('completed');
    });

    it('POST /analyze with decision_mode consensus answers the votes; a bad mode is a 400 naming the field', async () => {
      const r = await h.post('/analyze', {
        symbol: 'BTCUSDT',
        mode: 'backtest_step',
        timeframe: '4h',
        timestamp: '2024-03-01',
        decision_mode: 'consensus',
      });
      expect(r.status).toBe(200);
      expect(r.body.decisionMode).toBe('consensus');
      expect(r.body.consensus).toMatchObject({
        voters: ['technical', 'sentiment', 'tokenomics', 'researcher'],
      });
      expect(r.body.consensus.voted).toBe(r.body.consensus.votes.length);
      const bad = await h.post('/analyze', { symbol: 'BTCUSDT', decision_mode: 'vote' });
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toContain('decision_mode must be pipeline or consensus');
    });

    it('GET /analyses lists newest first with a working cursor', async () => {
      const first = await h.get('/analyses?limit=1');
      expect(first.status).toBe(200);
      expect(first.body.items).toHaveLength(1);
      expect(first.body.nextCursor).toBeTruthy();
      const second = await h.get(`/analyses?limit=1&cursor=${first.body.nextCursor}`);
      expect(second.status).toBe(200);
      expect(second.body.items).toHaveLength(1);
      expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
      expect(first.body.items[0].createdAt >= second.body.items[0].createdAt).toBe(true);
    });

    it('GET /portfolio, /portfolio/history and /trades answer the live book', async () => {
      const p = await h.get('/portfolio');
      expect(p.status).toBe(200);
      expect(p.body.runId).toBe('live');
      expect(p.body.initialCash).toBe(10_000);
      const hist = await h.get('/portfolio/history');
      expect(hist.status).toBe(200);
      expect(Array.isArray(hist.body.points)).toBe(true);
      const t = await h.get('/trades?limit=10');
      expect(t.status).toBe(200);
      expect(Array.isArray(t.body.items)).toBe(true);
    });

    it('every completed live analysis records an equity snapshot: GET /portfolio/history grows', async () => {
      const before = (await h.get('/portfolio/history')).body.points.length;
      const analyses = [];
      for (const symbol of ['ETHUSDT', 'BTCUSDT']) {
        const r = await h.post('/analyze', { symbol, timeframe: '4h' });
        expect(r.status).toBe(200);
        expect(r.body.status).toBe('completed');
        analyses.push(analysisSchema.parse(r.body));
      }
      const hist = await h.get('/portfolio/history');
      expect(hist.body.points).toHaveLength(before + 2);
      // The newest point is the book as the last analysis valued it.
      const last = hist.body.points.at(-1);
      expect(last.equity).toBeCloseTo(analyses[1]!.portfolio!.equity, 6);
      expect(last.timestamp).toBe(new Date(TEST_NOW).toISOString());
      // Clamps say what their amounts are in: % of equity for sizing, an asset for order rules.
      const clamps = analyses.flatMap((a) => [
        ...(a.final?.clamps ?? []),
        ...(a.execution?.trade?.clamps ?? []),
      ]);
      // The offline rules buy ETH here; the order's quantity is floored to the lot step (a LOT_SIZE clamp).
      expect(clamps.length).toBeGreaterThan(0);
      for (const c of clamps) expect(['pct_of_equity', 'USDT', 'ETH', 'BTC']).toContain(c.unit);
      for (const c of clamps) expect(c.reason).not.toMatch(/\((USDT|ETH|BTC)\)$/);
    });

    it('GET /costs reports the day against the budget', async () => {
      const r = await h.get('/costs');
      expect(r.status).toBe(200);
      const c = costsResponseSchema.parse(r.body);
      expect(c.provider).toBe('offline');
      expect(c.budget.tokens).toBe(2_000_000);
      expect(c.byAgent.map((a) => a.agent)).toContain('technical');
      expect(c.usdBudget).toBeNull();
    });

    it('GET /costs/daily answers 30 UTC days by agent by default; days is bounded', async () => {
      const r = await h.get('/costs/daily');
      expect(r.status).toBe(200);
      const d = dailyCostsResponseSchema.parse(r.body);
      expect(d.series).toHaveLength(30);
      expect(d.usdBudget).toBeNull();
      const today = d.series.at(-1)!;
      expect(today.byAgent.map((a) => a.agent)).toContain('technical');
      expect(today.calls).toBeGreaterThan(0);
      expect((await h.get('/costs/daily?days=7')).body.series).toHaveLength(7);
      const bad = await h.get('/costs/daily?days=91');
      expect(bad.status).toBe(400);
      expect(bad.body.error.message).toBe('days must be a whole number from 1 to 90');
    });

    it('POST /backtest answers 202 with the estimate; the backtest completes with metrics and its own trades', async () => {
      const r = await h.post('/backtest', {
        symbol: 'BTCUSDT',
        start_date: '2024-01-01',
        end_date: '2024-02-01',
        timeframe: '4h',
        max_decisions: 12,
        decision_interval: 4,
      });
      expect(r.status).toBe(202);
      const accepted = backtestAcceptedSchema.parse(r.body);
      expect(accepted.estimate.decisions).toBe(12);
      expect(accepted.estimate.costUsd).toBe(0);
      const deadline = Date.now() + 60_000;
      let b = (await h.get(accepted.poll)).body;
      while ((b.status === 'pending' || b.status === 'running') && Date.now() < deadline) {
        await new Promise((ok) => setTimeout(ok, 100));
        b = (await h.get(accepted.poll)).body;
      }
      expect(b.status).toBe('succeeded');
      expect(b.progress).toEqual({ done: 12, total: 12 });
      expect(b.result.decisions).toHaveLength(12);
      expect(b.result.equityCurve.length).toBeGreaterThan(12);
      // Buy and hold beside the strategy: the same timestamps, ending at its summary's final equity.
      const bh = b.result.buyAndHoldCurve as { timestamp: string; equity: number }[];
      expect(bh.map((p) => p.timestamp)).toEqual(
        b.result.equityCurve.map((p: { timestamp: string }) => p.timestamp),
      );
      expect(bh.at(-1)!.equity).toBeCloseTo(b.result.buyAndHold.finalEquity, 6);
      expect(bh[0]!.equity).toBe(10_000);
      expect(b.result.metrics.finalEquity).toBeGreaterThan(0);
      expect(b.result.assumptions.join(' ')).toMatch(/fee/);
      for (const t of b.result.trades) expect(t.runId).toBe(accepted.id);
      const list = await h.get('/backtests');
      expect(list.body.items.map((x: { id: string }) => x.id)).toContain(accepted.id);
      expect(list.body.items[0].result).toBeUndefined();
      // Its trades live in its own book, readable with run_id, and never in the live book.
      const own = await h.get(`/trades?run_id=${accepted.id}&limit=200`);
      expect(own.body.items.length).toBe(b.result.trades.length);
      const live = await h.get('/trades?limit=200');
      expect(live.body.items.every((t: { runId: string }) => t.runId === 'live')).toBe(true);
      // Its outcomes: one per closed lot of its own book, with the aggregates over all of them.
      const out = await h.get(`/outcomes?run_id=${accepted.id}&limit=2`);
      expect(out.status).toBe(200);
      expect(out.body.runId).toBe(accepted.id);
      expect(out.body.items.length).toBeLessThanOrEqual(2);
      expect(out.body.aggregates.count).toBeGreaterThanOrEqual(out.body.items.length);
      for (const o of out.body.items) expect(o.runId).toBe(accepted.id);
      if (out.body.aggregates.count > 2) {
        const next = await h.get(`/outcomes?run_id=${accepted.id}&limit=2&cursor=${out.body.nextCursor}`);
        expect(next.status).toBe(200);
        expect(next.body.items[0].id).not.toBe(out.body.items[0].id);
      }
      expect((await h.get('/outcomes?run_id=nope')).status).toBe(404);
      const bad = await h.get('/outcomes?cursor=xyz');
      expect(bad.status).toBe(400);
      expect(bad.body.error.details.field).toBe('cursor');
    });

    it('serves /openapi.json (3.1, every route) and a self-contained /docs page', async () => {
      const r = await h.get('/openapi.json');
      expect(r.status).toBe(200);
      expect(r.body.openapi).toBe('3.1.0');
      for (const p of [
        '/analyze',
        '/backtests/{id}',
        '/market/{symbol}/latest',
        '/market/{symbol}/candles',
        '/costs',
        '/trades',
      ]) {
        expect(Object.keys(r.body.paths)).toContain(p);
      }
      const maxDecisions =
        r.body.paths['/backtest'].post.requestBody.content['application/json'].schema.properties
          .max_decisions;
      expect(maxDecisions).toMatchObject({ type: 'integer', minimum: 1, maximum: 2000 });
      const backtestBody = r.body.paths['/backtest'].post.requestBody.content['application/json'].schema;
      // optional, and documented: omitted, the decisions are spread evenly over the range
      expect(backtestBody.required).not.toContain('decision_interval');
      expect(backtestBody.properties.decision_interval.description).toMatch(
        /spread evenly over the range: N = max\(1, floor\(barsInRange \/ max_decisions\)\)/,
      );
      expect(r.body.paths['/analyze'].post.responses).toHaveProperty('422');
      const docs = await h.raw('GET', '/docs');
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/text\/html/);
      const html = await docs.text();
      expect(html).toContain('openapi.json');
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href="http/);
    });
  });

  describe('error contract', () => {
    it('unknown routes answer 404 JSON', async () => {
      const r = await h.get('/no/such/route');
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('NOT_FOUND');
    });

    it('a wrong method answers 405 with Allow', async () => {
      const r = await h.raw('DELETE', '/portfolio');
      expect(r.status).toBe(405);
      expect(r.headers.get('allow')).toBe('GET');
      expect((await r.json()).error.code).toBe('METHOD_NOT_ALLOWED');
      const g = await h.get('/analyze');
      expect(g.status).toBe(405);
    });

    it('malformed JSON answers 400 naming the body', async () => {
      const r = await h.post('/analyze', '{"symbol": "BTCUSDT",');
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_ERROR');
      expect(r.body.error.details.field).toBe('body');
    });

    it('an unknown analysis is a 404, never a stack trace', async () => {
      const r = await h.get('/analyses/6f1c9d55-8c53-4c1b-9a43-3f2a8e0d7b11');
      expect(r.status).toBe(404);
      expect(JSON.stringify(r.body)).not.toMatch(/at .*\.ts:\d+/);
    });

    it('a Binance failure answers 502 saying Binance', async () => {
      h.binance.injectFault({ kind: 'server-error', status: 500, times: 20 });
      try {
        const r = await h.get('/market/ETHUSDT/latest?timeframe=1h&limit=5');
        expect([502, 503]).toContain(r.status);
        expect(r.body.error.message).toMatch(/binance/i);
        expect(JSON.stringify(r.body)).not.toMatch(/\.ts:\d+|node_modules/);
      } finally {
        h.binance.clearFaults();
      }
    });
  });

  describe('bad input corpus', () => {
    const future = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const okBacktest = {
      symbol: 'BTCUSDT',
      start_date: '2024-01-01',
      end_date: '2024-02-01',
      timeframe: '4h',
      max_decisions: 10,
    };
    type Case = {
      name: string;
      method: 'GET' | 'POST';
      path: string;
      body?: unknown;
      field: string;
      status?: number;
      /** What the message must say, where the wording itself was a defect. */
      message?: RegExp;
      /** Request headers (they override the JSON content type the harness sends). */
      headers?: Record<string, string>;
    };
    /** zod's own wording: never shown to a user (every schema states its rule in words). */
    const RAW_ZOD_WORDING = /Invalid input|Invalid option|Too (big|small)|expected \w+, received/;
    const LIMIT_1000 = /^limit must be a whole number from 1 to 1000$/;
    const cases: Case[] = [
      // POST /analyze
      { name: 'analyze: empty body', method: 'POST', path: '/analyze', body: {}, field: 'symbol' },
      {
        name: 'analyze: symbol a number',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 42 },
        field: 'symbol',
      },
      {
        name: 'analyze: lower-case symbol',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'btcusdt' },
        field: 'symbol',
      },
      {
        name: 'analyze: symbol with a dash',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTC-USDT' },
        field: 'symbol',
      },
      {
        name: 'analyze: unsupported symbol',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'DOGEUSDT' },
        field: 'symbol',
      },
      {
        name: 'analyze: symbol too long',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'A'.repeat(30) },
        field: 'symbol',
      },
      {
        name: 'analyze: bad mode',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', mode: 'paper' },
        field: 'mode',
      },
      {
        name: 'analyze: bad timeframe',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', timeframe: '3h' },
        field: 'timeframe',
      },
      {
        name: 'analyze: timeframe a number',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', timeframe: 4 },
        field: 'timeframe',
      },
      {
        name: 'analyze: step without timestamp',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', mode: 'backtest_step' },
        field: 'timestamp',
      },
      {
        name: 'analyze: live with timestamp',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', timestamp: '2024-01-01' },
        field: 'timestamp',
      },
      {
        name: 'analyze: future timestamp',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', mode: 'backtest_step', timestamp: future },
        field: 'timestamp',
      },
      {
        name: 'analyze: not a date',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', mode: 'backtest_step', timestamp: 'yesterday' },
        field: 'timestamp',
      },
      {
        name: 'analyze: impossible date',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', mode: 'backtest_step', timestamp: '2024-02-30T00:00:00Z' },
        field: 'timestamp',
      },
      {
        name: 'analyze: timestamp before any candle (1970)',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', mode: 'backtest_step', timestamp: '1970-01-01T00:00:00Z' },
        field: 'timestamp',
        status: 422,
        message: /^timestamp: not enough BTCUSDT 1h market data before 1970-01-01T00:00:00\.000Z/,
      },
      {
        name: 'analyze: timestamp before the warm-up is possible',
        method: 'POST',
        path: '/analyze',
        body: {
          symbol: 'BTCUSDT',
          mode: 'backtest_step',
          timeframe: '4h',
          timestamp: '2017-09-01T00:00:00Z',
        },
        field: 'timestamp',
        status: 422,
      },
      {
        name: 'analyze: wait not boolean',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', wait: 'yes' },
        field: 'wait',
      },
      {
        name: 'analyze: unknown field',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', leverage: 10 },
        field: 'leverage',
      },
      {
        name: 'analyze: body an array',
        method: 'POST',
        path: '/analyze',
        body: [{ symbol: 'BTCUSDT' }],
        field: 'body',
      },
      { name: 'analyze: body a string', method: 'POST', path: '/analyze', body: '"BTCUSDT"', field: 'body' },
      {
        name: 'analyze: malformed JSON',
        method: 'POST',
        path: '/analyze',
        body: '{symbol:BTCUSDT}',
        field: 'body',
      },
      // POST /backtest
      { name: 'backtest: empty body', method: 'POST', path: '/backtest', body: {}, field: 'symbol' },
      {
        name: 'backtest: unsupported symbol',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, symbol: 'XRPUSDT' },
        field: 'symbol',
      },
      {
        name: 'backtest: missing start_date',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, start_date: undefined },
        field: 'start_date',
      },
      {
        name: 'backtest: missing end_date',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, end_date: undefined },
        field: 'end_date',
      },
      {
        name: 'backtest: start_date garbage',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, start_date: '01/02/2024' },
        field: 'start_date',
      },
      {
        name: 'backtest: end_date impossible',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, end_date: '2024-13-01' },
        field: 'end_date',
      },
      {
        name: 'backtest: end before start',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, start_date: '2024-03-01', end_date: '2024-02-01' },
        field: 'end_date',
      },
      {
        name: 'backtest: end equals start',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, end_date: '2024-01-01' },
        field: 'end_date',
      },
      {
        name: 'backtest: end in the future',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, end_date: future },
        field: 'end_date',
      },
      {
        name: 'backtest: range too long',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, start_date: '2019-01-01', end_date: '2024-01-01' },
        field: 'end_date',
      },
      {
        name: 'backtest: bad timeframe',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, timeframe: '1w' },
        field: 'timeframe',
      },
      {
        name: 'backtest: max_decisions missing',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, max_decisions: undefined },
        field: 'max_decisions',
      },
      {
        name: 'backtest: max_decisions zero',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, max_decisions: 0 },
        field: 'max_decisions',
      },
      {
        name: 'backtest: max_decisions negative',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, max_decisions: -5 },
        field: 'max_decisions',
      },
      {
        name: 'backtest: max_decisions fractional',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, max_decisions: 2.5 },
        field: 'max_decisions',
      },
      {
        name: 'backtest: max_decisions a string',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, max_decisions: '10' },
        field: 'max_decisions',
      },
      {
        name: 'backtest: max_decisions over 2000',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, max_decisions: 5000 },
        field: 'max_decisions',
      },
      {
        name: 'backtest: max_decisions over the setting',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, max_decisions: 900 },
        field: 'max_decisions',
      },
      {
        name: 'backtest: decision_interval zero',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, decision_interval: 0 },
        field: 'decision_interval',
      },
      {
        name: 'backtest: decision_interval fractional',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, decision_interval: 1.5 },
        field: 'decision_interval',
      },
      {
        name: 'backtest: bad fill',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, fill: 'same_close' },
        field: 'fill',
      },
      {
        name: 'backtest: negative fee',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, fee_bps: -1 },
        field: 'fee_bps',
      },
      {
        name: 'backtest: slippage too high',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, slippage_bps: 500 },
        field: 'slippage_bps',
      },
      {
        name: 'backtest: unknown field',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, leverage: 3 },
        field: 'leverage',
      },
      {
        name: 'backtest: no warm-up data before 2018',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, start_date: '2018-01-01', end_date: '2018-02-01' },
        field: 'start_date',
        status: 422,
      },
      // query and path parameters
      { name: 'latest: lower-case symbol', method: 'GET', path: '/market/btcusdt/latest', field: 'symbol' },
      { name: 'latest: unsupported symbol', method: 'GET', path: '/market/DOGEUSDT/latest', field: 'symbol' },
      {
        name: 'latest: bad timeframe',
        method: 'GET',
        path: '/market/BTCUSDT/latest?timeframe=2d',
        field: 'timeframe',
      },
      { name: 'latest: limit zero', method: 'GET', path: '/market/BTCUSDT/latest?limit=0', field: 'limit' },
      {
        name: 'latest: limit too big',
        method: 'GET',
        path: '/market/BTCUSDT/latest?limit=100000',
        field: 'limit',
      },
      {
        name: 'latest: limit not a number',
        method: 'GET',
        path: '/market/BTCUSDT/latest?limit=ten',
        field: 'limit',
      },
      { name: 'analyses: id not a uuid', method: 'GET', path: '/analyses/42', field: 'id' },
      { name: 'analyses: limit over 200', method: 'GET', path: '/analyses?limit=201', field: 'limit' },
      {
        name: 'analyses: forged cursor',
        method: 'GET',
        path: '/analyses?cursor=bm90LWEtY3Vyc29y',
        field: 'cursor',
      },
      { name: 'backtests: id not a uuid', method: 'GET', path: '/backtests/abc', field: 'id' },
      {
        name: 'backtests: unknown id',
        method: 'GET',
        path: '/backtests/6f1c9d55-8c53-4c1b-9a43-3f2a8e0d7b11',
        field: 'id',
        status: 404,
      },
      { name: 'trades: limit negative', method: 'GET', path: '/trades?limit=-1', field: 'limit' },
      { name: 'trades: bad symbol filter', method: 'GET', path: '/trades?symbol=btc', field: 'symbol' },
      { name: 'trades: forged cursor', method: 'GET', path: '/trades?cursor=zzz', field: 'cursor' },
      {
        name: 'trades: unknown run',
        method: 'GET',
        path: '/trades?run_id=nope',
        field: 'run_id',
        status: 404,
      },
      { name: 'history: limit zero', method: 'GET', path: '/portfolio/history?limit=0', field: 'limit' },
      {
        name: 'candles: no start',
        method: 'GET',
        path: '/market/BTCUSDT/candles?timeframe=4h',
        field: 'start',
      },
      {
        name: 'candles: start not a date',
        method: 'GET',
        path: '/market/BTCUSDT/candles?start=yesterday',
        field: 'start',
      },
      {
        name: 'candles: start in the future',
        method: 'GET',
        path: `/market/BTCUSDT/candles?start=${future}`,
        field: 'start',
      },
      {
        name: 'candles: end before start',
        method: 'GET',
        path: '/market/BTCUSDT/candles?timeframe=4h&start=2024-02-01&end=2024-01-01',
        field: 'end',
      },
      {
        name: 'candles: more than 1000 bars',
        method: 'GET',
        path: '/market/BTCUSDT/candles?timeframe=4h&start=2023-01-01&end=2024-01-01',
        field: 'end',
      },
      {
        name: 'candles: unsupported symbol',
        method: 'GET',
        path: '/market/DOGEUSDT/candles?start=2024-01-01',
        field: 'symbol',
      },
      // Messages that used to be wrong or raw zod wording.
      {
        name: 'latest: upper-case symbol too short says the length, not the case',
        method: 'GET',
        path: '/market/FOO/latest',
        field: 'symbol',
        message: /^symbol "FOO" is too short \(3 characters\): a symbol is 5 to 20 upper-case letters/,
      },
      {
        name: 'latest: lower-case symbol says the case',
        method: 'GET',
        path: '/market/btcusdt/latest',
        field: 'symbol',
        message: /^symbol "btcusdt" has lower-case letters/,
      },
      {
        name: 'latest: limit not a number',
        method: 'GET',
        path: '/market/BTCUSDT/latest?limit=abc',
        field: 'limit',
        message: LIMIT_1000,
      },
      {
        name: 'latest: limit a fraction',
        method: 'GET',
        path: '/market/BTCUSDT/latest?limit=1.5',
        field: 'limit',
        message: LIMIT_1000,
      },
      {
        name: 'latest: limit too big',
        method: 'GET',
        path: '/market/BTCUSDT/latest?limit=5000',
        field: 'limit',
        message: LIMIT_1000,
      },
      {
        name: 'latest: limit empty',
        method: 'GET',
        path: '/market/BTCUSDT/latest?limit=',
        field: 'limit',
        message: LIMIT_1000,
      },
      {
        name: 'analyses: limit not a number',
        method: 'GET',
        path: '/analyses?limit=abc',
        field: 'limit',
        message: /^limit must be a whole number from 1 to 200$/,
      },
      {
        name: 'backtests: limit a fraction',
        method: 'GET',
        path: '/backtests?limit=2.5',
        field: 'limit',
        message: /^limit must be a whole number from 1 to 200$/,
      },
      {
        name: 'history: limit not a number',
        method: 'GET',
        path: '/portfolio/history?limit=x',
        field: 'limit',
        message: /^limit must be a whole number from 1 to 5000$/,
      },
      {
        name: 'analyses: cursor too long',
        method: 'GET',
        path: `/analyses?cursor=${'x'.repeat(300)}`,
        field: 'cursor',
        message: /^cursor is too long/,
      },
      {
        name: 'trades: run_id too long',
        method: 'GET',
        path: `/trades?run_id=${'x'.repeat(150)}`,
        field: 'run_id',
        message: /^run_id is too long/,
      },
      {
        name: 'analyze: wait not a boolean',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', wait: 'yes' },
        field: 'wait',
        message: /^wait must be true or false/,
      },
      {
        name: 'analyze: timestamp a number',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT', mode: 'backtest_step', timestamp: 5 },
        field: 'timestamp',
        message: /^timestamp: must be a string \(a date like 2024-01-31/,
      },
      {
        name: 'backtest: start_date missing',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, start_date: undefined },
        field: 'start_date',
        message: /^start_date: is required \(a date like/,
      },
      {
        name: 'backtest: max_decisions missing',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, max_decisions: undefined },
        field: 'max_decisions',
        message: /^max_decisions is required \(a whole number from 1 to 2000\)$/,
      },
      {
        name: 'backtest: unknown fill',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, fill: 'mid' },
        field: 'fill',
        message: /^fill must be next_open or next_close$/,
      },
      {
        name: 'backtest: fee_bps not a number',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, fee_bps: 'ten' },
        field: 'fee_bps',
        message: /^fee_bps must be a number of basis points from 0 to 100$/,
      },
      {
        name: 'backtest: slippage_bps negative',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, slippage_bps: -1 },
        field: 'slippage_bps',
        message: /^slippage_bps must be a number of basis points from 0 to 100$/,
      },
      {
        name: 'backtest: blind not a boolean',
        method: 'POST',
        path: '/backtest',
        body: { ...okBacktest, blind: 'no' },
        field: 'blind',
        message: /^blind must be true or false/,
      },
      // Unknown query parameters: a 400 naming the parameter and the ones the route takes.
      ...(
        [
          [
            '/trades?page=-1',
            'page',
            /^page: unknown query parameter \(this route takes limit, cursor, run_id, symbol\)$/,
          ],
          ['/analyses?limt=5', 'limt', /this route takes limit, cursor\)$/],
          ['/backtests?limit=5&offset=10', 'offset', /this route takes limit, cursor\)$/],
          ['/portfolio?symbol=BTCUSDT', 'symbol', /this route takes none\)$/],
          ['/portfolio/history?limit=5&from=2024-01-01', 'from', /this route takes limit\)$/],
          ['/costs?day=2024-01-01', 'day', /this route takes none\)$/],
          ['/health?verbose=1', 'verbose', /this route takes none\)$/],
          ['/market/symbols?all=1', 'all', /this route takes none\)$/],
          ['/market/BTCUSDT/latest?tf=4h', 'tf', /this route takes timeframe, limit\)$/],
          [
            '/market/BTCUSDT/candles?timeframe=4h&begin=2024-01-01',
            'begin',
            /takes timeframe, start, end\)$/,
          ],
          ['/analyses/6f1c9d55-8c53-4c1b-9a43-3f2a8e0d7b11?full=1', 'full', /this route takes none\)$/],
          ['/backtests/6f1c9d55-8c53-4c1b-9a43-3f2a8e0d7b11?include=trades', 'include', /takes none\)$/],
          ['/openapi.json?format=yaml', 'format', /this route takes none\)$/],
        ] as const
      ).map(
        ([path, field, message]): Case => ({
          name: `unknown query parameter: ${path}`,
          method: 'GET',
          path,
          field,
          message,
        }),
      ),
      {
        name: 'analyze: unknown query parameter on a write',
        method: 'POST',
        path: '/analyze?dry_run=1',
        body: { symbol: 'BTCUSDT', wait: false },
        field: 'dry_run',
      },
      // Writes take JSON only, and only from this site (issue: cross-site requests traded the book).
      ...(
        [
          ['/analyze', { symbol: 'BTCUSDT' }, 'text/plain'],
          ['/analyze', { symbol: 'BTCUSDT' }, 'application/x-www-form-urlencoded'],
          ['/analyze', { symbol: 'BTCUSDT' }, 'multipart/form-data; boundary=x'],
          ['/analyze', { symbol: 'BTCUSDT' }, 'application/jsonp'],
          ['/backtest', okBacktest, 'text/plain;charset=UTF-8'],
        ] as const
      ).map(
        ([path, body, type]): Case => ({
          name: `${path}: Content-Type ${type}`,
          method: 'POST',
          path,
          body,
          headers: { 'content-type': type },
          field: 'Content-Type',
          status: 415,
          message: /^Writes take JSON only/,
        }),
      ),
      {
        name: 'analyze: Origin of another site',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT' },
        headers: { origin: 'https://attacker.example' },
        field: 'attacker.example',
        status: 403,
        message: /^Refused: a write from origin https:\/\/attacker\.example/,
      },
      {
        name: 'analyze: Sec-Fetch-Site cross-site',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT' },
        headers: { 'sec-fetch-site': 'cross-site' },
        field: 'Sec-Fetch-Site',
        status: 403,
      },
      {
        name: 'analyze: Origin null (a sandboxed frame)',
        method: 'POST',
        path: '/analyze',
        body: { symbol: 'BTCUSDT' },
        headers: { origin: 'null' },
        field: 'origin',
        status: 403,
      },
      {
        name: 'backtest: another port of localhost is another origin',
        method: 'POST',
        path: '/backtest',
        body: okBacktest,
        headers: { origin: 'http://127.0.0.1:1' },
        field: 'origin',
        status: 403,
      },
      {
        name: 'backtest: a cross-site form post',
        method: 'POST',
        path: '/backtest',
        body: 'symbol=BTCUSDT',
        headers: {
          origin: 'https://attacker.example',
          'sec-fetch-site': 'cross-site',
          'content-type': 'application/x-www-form-urlencoded',
        },
        field: 'Sec-Fetch-Site',
        status: 403,
      },
    ];

    let portfolioBefore: unknown;
    let tradesBefore: unknown;
    let backtestsBefore: unknown;
    let analysesBefore: unknown;
    beforeAll(async () => {
      analysesBefore = (await h.get('/analyses?limit=200')).body.items.map((a: { id: string }) => a.id);
      portfolioBefore = (await h.get('/portfolio')).body;
      tradesBefore = (await h.get('/trades?limit=200')).body;
      backtestsBefore = (await h.get('/backtests?limit=200')).body.items.map((b: { id: string }) => b.id);
    });

    it('has at least 100 cases', () => {
      expect(cases.length).toBeGreaterThanOrEqual(100);
    });

    it.each(cases)('$name -> 4xx naming $field', async (c) => {
      const r =
        c.method === 'GET'
          ? await h.get(c.path)
          : await h.post(c.path, typeof c.body === 'string' ? c.body : JSON.stringify(c.body), c.headers);
      expect(r.status).toBe(c.status ?? 400);
      expect(r.body.error.code).toEqual(expect.any(String));
      const text = `${r.body.error.message} ${JSON.stringify(r.body.error.details ?? {})}`;
      expect(text).toContain(c.field);
      expect(text).not.toMatch(/\.ts:\d+|node_modules|\n\s+at /);
      expect(r.body.error.message).not.toMatch(RAW_ZOD_WORDING);
      if (c.message) expect(r.body.error.message).toMatch(c.message);
    });

    it('changed nothing: the portfolio, the trades and the backtest list are as before', async () => {
      expect((await h.get('/portfolio')).body).toEqual({
        ...(portfolioBefore as object),
        asOf: expect.any(String),
      });
      expect((await h.get('/trades?limit=200')).body).toEqual(tradesBefore);
      expect((await h.get('/backtests?limit=200')).body.items.map((b: { id: string }) => b.id)).toEqual(
        backtestsBefore,
      );
      // No analysis was recorded either: every refusal came before any record or workflow.
      expect((await h.get('/analyses?limit=200')).body.items.map((a: { id: string }) => a.id)).toEqual(
        analysesBefore,
      );
    });
  });
});
