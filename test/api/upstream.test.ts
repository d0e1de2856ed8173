/**
 * Upstream failures over HTTP, on both local workflow hosts (the synthesized state machine and the
 * in-process runner): Binance failing (500s, a rate limit) and the model provider failing every call
 * answer POST /analyze with 502/503 naming which upstream failed; unusable market data answers 422.
 * The record stays readable (GET /analyses/{id} is 200), the live book is untouched, and `cli analyze`
 * exits 1 with the same message.
 *
 * The agents speak the OpenAI protocol to the local test server (its default answers: a confident BUY),
 * so "the model provider is down" is the real client path: 500s on every call, no client retries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../functions/cli/main';
import { type OpenAIServer, startOpenAIServer } from '../helpers/openai-server';
import { HAS_DATA, type Harness, SKIP_REASON, startHarness, TEST_NOW } from './harness';

const HOSTS = ['stepfunctions', 'inprocess'] as const;

describe.skipIf(!HAS_DATA).each(HOSTS)(
  `upstream failures over HTTP on %s ${HAS_DATA ? '' : SKIP_REASON}`,
  (host) => {
    let h: Harness;
    let llm: OpenAIServer;
    const llmEnv = () => ({
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: llm.url,
      LLM_API_KEY: 'test-key',
      LLM_MAX_RETRIES: '0',
    });

    beforeAll(async () => {
      llm = await startOpenAIServer();
      h = await startHarness({ workflows: host, env: llmEnv() });
      // A live trade first, so "the book is unchanged" is about a book that holds something.
      const first = await h.post('/analyze', { symbol: 'SOLUSDT', timeframe: '4h' });
      expect(first.status).toBe(200);
      expect(first.body.execution?.trade?.side).toBe('BUY');
    });
    afterAll(async () => {
      await h?.close();
      await llm?.close();
    });

    const book = async () => ({
      portfolio: (await h.get('/portfolio')).body,
      trades: (await h.get('/trades')).body,
    });

    /** `cli analyze` on the harness's database and servers, with the harness's clock. */
    async function cliAnalyze(symbol: string) {
      let stdout = '';
      let stderr = '';
      const code = await runCli(
        ['analyze', symbol, '--timeframe', '4h'],
        {
          env: {
            DATA_DIR: 'memory://',
            BINANCE_BASE_URL: h.binance.url,
            LOG_LEVEL: 'silent',
            ...llmEnv(),
          },
          stdout: (t) => {
            stdout += t;
          },
          stderr: (t) => {
            stderr += t;
          },
        },
        {
          database: h.server.container.database,
          containerOverrides: { now: () => TEST_NOW, binanceMaxRetries: 0, binanceFallbackUrl: null },
        },
      );
      return { code, stdout, stderr };
    }

    it('Binance answering 500 on klines: 502 UPSTREAM_BINANCE saying Binance; failed, no agent called', async () => {
      const before = await book();
      const llmCalls = llm.count;
      h.binance.injectFault({ kind: 'server-error', status: 500, path: '/api/v3/klines', times: Infinity });
      try {
        const r = await h.post('/analyze', { symbol: 'BTCUSDT', timeframe: '4h' });
        expect(r.status).toBe(502);
        expect(r.body.error.code).toBe('UPSTREAM_BINANCE');
        expect(r.body.error.message).toMatch(
          /^Binance market data is unavailable: Binance \/api\/v3\/klines /,
        );
        expect(r.body.error.details).toEqual({
          analysisId: expect.any(String),
          poll: `/analyses/${r.body.error.details.analysisId}`,
        });
        expect(JSON.stringify(r.body)).not.toMatch(/\.ts:\d+|node_modules/);

        const record = await h.get(r.body.error.details.poll);
        expect(record.status).toBe(200);
        expect(record.body.status).toBe('failed');
        expect(record.body.error.code).toBe('UPSTREAM_BINANCE');
        // the data step failed: no agent was called, none is blamed
        expect(Object.values(record.body.agents)).toEqual([null, null, null, null, null, null]);
        expect(record.body.error.message).not.toMatch(/researcher/);
        expect(llm.count).toBe(llmCalls);

        const cli = await cliAnalyze('BTCUSDT');
        expect(cli.code).toBe(1);
        expect(cli.stderr).toMatch(/^error \[UPSTREAM_BINANCE\]: Binance market data is unavailable: /);
      } finally {
        h.binance.clearFaults();
      }
      expect(await book()).toEqual(before);
    });

    it('Binance rate-limiting: 503 UPSTREAM_BINANCE_RATE_LIMITED', async () => {
      const before = await book();
      h.binance.injectFault({
        kind: 'rate-limit',
        status: 429,
        retryAfterSeconds: 1,
        path: '/api/v3/klines',
        times: Infinity,
      });
      try {
        const r = await h.post('/analyze', { symbol: 'ETHUSDT', timeframe: '4h' });
        expect(r.status).toBe(503);
        expect(r.body.error.code).toBe('UPSTREAM_BINANCE_RATE_LIMITED');
        expect(r.body.error.message).toMatch(/^Binance market data is unavailable: Binance rate limit/);
        const record = await h.get(r.body.error.details.poll);
        expect(record.status).toBe(200);
        expect(record.body).toMatchObject({
          status: 'failed',
          error: { code: 'UPSTREAM_BINANCE_RATE_LIMITED' },
        });
      } finally {
        h.binance.clearFaults();
      }
      // Binance asked for a second's pause (Retry-After: 1), which now holds for every caller of that
      // host, the portfolio's price reads included: wait it out before reading the book's marks.
      await new Promise((ok) => setTimeout(ok, 1_100));
      expect(await book()).toEqual(before);
    });

    it('the model provider failing every call: 502 UPSTREAM_LLM saying the model provider; no trade recorded', async () => {
      const before = await book();
      llm.queueFault({ kind: 'server_error', status: 500 }, { times: Infinity });
      try {
        // A market no agent has seen: every analyst is called, and every call fails.
        const r = await h.post('/analyze', {
          symbol: 'SOLUSDT',
          timeframe: '4h',
          mode: 'backtest_step',
          timestamp: '2025-06-01T00:00:00Z',
        });
        expect(r.status).toBe(502);
        expect(r.body.error.code).toBe('UPSTREAM_LLM');
        expect(r.body.error.message).toMatch(
          /^The model provider failed: no analyst could answer: technical: /,
        );
        const record = await h.get(r.body.error.details.poll);
        expect(record.status).toBe(200);
        expect(record.body).toMatchObject({
          status: 'failed',
          decisionClass: 'failed',
          error: { code: 'UPSTREAM_LLM' },
          final: null,
        });
        for (const analyst of ['technical', 'sentiment', 'tokenomics'])
          expect(record.body.agents[analyst].status).toBe('unavailable');

        // Live, on the market of the first analysis: the analysts' and the researcher's answers come from
        // the LLM cache, and the trader (whose input carries the book, changed by the first trade) is the
        // call that fails. Still the provider's failure: a failed decision, never a HOLD, and no trade.
        const live = await h.post('/analyze', { symbol: 'SOLUSDT', timeframe: '4h' });
        expect(live.status).toBe(502);
        expect(live.body.error.code).toBe('UPSTREAM_LLM');
        expect(live.body.error.message).toMatch(/^The model provider failed: /);
        const liveRecord = (await h.get(live.body.error.details.poll)).body;
        expect(liveRecord).toMatchObject({ status: 'failed', decisionClass: 'failed', execution: null });
        expect(liveRecord.agents.researcher.status).toBe('ok');
        expect(liveRecord.agents.trader.status).toBe('error');

        const cli = await cliAnalyze('SOLUSDT');
        expect(cli.code).toBe(1);
        expect(cli.stderr).toMatch(/^error \[UPSTREAM_LLM\]: The model provider failed: /);
      } finally {
        llm.clearFaults();
      }
      expect(await book()).toEqual(before);
    });

    it('market data too short for the indicators: 422 INSUFFICIENT_DATA before any record exists', async () => {
      const before = (await h.get('/analyses?limit=200')).body.items.length;
      const r = await h.post('/analyze', {
        symbol: 'BTCUSDT',
        timeframe: '4h',
        mode: 'backtest_step',
        timestamp: '2017-09-01T00:00:00Z',
      });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('INSUFFICIENT_DATA');
      expect(r.body.error.details.field).toBe('timestamp');
      expect(r.body.error.message).toMatch(/^timestamp: not enough BTCUSDT 4h market data before /);
      expect((await h.get('/analyses?limit=200')).body.items.length).toBe(before);
    });
  },
);
