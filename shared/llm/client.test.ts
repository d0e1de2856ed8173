import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { type OpenAIServer, startOpenAIServer } from '../../test/helpers/openai-server';
import { agentLogs, llmCache, tokenLedger } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { testSettings } from '../pipeline/testing';
import { utcDay } from './budget';
import { createLLMClient, type LLMClientOptions, type LlmCallRequest, ROLE_MAX_TOKENS } from './client';
import { createOpenAIProvider } from './openai-provider';
import { costUsd, priceFor } from './prices';
import { toStrictJsonSchema } from './structured';
import { estimateInputTokens } from './tokens';

const USAGE = { prompt_tokens: 100, completion_tokens: 20, cached_tokens: 40 };
const NOW = Date.parse('2024-05-01T12:00:00Z');
const answerSchema = z.object({ verdict: z.enum(['yes', 'no']), score: z.number().min(0).max(1) });

function request(content: string, over: Partial<LlmCallRequest<z.infer<typeof answerSchema>>> = {}) {
  return {
    agent: 'technical' as const,
    promptVersion: 'test@1',
    messages: [
      { role: 'system' as const, content: 'Answer yes or no.' },
      { role: 'user' as const, content },
    ],
    schemaName: 'answer',
    schema: answerSchema,
    input: { content },
    context: { symbol: 'BTCUSDT', runId: 'test' },
    ...over,
  };
}

describe.each(testDrivers())('LLMClient on %s', (driver) => {
  const t = useTestDatabase(driver);
  let server: OpenAIServer;
  let sleeps: number[];

  beforeAll(async () => {
    server = await startOpenAIServer({
      latencyMs: 20,
      usage: USAGE,
      respond: ({ schemaName }) =>
        schemaName === 'answer' || schemaName === undefined
          ? { verdict: 'yes', score: 0.9 }
          : { error: 'unknown' },
    });
  });
  afterAll(() => server.close());
  beforeEach(async () => {
    await t.reset();
    server.clearFaults();
    server.requests.length = 0;
    sleeps = [];
  });

  function client(
    env: Record<string, string> = {},
    opts: { jsonObject?: boolean } & Partial<Pick<LLMClientOptions, 'seed' | 'now'>> = {},
  ) {
    const settings = testSettings({
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: server.url,
      LLM_API_KEY: 'test-key',
      CHEAP_MODEL: 'gpt-4.1-mini',
      STRONG_MODEL: 'gpt-4.1',
      LLM_MAX_RETRIES: '2',
      LLM_TIMEOUT_MS: '10000',
      ...env,
    });
    return createLLMClient({
      db: t.db,
      settings,
      now: opts.now ?? (() => NOW),
      ...(opts.seed === undefined ? {} : { seed: opts.seed }),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      ...(opts.jsonObject ? { structuredMode: () => 'json_object' as const } : {}),
    });
  }

  it('sends the strict JSON schema, the role cap and the settings, and logs the provider usage in one row', async () => {
    const llm = client();
    const out = await llm.call(request('is it up?'));
    expect(out.status).toBe('ok');
    if (out.status !== 'ok') return;
    expect(out.output).toEqual({ verdict: 'yes', score: 0.9 });
    const body = server.requests[0]!.body;
    expect(body.model).toBe('gpt-4.1-mini');
    expect(body.max_tokens).toBe(ROLE_MAX_TOKENS.technical);
    expect(body.temperature).toBe(0.1);
    expect(body.seed).toBeTypeOf('number');
    expect(body.response_format?.type).toBe('json_schema');
    expect(body.response_format?.json_schema).toMatchObject({ name: 'answer', strict: true });
    expect(server.requests[0]!.authorization).toBe('Bearer test-key');

    const rows = await t.db.select().from(agentLogs);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    const expectedCost = costUsd('gpt-4.1-mini', {
      promptTokens: 100,
      completionTokens: 20,
      cachedTokens: 40,
    })!;
    expect(row).toMatchObject({
      agent: 'technical',
      provider: 'openai',
      tier: 'cheap',
      model: 'gpt-4.1-mini',
      promptVersion: 'test@1',
      status: 'ok',
      tokensIn: USAGE.prompt_tokens,
      tokensOut: USAGE.completion_tokens,
      tokensCached: USAGE.cached_tokens,
      retries: 0,
      cacheHit: false,
      symbol: 'BTCUSDT',
      runId: 'test',
      error: null,
    });
    expect(Number(row.costUsd)).toBeCloseTo(expectedCost, 8);
    // 60 uncached x $0.40 + 40 cached x $0.10 + 20 out x $1.60, per million
    expect(expectedCost).toBeCloseTo((60 * 0.4 + 40 * 0.1 + 20 * 1.6) / 1e6, 12);
    expect(row.inputSummary).toContain('is it up?');
    expect(row.outputSummary).toContain('"verdict":"yes"');
    expect(out.meta).toMatchObject({
      tokensIn: 100,
      tokensOut: 20,
      tokensCached: 40,
      cacheHit: false,
      retries: 0,
    });
  });

  it('answers an identical call from the cache: zero provider calls, same answer, hit counted, no budget', async () => {
    const llm = client();
    const first = await llm.call(request('same question'));
    const ledgerAfterFirst = await llm.budget.status(utcDay(NOW));
    const second = await llm.call(request('same question'));
    expect(server.count).toBe(1);
    expect(second).toMatchObject({ status: 'ok', meta: { cacheHit: true, tokensIn: 0, costUsd: 0 } });
    expect(second.status === 'ok' && first.status === 'ok' && second.output).toEqual(
      first.status === 'ok' && first.output,
    );
    const [cached] = await t.db.select().from(llmCache);
    expect(cached!.hits).toBe(1);
    expect(await llm.budget.status(utcDay(NOW))).toEqual(ledgerAfterFirst);
    const logs = await t.db.select().from(agentLogs).where(eq(agentLogs.cacheHit, true));
    expect(logs).toHaveLength(1);
    // a different question is a miss
    await llm.call(request('another question'));
    expect(server.count).toBe(2);
  });

  it('concurrent identical calls make one provider call and give one answer', async () => {
    const llm = client();
    const outs = await Promise.all([1, 2, 3].map(() => llm.call(request('asked three times at once'))));
    expect(server.count).toBe(1);
    expect(outs.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
    expect(outs.filter((o) => o.meta.cacheHit)).toHaveLength(2);
    const ledger = await llm.budget.status(utcDay(NOW));
    expect(ledger).toMatchObject({ used: USAGE.prompt_tokens + USAGE.completion_tokens, reserved: 0 });
  });

  it('honours Retry-After on 429 and succeeds within the retry bound', async () => {
    server.queueFault({ kind: 'rate_limit', retryAfterSeconds: 3 });
    const out = await client().call(request('rate limited'));
    expect(out).toMatchObject({ status: 'ok', meta: { retries: 1 } });
    expect(server.count).toBe(2);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(3000);
    const [row] = await t.db.select().from(agentLogs);
    expect(row!.retries).toBe(1);
  });

  it('gives up after LLM_MAX_RETRIES with LlmRateLimited, releasing the reservation', async () => {
    server.queueFault({ kind: 'rate_limit', retryAfterSeconds: 1 }, { times: 3 });
    const llm = client();
    await expect(llm.call(request('always limited'))).rejects.toMatchObject({ name: 'LlmRateLimited' });
    expect(server.count).toBe(3);
    const status = await llm.budget.status(utcDay(NOW));
    expect(status.reserved).toBe(0);
    expect(status.used).toBe(0);
    const [row] = await t.db.select().from(agentLogs);
    expect(row).toMatchObject({ status: 'error', retries: 2 });
    expect(row!.error).toContain('LlmRateLimited');
  });

  it('retries a 500 with backoff, and reports LlmUpstreamError when it persists', async () => {
    server.queueFault({ kind: 'server_error', status: 503 });
    expect(await client().call(request('one 503'))).toMatchObject({ status: 'ok', meta: { retries: 1 } });
    expect(sleeps[0]).toBeGreaterThan(0);
    server.queueFault({ kind: 'server_error' }, { times: 3 });
    await expect(client().call(request('always 500'))).rejects.toMatchObject({
      name: 'LlmUpstreamError',
      code: 'UPSTREAM_LLM',
    });
  });

  it('times out a hanging call and reports LlmTimeout after the retries', async () => {
    server.queueFault({ kind: 'hang' }, { times: 2 });
    await expect(
      client({ LLM_MAX_RETRIES: '1', LLM_TIMEOUT_MS: '300' }).call(request('hang')),
    ).rejects.toMatchObject({
      name: 'LlmTimeout',
      code: 'LLM_TIMEOUT',
    });
    expect(server.count).toBe(2);
    // the timeout aborted each HTTP request (the SDK did not leave them open, nor retry them itself)
    await vi.waitFor(() => expect(server.requests.map((r) => r.abortedByClient)).toEqual([true, true]));
  });

  it("cuts a request's timeout to the decision's deadline, and starts no retry past it", async () => {
    server.queueFault({ kind: 'hang' }, { times: 2 });
    const deadlineAt = Date.now() + 400;
    const err = await client({ LLM_MAX_RETRIES: '3', LLM_TIMEOUT_MS: '10000' })
      .call(request('hang until the deadline', { context: { deadlineAt } }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'LlmTimeout', code: 'LLM_TIMEOUT' });
    // one request, aborted at the deadline (not after LLM_TIMEOUT_MS), and no retry after it
    expect(server.count).toBe(1);
    expect(Date.now()).toBeGreaterThanOrEqual(deadlineAt);
    await vi.waitFor(() => expect(server.requests[0]?.abortedByClient).toBe(true));
  });

  it('a circuit breaker per provider: after LLM_BREAKER_FAILURES failures calls fail at once, naming the provider', async () => {
    server.queueFault({ kind: 'server_error' }, { times: Number.POSITIVE_INFINITY });
    const llm = client({ LLM_MAX_RETRIES: '0', LLM_BREAKER_FAILURES: '3' });
    for (let i = 0; i < 3; i++)
      await expect(llm.call(request(`fails ${i}`))).rejects.toMatchObject({ name: 'LlmUpstreamError' });
    expect(server.count).toBe(3);
    const open = await llm.call(request('refused')).catch((e: unknown) => e);
    expect(open).toMatchObject({ name: 'LlmCircuitOpen', code: 'UPSTREAM_LLM_UNAVAILABLE', status: 503 });
    expect((open as Error).message).toContain(server.url);
    expect((open as Error).message).toMatch(/next try after \d{4}-\d\d-\d\dT/);
    expect(server.count).toBe(3); // not sent
  });

  it('a Retry-After holds every call to that provider, not only the one that received it', async () => {
    server.queueFault({ kind: 'rate_limit', retryAfterSeconds: 60 });
    const llm = client({ LLM_MAX_RETRIES: '2' });
    // 60 s is past LLM_RETRY_AFTER_MAX_MS (10 s): that call fails at once, and so does the next one,
    // without a request, until the provider's time
    await expect(llm.call(request('first'))).rejects.toMatchObject({ name: 'LlmRateLimited' });
    const second = await llm.call(request('second')).catch((e: unknown) => e);
    expect(second).toMatchObject({ name: 'LlmRateLimited', code: 'UPSTREAM_LLM_RATE_LIMITED' });
    expect((second as { details: { retryAfterSeconds: number } }).details.retryAfterSeconds).toBeGreaterThan(
      50,
    );
    expect(server.count).toBe(1);
  });

  it('repairs malformed JSON once, sending the error back', async () => {
    server.queueFault({ kind: 'malformed' });
    const llm = client();
    const out = await llm.call(request('malformed'));
    expect(out).toMatchObject({ status: 'ok', meta: { repaired: true, tokensIn: 200, tokensOut: 40 } });
    expect(server.count).toBe(2);
    const repair = server.requests[1]!.body.messages;
    expect(repair.at(-2)!.role).toBe('assistant');
    expect(repair.at(-1)!.content).toContain('not valid JSON');
    const [row] = await t.db.select().from(agentLogs);
    expect(row).toMatchObject({ status: 'repaired', tokensIn: 200, tokensOut: 40 });
    expect(Number(row!.costUsd)).toBeCloseTo(
      2 * costUsd('gpt-4.1-mini', { promptTokens: 100, completionTokens: 20, cachedTokens: 40 })!,
      10,
    );
    // both requests went through the budget
    expect(await llm.budget.status(utcDay(NOW))).toMatchObject({ used: 240, reserved: 0 });
  });

  it('abstains after schema-invalid JSON twice: no invented answer, nothing cached', async () => {
    server.queueFault({ kind: 'schema_invalid' }, { times: 2 });
    const out = await client().call(request('invalid'));
    expect(out.status).toBe('abstained');
    expect(out).not.toHaveProperty('output');
    if (out.status === 'abstained') expect(out.reason).toContain('does not match the schema');
    expect(server.requests[1]!.body.messages.at(-1)!.content).toContain('does not match the schema');
    expect(await t.db.select().from(llmCache)).toHaveLength(0);
    const [row] = await t.db.select().from(agentLogs);
    expect(row).toMatchObject({ status: 'abstained', tokensIn: 200, outputSummary: null });
  });

  it('JSON mode puts the schema into the system message and asks for json_object', async () => {
    const out = await client({}, { jsonObject: true }).call(request('json mode'));
    expect(out.status).toBe('ok');
    const body = server.requests[0]!.body;
    expect(body.response_format).toEqual({ type: 'json_object' });
    expect(body.messages[0]!.content).toContain('"verdict"');
  });

  it('JSON mode is chosen per model by LLM_JSON_MODE_MODELS', async () => {
    await client({ LLM_JSON_MODE_MODELS: 'gpt-4.1-mini' }).call(request('per model'));
    expect(server.requests[0]!.body.response_format).toEqual({ type: 'json_object' });
  });

  it('records an unknown model with cost 0 flagged as unknown', async () => {
    const out = await client({ CHEAP_MODEL: 'some-local-model' }).call(request('unknown model'));
    expect(priceFor('some-local-model')).toBeUndefined();
    expect(out).toMatchObject({ status: 'ok', meta: { costUsd: 0, costKnown: false } });
  });

  it('does not retry a 429 that no retry can fix: insufficient_quota, or x-should-retry: false', async () => {
    server.queueFault({ kind: 'rate_limit', code: 'insufficient_quota' });
    const llm = client();
    const err = await llm.call(request('out of credit')).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'LlmRequestError' });
    expect((err as Error).message).toContain('insufficient_quota');
    expect(server.count).toBe(1);
    server.queueFault({ kind: 'rate_limit', retryAfterSeconds: 1, shouldRetry: false });
    await expect(llm.call(request('told not to retry'))).rejects.toMatchObject({ name: 'LlmRequestError' });
    expect(server.count).toBe(2);
    expect(sleeps).toEqual([]);
    expect((await llm.budget.status(utcDay(NOW))).reserved).toBe(0);
  });

  it('never lets the API key into an error, its causes, or an agent_logs row (a proxy that echoes it)', async () => {
    const key = 'sk-test-SECRET-0123456789abcdef';
    server.queueFault({ kind: 'unauthorized' });
    const err = await client({ LLM_API_KEY: key })
      .call(request('who am i'))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'LlmRequestError' });
    expect(server.requests[0]!.authorization).toBe(`Bearer ${key}`);
    const seen: string[] = [];
    for (let e: unknown = err, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
      const x = e as Error;
      seen.push(String(x.message), String(x.stack), JSON.stringify(x));
    }
    expect(seen.join('\n')).toContain('401');
    expect(seen.join('\n')).not.toContain('SECRET');
    const rows = await t.db.select().from(agentLogs);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain('SECRET');
  });

  it('charges the budget the reserved worst case when the provider reports no usage (never 0)', async () => {
    const silent = await startOpenAIServer({ usage: null, respond: () => ({ verdict: 'no', score: 0.2 }) });
    try {
      const llm = client({ LLM_BASE_URL: silent.url });
      const out = await llm.call(request('no usage field'));
      expect(out.status).toBe('ok');
      const reserved =
        estimateInputTokens(
          request('no usage field').messages,
          JSON.stringify(toStrictJsonSchema(answerSchema)),
        ) + ROLE_MAX_TOKENS.technical;
      const status = await llm.budget.status(utcDay(NOW));
      expect(status).toMatchObject({ used: reserved, reserved: 0 });
      // the log keeps what the provider reported: nothing
      const [row] = await t.db.select().from(agentLogs);
      expect(row).toMatchObject({ tokensIn: 0, tokensOut: 0, status: 'ok' });
    } finally {
      await silent.close();
    }
  });

  it('keys the cache on everything that changes the answer: the endpoint and the seed too', async () => {
    const other = await startOpenAIServer({ usage: USAGE, respond: () => ({ verdict: 'no', score: 0.1 }) });
    try {
      const first = await client().call(request('same words'));
      expect(first).toMatchObject({ status: 'ok', output: { verdict: 'yes' } });
      // same model name behind another base URL (another provider or a local server): not the same answer
      const elsewhere = await client({ LLM_BASE_URL: other.url }).call(request('same words'));
      expect(elsewhere).toMatchObject({ status: 'ok', output: { verdict: 'no' }, meta: { cacheHit: false } });
      expect(other.count).toBe(1);
      // another seed samples differently
      const reseeded = await client({}, { seed: 8 }).call(request('same words'));
      expect(reseeded).toMatchObject({ meta: { cacheHit: false } });
      expect(server.count).toBe(2);
      // and the identical call still hits
      expect(await client().call(request('same words'))).toMatchObject({ meta: { cacheHit: true } });
      expect(server.count).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('a call that crosses midnight UTC settles on the day it reserved', async () => {
    let clock = Date.parse('2024-05-01T23:59:59.900Z');
    // the clock passes midnight while the request is at the provider (after the reservation)
    const slow = await startOpenAIServer({
      usage: USAGE,
      respond: () => {
        clock = Date.parse('2024-05-02T00:00:00.100Z');
        return { verdict: 'yes', score: 0.5 };
      },
    });
    try {
      const llm = client({ LLM_BASE_URL: slow.url }, { now: () => clock });
      expect((await llm.call(request('late call'))).status).toBe('ok');
      expect(await llm.budget.status('2024-05-01')).toMatchObject({
        used: USAGE.prompt_tokens + USAGE.completion_tokens,
        reserved: 0,
      });
      expect(await llm.budget.status('2024-05-02')).toMatchObject({ used: 0, reserved: 0 });
    } finally {
      await slow.close();
    }
  });

  it('sends max_completion_tokens to OpenAI itself, also when its base URL is set explicitly', async () => {
    const settings = testSettings({ LLM_PROVIDER: 'openai', LLM_API_KEY: 'test-key' });
    // the real SDK against api.openai.com, its requests delivered to the local server
    const provider = createOpenAIProvider({
      apiKey: 'test-key',
      baseURL: 'https://api.openai.com/v1/',
      fetch: (url, init) => fetch(String(url).replace('https://api.openai.com/v1', server.url), init),
    });
    const llm = createLLMClient({ db: t.db, settings, provider, now: () => NOW });
    expect((await llm.call(request('openai itself'))).status).toBe('ok');
    const body = server.requests[0]!.body;
    expect(body.max_completion_tokens).toBe(ROLE_MAX_TOKENS.technical);
    expect(body).not.toHaveProperty('max_tokens');
  });

  it('never overshoots the daily budget under 50 concurrent calls (budget fits 20)', async () => {
    const contents = Array.from({ length: 50 }, (_, i) => `question number ${100 + i}`);
    const schemaText = JSON.stringify(toStrictJsonSchema(answerSchema));
    const reservations = contents.map(
      (c) => estimateInputTokens(request(c).messages, schemaText) + ROLE_MAX_TOKENS.technical,
    );
    expect(new Set(reservations).size).toBe(1);
    const perCall = reservations[0]!;
    const budget = perCall * 20;
    const llm = client({ DAILY_TOKEN_BUDGET: String(budget) });
    const outcomes = await Promise.all(contents.map((c) => llm.call(request(c))));
    const ok = outcomes.filter((o) => o.status === 'ok');
    const refused = outcomes.filter((o) => o.status === 'budget_exceeded');
    expect(ok.length + refused.length).toBe(50);
    expect(ok.length).toBeGreaterThanOrEqual(20);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused)
      if (r.status === 'budget_exceeded') expect(r.reason).toContain('BUDGET_EXCEEDED');
    const [ledger] = await t.db.select().from(tokenLedger);
    expect(Number(ledger!.used)).toBeLessThanOrEqual(budget);
    expect(Number(ledger!.used)).toBe(ok.length * (USAGE.prompt_tokens + USAGE.completion_tokens));
    expect(Number(ledger!.reserved)).toBe(0);
    expect(ledger!.refused).toBe(refused.length);
    expect(server.count).toBe(ok.length);
    const refusedLogs = await t.db.select().from(agentLogs).where(eq(agentLogs.status, 'budget_exceeded'));
    expect(refusedLogs).toHaveLength(refused.length);
  });
});
