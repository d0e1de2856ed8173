/**
 * The dollar budget (DAILY_USD_BUDGET): reserved at the worst-case price beside the tokens in one
 * conditional UPDATE, settled to the real cost. Real PostgreSQL (PGlite; the server with TEST_PG=1),
 * the real `openai` SDK against the local OpenAI-protocol server.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type OpenAIServer, startOpenAIServer } from '../../test/helpers/openai-server';
import { openDatabase } from '../db/client';
import { agentLogs, tokenLedger } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { testSettings } from '../pipeline/testing';
import { createTokenBudget } from './budget';
import { createLLMClient, ROLE_MAX_TOKENS } from './client';
import { costUsd, worstCaseUsd } from './prices';
import { toStrictJsonSchema } from './structured';
import { estimateInputTokens } from './tokens';

const USAGE = { prompt_tokens: 100, completion_tokens: 20, cached_tokens: 0 };
const NOW = Date.parse('2024-05-01T12:00:00Z');
const answerSchema = z.object({ verdict: z.enum(['yes', 'no']) });
const request = (content: string) => ({
  agent: 'technical' as const,
  promptVersion: 'test@1',
  messages: [
    { role: 'system' as const, content: 'Answer yes or no.' },
    { role: 'user' as const, content },
  ],
  schemaName: 'answer',
  schema: answerSchema,
  input: { content },
});

describe('worstCaseUsd', () => {
  it('prices every input token uncached and the whole output cap, and knows no unlisted model', () => {
    // gpt-4.1-mini: $0.40 in, $1.60 out per 1M tokens
    expect(worstCaseUsd('gpt-4.1-mini', 1_000, 500)).toBeCloseTo((1_000 * 0.4 + 500 * 1.6) / 1e6, 12);
    expect(worstCaseUsd('openai/gpt-4.1', 10, 10)).toBeCloseTo((10 * 2 + 10 * 8) / 1e6, 12);
    expect(worstCaseUsd('my-local-llama', 10, 10)).toBeNull();
    expect(worstCaseUsd('offline-rules', 10, 10)).toBe(0);
  });
});

describe.each(testDrivers())('dollar budget on %s', (driver) => {
  const t = useTestDatabase(driver);
  let server: OpenAIServer;
  beforeAll(async () => {
    server = await startOpenAIServer({ latencyMs: 10, usage: USAGE, respond: () => ({ verdict: 'yes' }) });
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    await t.reset();
    server.requests.length = 0;
  });
  const client = (env: Record<string, string>) =>
    createLLMClient({
      db: t.db,
      settings: testSettings({
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: server.url,
        LLM_API_KEY: 'test-key',
        CHEAP_MODEL: 'gpt-4.1-mini',
        LLM_CACHE: 'false',
        ...env,
      }),
      now: () => NOW,
      sleep: async () => {},
    });

  it('50 concurrent calls against a dollar budget that fits 20 at worst: the budget is never exceeded', async () => {
    const contents = Array.from({ length: 50 }, (_, i) => `question number ${100 + i}`);
    const schemaText = JSON.stringify(toStrictJsonSchema(answerSchema));
    const estimates = contents.map((c) => estimateInputTokens(request(c).messages, schemaText));
    expect(new Set(estimates).size).toBe(1);
    const worst = worstCaseUsd('gpt-4.1-mini', estimates[0]!, ROLE_MAX_TOKENS.technical)!;
    const budgetUsd = Number((worst * 20).toFixed(8));
    const llm = client({ DAILY_USD_BUDGET: String(budgetUsd), DAILY_TOKEN_BUDGET: '100000000' });
    const outcomes = await Promise.all(contents.map((c) => llm.call(request(c))));
    const ok = outcomes.filter((o) => o.status === 'ok');
    const refused = outcomes.filter((o) => o.status === 'budget_exceeded');
    expect(ok.length + refused.length).toBe(50);
    // at least the 20 that fit at their worst case; more only when earlier calls settled below it
    expect(ok.length).toBeGreaterThanOrEqual(20);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused)
      if (r.status === 'budget_exceeded') expect(r.reason).toContain('DAILY_USD_BUDGET');
    const real = costUsd('gpt-4.1-mini', { promptTokens: 100, completionTokens: 20, cachedTokens: 0 })!;
    const [ledger] = await t.db.select().from(tokenLedger);
    expect(Number(ledger!.costUsd)).toBeLessThanOrEqual(budgetUsd);
    expect(Number(ledger!.costUsd)).toBeCloseTo(ok.length * real, 8);
    expect(Number(ledger!.usdReserved)).toBe(0);
    expect(Number(ledger!.usdBudget)).toBe(budgetUsd);
    expect(ledger!.refused).toBe(refused.length);
    expect(server.count).toBe(ok.length);
    expect(await llm.budget.status()).toMatchObject({ usd: { budget: budgetUsd, reserved: 0 } });
  });

  it('reservations alone: exactly 20 of 50 concurrent worst-case reservations fit, from separate pools', async () => {
    const url = (t.database as { url?: string }).url;
    const pools = url
      ? await Promise.all(
          Array.from({ length: 4 }, () => openDatabase({ databaseUrl: url, maxConnections: 5 })),
        )
      : [];
    try {
      const dbs = url ? pools.map((p) => p.db) : [t.db];
      const budgets = dbs.map((db) =>
        createTokenBudget(db, { dailyTokens: 1_000_000_000, dailyUsd: 0.2, now: () => NOW }),
      );
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          budgets[i % budgets.length]!.tryReserve({ tokens: 10, usd: 0.01 }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(20);
      const refusals = results.filter((r) => !r.ok);
      expect(refusals).toHaveLength(30);
      expect(refusals.every((r) => !r.ok && r.by === 'usd')).toBe(true);
      const s = await budgets[0]!.status();
      expect(s.usd).toEqual({ budget: 0.2, used: 0, reserved: 0.2, remaining: 0 });
      expect(s.refused).toBe(30);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('refuses a model with no listed price under a dollar budget, naming it; calls it without one', async () => {
    const llm = client({ DAILY_USD_BUDGET: '5', CHEAP_MODEL: 'my-local-llama' });
    const r = await llm.call(request('q'));
    expect(r.status).toBe('budget_exceeded');
    if (r.status === 'budget_exceeded') {
      expect(r.reason).toContain('model my-local-llama has no listed price');
      expect(r.reason).toContain('DAILY_USD_BUDGET');
    }
    expect(server.count).toBe(0);
    const [log] = await t.db.select().from(agentLogs).where(eq(agentLogs.status, 'budget_exceeded'));
    expect(log!.error).toContain('my-local-llama');
    const free = await client({ CHEAP_MODEL: 'my-local-llama' }).call(request('q'));
    expect(free.status).toBe('ok');
    expect(free.meta.costKnown).toBe(false);
  });

  it('says which budget refused: tokens or dollars', async () => {
    const byTokens = await client({ DAILY_USD_BUDGET: '5', DAILY_TOKEN_BUDGET: '10' }).call(request('q'));
    expect(byTokens.status === 'budget_exceeded' && byTokens.reason).toContain('daily token budget');
    const byUsd = await client({ DAILY_USD_BUDGET: '0.000001' }).call(request('q'));
    expect(byUsd.status === 'budget_exceeded' && byUsd.reason).toContain('daily dollar budget');
  });
});
