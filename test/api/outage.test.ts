/**
 * The fault suite: the model provider failing in one way on every call (or one call in four), driven
 * through the real HTTP API, the real LLM client and `openai` SDK, and the synthesized state machines run
 * locally, at the settings of issue 15's report (LLM_MAX_RETRIES=1, LLM_TIMEOUT_MS=1500, LLM_CACHE=false).
 * Each test counts the calls the provider received and asserts the class of every decision: a decision
 * the provider failed is `failed` with its code, never a HOLD, and an outage costs a bounded number of
 * calls (the retry budget, the shared Retry-After hold, the circuit breaker), then resume completes the
 * run paying only for what failed.
 *
 * The breaker keeps its default cool-down (30 s). Between tests its state is reset, which stands for
 * that cool-down having passed with the provider back (the probe cycle itself is covered in
 * shared/resilience), so each scenario starts from a healthy provider without waiting half a minute.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBacktest, runBacktest } from '../../shared/pipeline/backtest';
import { type OpenAIServer, startOpenAIServer } from '../helpers/openai-server';
import { HAS_DATA, type Harness, pollUntil, SKIP_REASON, startHarness } from './harness';

const BACKTEST = {
  symbol: 'BTCUSDT',
  start_date: '2024-02-01',
  end_date: '2024-03-15',
  timeframe: '4h',
  max_decisions: 20,
};

describe.skipIf(!HAS_DATA)(
  `the model provider failing, through the state machines ${HAS_DATA ? '' : SKIP_REASON}`,
  () => {
    let h: Harness;
    let llm: OpenAIServer;

    beforeAll(async () => {
      llm = await startOpenAIServer();
      h = await startHarness({
        workflows: 'stepfunctions',
        backtestConcurrency: 10,
        env: {
          LLM_PROVIDER: 'openai',
          LLM_BASE_URL: llm.url,
          LLM_API_KEY: 'test-key',
          LLM_MAX_RETRIES: '1',
          LLM_TIMEOUT_MS: '1500',
          LLM_CACHE: 'false',
          BACKTEST_MAX_FAILED_PCT: '10',
        },
      });
    });
    afterAll(async () => {
      await h?.close();
      await llm?.close();
    });
    beforeEach(async () => {
      llm.clearFaults();
      await h.server.container.health.reset();
    });

    async function backtest(body: Record<string, unknown> = BACKTEST) {
      const r = await h.post('/backtest', body);
      expect(r.status).toBe(202);
      return pollUntil(h, r.body.poll, (x) => x.status === 'succeeded' || x.status === 'failed', 120_000);
    }

    /** Requests per agent (the JSON schema's name is the agent's). */
    function callsByAgent(from: number) {
      const by: Record<string, number> = {};
      for (const q of llm.requests.slice(from)) by[q.schemaName ?? '?'] = (by[q.schemaName ?? '?'] ?? 0) + 1;
      return by;
    }

    it('every call 500: the 20-decision backtest ends failed, every decision failed with its code, within 60 calls', async () => {
      llm.queueFault({ kind: 'server_error', status: 500 }, { times: Number.POSITIVE_INFINITY });
      const from = llm.count;
      const started = Date.now();
      const b = await backtest();
      const calls = llm.count - from;
      console.info(`[outage] 500s: ${calls} calls, ${Date.now() - started} ms, status ${b.status}`);
      expect(b.status).toBe('failed');
      expect(b.result.degraded).toBe(true);
      expect(b.result.comparable).toBe(false);
      expect(b.result.decisionCounts.decided).toBe(0);
      expect(b.result.decisionCounts.abstained).toBe(0);
      // every planned point is listed as failed: by the provider, its open breaker, or never reached
      // because the run stopped past BACKTEST_MAX_FAILED_PCT
      expect(b.result.decisionCounts.failed).toBe(20);
      expect(b.result.decisions).toHaveLength(20);
      for (const d of b.result.decisions) {
        expect(d).toMatchObject({ status: 'failed', class: 'failed', action: null });
        expect(['UPSTREAM_LLM', 'UPSTREAM_LLM_UNAVAILABLE', 'NOT_RUN']).toContain(d.error.code);
      }
      // the provider's 500s, or the breaker they opened (whose message carries the last 500)
      expect(['UPSTREAM_LLM', 'UPSTREAM_LLM_UNAVAILABLE']).toContain(b.result.firstError.code);
      expect(b.result.firstError.message).toMatch(/\(500\)/);
      expect(calls).toBeLessThanOrEqual(60);
      // no fabricated performance: nothing traded
      expect(b.result.trades).toHaveLength(0);
    });

    it('every call 429 (Retry-After: 1): failed, rate-limited or breaker codes only, within 60 calls', async () => {
      llm.queueFault({ kind: 'rate_limit', retryAfterSeconds: 1 }, { times: Number.POSITIVE_INFINITY });
      const from = llm.count;
      const started = Date.now();
      const b = await backtest();
      const calls = llm.count - from;
      console.info(`[outage] 429s: ${calls} calls, ${Date.now() - started} ms, status ${b.status}`);
      expect(b.status).toBe('failed');
      expect(b.result.decisionCounts).toMatchObject({ decided: 0, abstained: 0 });
      expect(b.result.decisionCounts.failed).toBe(20);
      for (const d of b.result.decisions) {
        expect(d).toMatchObject({ class: 'failed', action: null });
        expect(['UPSTREAM_LLM_RATE_LIMITED', 'UPSTREAM_LLM_UNAVAILABLE', 'NOT_RUN']).toContain(d.error.code);
      }
      expect(calls).toBeLessThanOrEqual(60);
    });

    it('one call in four failing is absorbed by the retries: the backtest succeeds with no failed decision', async () => {
      llm.failEvery(4, { kind: 'server_error', status: 503 });
      const from = llm.count;
      // One decision point at a time (the in-process runner of the same steps, concurrency 1): a failed
      // call's retry is then never the next 4th request. At Map width 10 the interleaving can give a call
      // and its retry both a 4th slot; with LLM_MAX_RETRIES=1 that call fails (as it should: 2 attempts).
      const deps = h.server.container.deps;
      const { backtestId } = await createBacktest(deps, { ...BACKTEST, max_decisions: 8 });
      const b = await runBacktest(deps, backtestId, { concurrency: 1 });
      expect(llm.requests.slice(from).some((q) => q.fault === 'server_error')).toBe(true);
      expect(b.status).toBe('succeeded');
      expect(b.result!.decisionCounts.failed).toBe(0);
      expect(b.result!.degraded).toBe(false);
    });

    it('a live decision under a hung provider fails LLM_TIMEOUT with at most 2 attempts per agent', async () => {
      llm.queueFault({ kind: 'hang' }, { times: Number.POSITIVE_INFINITY });
      const from = llm.count;
      const started = Date.now();
      const r = await h.post('/analyze', { symbol: 'ETHUSDT', timeframe: '4h' });
      const elapsed = Date.now() - started;
      console.info(`[outage] hung provider: live decision answered ${r.status} in ${elapsed} ms`);
      expect([502, 503, 504]).toContain(r.status);
      const record = (await h.get(r.body.error.details.poll)).body;
      expect(record).toMatchObject({
        status: 'failed',
        decisionClass: 'failed',
        final: null,
        execution: null,
      });
      expect(['LLM_TIMEOUT', 'UPSTREAM_LLM_UNAVAILABLE']).toContain(record.error.code);
      for (const [agent, n] of Object.entries(callsByAgent(from))) {
        expect(n, agent).toBeLessThanOrEqual(2);
      }
      expect(llm.requests.slice(from).every((q) => q.fault === 'hang')).toBe(true);
    });

    it('a live decision under a rate-limiting provider: at most 1 + LLM_MAX_RETRIES attempts per agent', async () => {
      llm.queueFault({ kind: 'rate_limit', retryAfterSeconds: 1 }, { times: Number.POSITIVE_INFINITY });
      const from = llm.count;
      const r = await h.post('/analyze', { symbol: 'SOLUSDT', timeframe: '4h' });
      expect(r.status).toBe(503);
      expect(['UPSTREAM_LLM_RATE_LIMITED', 'UPSTREAM_LLM_UNAVAILABLE']).toContain(r.body.error.code);
      for (const [agent, n] of Object.entries(callsByAgent(from))) expect(n, agent).toBeLessThanOrEqual(2);
      const record = (await h.get(r.body.error.details.poll)).body;
      expect(record.decisionClass).toBe('failed');
    });

    it('a quota error is not retried; a refusal gets one repair, then the agent abstains (not failed)', async () => {
      llm.queueFault({ kind: 'rate_limit', code: 'insufficient_quota' }, { schemaName: 'technical' });
      llm.queueFault({ kind: 'refusal' }, { schemaName: 'sentiment', times: 2 });
      const from = llm.count;
      const r = await h.post('/analyze', {
        symbol: 'BTCUSDT',
        timeframe: '4h',
        mode: 'backtest_step',
        timestamp: '2025-03-01T00:00:00Z',
      });
      expect(r.status).toBe(200);
      const by = callsByAgent(from);
      expect(by.technical).toBe(1);
      expect(by.sentiment).toBe(2);
      expect(r.body.agents.technical.status).toBe('unavailable');
      expect(r.body.agents.sentiment.status).toBe('abstained');
      expect(r.body.decisionClass).toBe('decided');
    });

    it('resume completes a failed backtest after the provider recovers, paying only for the failed decisions', async () => {
      // one researcher fails (both attempts): 1 of 20 is under BACKTEST_MAX_FAILED_PCT, a degraded run
      // (one point at a time, so the two faults meet one researcher call and its retry)
      llm.queueFault({ kind: 'server_error', status: 500 }, { schemaName: 'researcher', times: 2 });
      const deps = h.server.container.deps;
      const created = await createBacktest(deps, {
        ...BACKTEST,
        start_date: '2024-04-01',
        end_date: '2024-05-15',
      });
      await runBacktest(deps, created.backtestId, { concurrency: 1 });
      const b = (await h.get(`/backtests/${created.backtestId}`)).body;
      expect(b.status).toBe('succeeded');
      expect(b.result.degraded).toBe(true);
      const failed = b.result.decisions.filter((d: { class: string }) => d.class === 'failed');
      const made = b.result.decisions.filter((d: { class: string }) => d.class !== 'failed');
      expect(failed).toHaveLength(1);
      expect(made).toHaveLength(19);

      expect((await h.post('/backtests/00000000-0000-4000-8000-000000000000/resume', {})).status).toBe(404);
      const from = llm.count;
      const r = await h.post(`/backtests/${b.id}/resume`, {});
      expect(r.status).toBe(202);
      expect(r.body).toMatchObject({ id: b.id, status: 'pending', toRun: 1, kept: 19 });
      const again = await pollUntil(
        h,
        r.body.poll,
        (x) => x.status === 'succeeded' || x.status === 'failed',
        120_000,
      );
      expect(again.status).toBe('succeeded');
      expect(again.result.decisionCounts.failed).toBe(0);
      expect(again.result.degraded).toBe(false);
      expect(again.result.decisions).toHaveLength(20);
      // the decisions already made were kept (same ids): the rerun called the agents of one point only
      const ids = new Set(again.result.decisions.map((d: { id: string }) => d.id));
      for (const d of made) expect(ids.has(d.id)).toBe(true);
      const calls = llm.count - from;
      expect(calls).toBeGreaterThan(0);
      expect(calls).toBeLessThanOrEqual(6);
      // nothing left to resume
      const nothing = await h.post(`/backtests/${b.id}/resume`, {});
      expect(nothing.status).toBe(409);
      expect(nothing.body.error.code).toBe('CONFLICT');
    });

    it('resume after an outage that stopped the run: the points never reached run too, and it completes', async () => {
      llm.queueFault({ kind: 'server_error', status: 500 }, { times: Number.POSITIVE_INFINITY });
      const body = { ...BACKTEST, start_date: '2024-06-01', end_date: '2024-07-15', max_decisions: 12 };
      const b = await backtest(body);
      expect(b.status).toBe('failed');
      expect(b.result.decisionCounts.failed).toBe(12);
      llm.clearFaults();
      // the provider recovered and the breaker's cool-down passed (see the header)
      await h.server.container.health.reset();
      const r = await h.post(`/backtests/${b.id}/resume`, {});
      expect(r.body).toMatchObject({ toRun: 12, kept: 0 });
      const again = await pollUntil(
        h,
        r.body.poll,
        (x) => x.status === 'succeeded' || x.status === 'failed',
        120_000,
      );
      expect(again.status).toBe('succeeded');
      expect(again.result.decisionCounts).toMatchObject({ failed: 0 });
      expect(again.result.comparable).toBe(true);
    });
  },
);
