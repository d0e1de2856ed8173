/**
 * The core's metrics port: what the LLM client, the decision steps and the backtest steps emit, where
 * it happens. The real LLM client against the local OpenAI-protocol server (tokens, dollars, budget
 * refusals), the real offline pipeline and backtest steps on PGlite (PostgreSQL with TEST_PG=1).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { generateKlines } from '../../test/helpers/binance-server';
import { type OpenAIServer, startOpenAIServer } from '../../test/helpers/openai-server';
import { agentLogs } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { WARMUP_BARS } from '../indicators/compute';
import { createLLMClient, ROLE_MAX_TOKENS } from '../llm/client';
import { costUsd } from '../llm/prices';
import { klineToCandle } from '../market/kline';
import { createBacktest, runBacktest } from '../pipeline/backtest';
import { offlineTestDeps, testSettings } from '../pipeline/testing';
import { type RecordedMetric, recordingMetrics } from './metrics';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const USAGE = { prompt_tokens: 100, completion_tokens: 20, cached_tokens: 0 };
const answer = z.object({ verdict: z.enum(['yes', 'no']) });
const of = <K extends RecordedMetric['kind']>(events: RecordedMetric[], kind: K) =>
  events.filter((e): e is Extract<RecordedMetric, { kind: K }> => e.kind === kind);

describe.each(testDrivers())('metrics the core emits, on %s', (driver) => {
  const t = useTestDatabase(driver);
  let server: OpenAIServer;
  beforeAll(async () => {
    server = await startOpenAIServer({ usage: USAGE, respond: () => ({ verdict: 'yes' }) });
  });
  afterAll(() => server.close());
  beforeEach(() => t.reset());

  it('one modelCall per logged call with tokens, dollars, agent and model; budget refusals counted', async () => {
    const metrics = recordingMetrics();
    const settings = testSettings({
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: server.url,
      LLM_API_KEY: 'test-key',
      CHEAP_MODEL: 'gpt-4.1-mini',
      STRONG_MODEL: 'gpt-4.1',
      // A call reserves input + max_tokens and settles at 120 tokens: some of 12 calls are refused.
      DAILY_TOKEN_BUDGET: String(2 * (ROLE_MAX_TOKENS.technical + 200)),
    });
    const llm = createLLMClient({ db: t.db, settings, now: () => NOW, metrics });
    const outcomes = [];
    for (let i = 0; i < 12; i++)
      outcomes.push(
        await llm.call({
          agent: 'technical',
          promptVersion: 'test@1',
          messages: [{ role: 'user', content: `question ${i}` }],
          schemaName: 'answer',
          schema: answer,
          input: { i },
          context: { symbol: 'BTCUSDT', runId: 'test' },
        }),
      );
    const ok = outcomes.filter((o) => o.status === 'ok').length;
    const refused = outcomes.filter((o) => o.status === 'budget_exceeded').length;
    expect(ok).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    const calls = of(metrics.events, 'modelCall');
    expect(calls).toHaveLength((await t.db.select().from(agentLogs)).length);
    const okCalls = calls.filter((c) => c.status === 'ok');
    expect(okCalls).toHaveLength(ok);
    for (const c of okCalls) {
      expect(c).toMatchObject({ agent: 'technical', model: 'gpt-4.1-mini', tokensIn: 100, tokensOut: 20 });
      const usd = costUsd('gpt-4.1-mini', { promptTokens: 100, completionTokens: 20, cachedTokens: 0 });
      expect(c.costUsd).toBeCloseTo(usd as number, 12);
    }
    expect(of(metrics.events, 'budgetRefused')).toEqual(
      Array.from({ length: refused }, () => ({
        kind: 'budgetRefused',
        agent: 'technical',
        model: 'gpt-4.1-mini',
      })),
    );
  });

  it('a backtest emits one decisionFinished per decision (status and class) and one backtestFinished', async () => {
    const TF = 4 * 3_600_000;
    const start = Date.parse('2024-01-01T00:00:00Z');
    const first = start - (WARMUP_BARS + 10) * TF;
    const candles = generateKlines({
      timeframe: '4h',
      start: first,
      count: WARMUP_BARS + 10 + 40,
      seed: 5,
    }).map(klineToCandle);
    const metrics = recordingMetrics();
    const deps = offlineTestDeps({
      db: t.db,
      candles: { BTCUSDT: { '4h': candles } },
      now: start + 60 * TF,
      metrics,
    });
    const { backtestId } = await createBacktest(deps, {
      symbol: 'BTCUSDT',
      start_date: '2024-01-01',
      end_date: '2024-01-06',
      timeframe: '4h',
      max_decisions: 3,
    });
    const b = await runBacktest(deps, backtestId, { concurrency: 1 });
    const finished = of(metrics.events, 'decisionFinished');
    expect(finished).toHaveLength(3);
    for (const [i, d] of b.result!.decisions.entries())
      expect(finished[i]).toEqual({
        kind: 'decisionFinished',
        status: d.status,
        decisionClass: d.class,
        mode: 'backtest',
      });
    const done = of(metrics.events, 'backtestFinished');
    expect(done).toEqual([
      { kind: 'backtestFinished', status: 'succeeded', decisions: 3, durationMs: expect.any(Number) },
    ]);
    expect(done[0]!.durationMs).toBeGreaterThanOrEqual(0);
    // Every call the client logged is a metric (the offline provider's too).
    expect(of(metrics.events, 'modelCall')).toHaveLength((await t.db.select().from(agentLogs)).length);
  });
});
