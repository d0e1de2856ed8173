/**
 * Decision classes in a backtest: every decision is decided, abstained or failed, the result counts
 * them, a run with a failed decision is degraded (count and first error), and past
 * BACKTEST_MAX_FAILED_PCT it ends failed with its partial result readable but not comparable. Real
 * PGlite (PostgreSQL with TEST_PG=1), the real LLM client and `openai` SDK against the local
 * OpenAI-protocol server, candles from a seeded random walk.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type OpenAIServer, startOpenAIServer } from '../../test/helpers/openai-server';
import { testDrivers, useTestDatabase } from '../db/testing';
import { createLLMClient } from '../llm/client';
import { createBacktest, getBacktest, runBacktest } from './backtest';
import type { PipelineDeps } from './deps';
import { memoryCandleSource, testSettings, warmedRangeCandles } from './testing';

const START = Date.parse('2024-01-01T00:00:00Z');
const END = Date.parse('2024-03-01T00:00:00Z');
const { candles, now: NOW } = warmedRangeCandles({ startMs: START, endMs: END, seed: 11 });
const request = { symbol: 'BTCUSDT', start_date: '2024-01-01', end_date: '2024-03-01', timeframe: '4h' };

describe.each(testDrivers())('backtest decision classes on %s', (driver) => {
  const t = useTestDatabase(driver);
  let server: OpenAIServer;
  beforeAll(async () => {
    server = await startOpenAIServer();
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    await t.reset();
    server.clearFaults();
    server.requests.length = 0;
  });

  function deps(env: Record<string, string> = {}): PipelineDeps {
    const settings = testSettings({
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: server.url,
      LLM_API_KEY: 'test-key',
      LLM_MAX_RETRIES: '1',
      LLM_TIMEOUT_MS: '10000',
      LLM_CACHE: 'false',
      // The circuit breaker has its own suite (shared/resilience); here it must not open on the few
      // faults a test queues, except where a test says so.
      LLM_BREAKER_FAILURES: '100',
      LLM_BREAKER_MIN_CALLS: '1000',
      ...env,
    });
    const now = () => NOW;
    const llm = createLLMClient({ db: t.db, settings, now, sleep: async () => {} });
    return { db: t.db, settings, llm, candles: memoryCandleSource({ BTCUSDT: { '4h': candles } }), now };
  }

  it('a provider failing every call: every decision failed (never a HOLD), the run failed, its result readable', async () => {
    server.queueFault({ kind: 'server_error' }, { times: Number.POSITIVE_INFINITY });
    const d = deps({ LLM_BREAKER_FAILURES: '5', LLM_BREAKER_MIN_CALLS: '10' });
    const { backtestId } = await createBacktest(d, { ...request, max_decisions: 5 });
    const b = await runBacktest(d, backtestId, { concurrency: 2 });
    expect(b.status).toBe('failed');
    expect(b.error?.code).toBe('TOO_MANY_FAILED_DECISIONS');
    expect(b.error?.message).toMatch(/^5 of 5 decisions failed/);
    const r = b.result!;
    expect(r.decisionCounts).toEqual({ decided: 0, abstained: 0, failed: 5 });
    expect(r.degraded).toBe(true);
    expect(r.comparable).toBe(false);
    // Two decisions run at once, so the breaker may open while the first one's analysts still wait:
    // its error is the provider's 500s or the open breaker, and the first error is the first point's.
    expect(['UPSTREAM_LLM', 'UPSTREAM_LLM_UNAVAILABLE']).toContain(r.firstError?.code);
    expect(r.firstError).toEqual(r.decisions[0]?.error);
    expect(r.decisions).toHaveLength(5);
    for (const x of r.decisions) {
      expect(x).toMatchObject({ status: 'failed', class: 'failed', action: null, sizePct: null });
      // The 500s themselves, then the provider's open circuit breaker: not called again.
      expect(['UPSTREAM_LLM', 'UPSTREAM_LLM_UNAVAILABLE']).toContain(x.error?.code);
    }
    expect(r.decisions.at(-1)?.error?.code).toBe('UPSTREAM_LLM_UNAVAILABLE');
    expect(r.decisions.at(-1)?.error?.message).toMatch(/circuit open.*next try after \d{4}-/);
    // the breaker opened after LLM_BREAKER_FAILURES (5) failures: two decisions in flight (6 analyst
    // calls) and their retries at most, never 2 attempts x 3 analysts x 5 decisions (30)
    expect(server.count).toBeLessThanOrEqual(12);
    expect(r.trades).toHaveLength(0);
    expect(r.assumptions).toContainEqual(expect.stringMatching(/^metrics over 0 of 5 decisions .* 5 failed/));
    // the analysts were called, the researcher never (nothing to weigh)
    expect(server.requests.some((q) => q.schemaName === 'researcher')).toBe(false);
    expect((await getBacktest(d, backtestId)).result?.decisionCounts.failed).toBe(5);
  });

  it('one failed decision in ten is degraded, not failed, at BACKTEST_MAX_FAILED_PCT 10; abstentions are counted apart', async () => {
    // concurrency 1: the first decision's three analysts (two attempts each) meet the six faults
    server.queueFault({ kind: 'server_error' }, { times: 6 });
    // the second decision's researcher answers invalid JSON twice (the repair too): abstained
    server.queueFault({ kind: 'schema_invalid' }, { schemaName: 'researcher', times: 2 });
    const d = deps();
    const { backtestId } = await createBacktest(d, { ...request, max_decisions: 10 });
    const b = await runBacktest(d, backtestId, { concurrency: 1 });
    expect(b.status).toBe('succeeded');
    expect(b.error).toBeNull();
    const r = b.result!;
    expect(r.decisionCounts).toEqual({ decided: 8, abstained: 1, failed: 1 });
    expect(r.degraded).toBe(true);
    expect(r.comparable).toBe(true);
    expect(r.firstError?.code).toBe('UPSTREAM_LLM');
    expect(r.decisions[0]).toMatchObject({ class: 'failed', action: null });
    expect(r.decisions[1]).toMatchObject({ status: 'no_trade', class: 'abstained', action: 'HOLD' });
    expect(r.decisions.slice(2).every((x) => x.class === 'decided')).toBe(true);

    // past the threshold (any failure at 0%) the same run ends failed
    await t.reset();
    server.queueFault({ kind: 'server_error' }, { times: 6 });
    const strict = deps({ BACKTEST_MAX_FAILED_PCT: '0' });
    const again = await createBacktest(strict, { ...request, max_decisions: 10 });
    const c = await runBacktest(strict, again.backtestId, { concurrency: 1 });
    expect(c.status).toBe('failed');
    expect(c.result?.comparable).toBe(false);
    expect(c.result?.decisionCounts).toEqual({ decided: 9, abstained: 0, failed: 1 });
  });
});
