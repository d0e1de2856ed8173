/**
 * Prompt versions in the pipeline: every decision records the version of each agent's prompt it used;
 * live decisions split between PROMPT_AB's versions by a hash of their id; a non-builtin version's text
 * is what the model reads; a backtest runs every decision on the versions it pinned, and its outcomes
 * carry them. Real PGlite (PostgreSQL with TEST_PG=1), the offline provider or the real openai SDK against
 * the local OpenAI-protocol server, candles from a seeded random walk.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKlines } from '../../test/helpers/binance-server';
import { DEFAULT_ANSWERS, type OpenAIServer, startOpenAIServer } from '../../test/helpers/openai-server';
import { AGENT_NAMES } from '../agents/schemas';
import { agentLogs, backtests, decisions } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { WARMUP_BARS } from '../indicators/compute';
import { createLLMClient } from '../llm/client';
import { klineToCandle } from '../market/kline';
import { listOutcomes } from '../outcomes/repository';
import { abArm } from '../prompts/ab';
import { BUILTIN_PROMPTS } from '../prompts/builtin';
import { agentPromptVersions } from '../prompts/read';
import { activatePromptVersion, createPromptVersion, registerBuiltinPrompts } from '../prompts/registry';
import { runAnalysis } from './analysis';
import { createBacktest, runBacktest } from './backtest';
import type { PipelineDeps } from './deps';
import { memoryCandleSource, offlineTestDeps, testSettings } from './testing';

const TF_MS = 4 * 3_600_000;
const END = Date.parse('2024-03-01T00:00:00Z');
const NOW = END + 10 * TF_MS;
const FIRST_BAR = Date.parse('2024-01-01T00:00:00Z') - (WARMUP_BARS + 50) * TF_MS;
const candles = generateKlines({
  timeframe: '4h',
  start: FIRST_BAR,
  count: (NOW - FIRST_BAR) / TF_MS,
  startPrice: 42_000,
  seed: 5,
}).map(klineToCandle);
const CANDLES = { BTCUSDT: { '4h': candles } };
const builtin = (a: keyof typeof BUILTIN_PROMPTS) => BUILTIN_PROMPTS[a].version;

describe.each(testDrivers())('prompt versions in decisions on %s', (driver) => {
  const t = useTestDatabase(driver);
  let server: OpenAIServer;
  beforeAll(async () => {
    server = await startOpenAIServer({ respond: ({ schemaName }) => DEFAULT_ANSWERS[schemaName ?? ''] });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await t.reset();
    await registerBuiltinPrompts(t.db);
  });

  const manual = (agent: 'trader' | 'researcher', text: string) =>
    createPromptVersion(t.db, { agent, text, origin: 'manual', parent: builtin(agent) });

  it('live decisions split between the PROMPT_AB versions by a hash of the decision id, and record them', async () => {
    const m = await manual('trader', `${BUILTIN_PROMPTS.trader.text}\nPrefer smaller sizes.`);
    const arms = [builtin('trader'), m.version];
    const deps = offlineTestDeps({
      db: t.db,
      candles: CANDLES,
      now: NOW,
      env: { PROMPT_AB: `trader:${arms.join(',')}` },
    });
    const used = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const a = await runAnalysis(deps, { symbol: 'BTCUSDT', timeframe: '4h', mode: 'live' });
      const expected = arms[abArm(a.id, 'trader', 2)]!;
      used.add(expected);
      // Every agent's version is recorded; the trader's is its arm, the others their active (builtin).
      expect(a.promptVersions).toEqual({
        ...Object.fromEntries(AGENT_NAMES.map((n) => [n, builtin(n)])),
        trader: expected,
      });
      expect(a.agents.trader!.promptVersion).toBe(expected);
    }
    expect(used.size).toBe(2);
    // A backtest_step decision is not part of the test: it gets the active version.
    const step = await runAnalysis(deps, {
      symbol: 'BTCUSDT',
      timeframe: '4h',
      mode: 'backtest_step',
      timestamp: new Date(END).toISOString(),
    });
    expect(step.promptVersions.trader).toBe(builtin('trader'));
  });

  it('a manual version made active is the text the model reads, and the logs carry its version', async () => {
    const text = 'You are the research lead. Be brief; weigh the technical analyst most. Answer in JSON.';
    const m = await manual('researcher', text);
    await activatePromptVersion(t.db, 'researcher', m.version);
    const settings = testSettings({
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: server.url,
      LLM_API_KEY: 'test-key',
      LLM_CACHE: 'false',
      DATA_DIR: 'memory://',
    });
    const deps: PipelineDeps = {
      db: t.db,
      settings,
      llm: createLLMClient({ db: t.db, settings, now: () => NOW, sleep: async () => {} }),
      candles: memoryCandleSource(CANDLES),
      now: () => NOW,
    };
    const sent = server.requests.length;
    const a = await runAnalysis(deps, {
      symbol: 'BTCUSDT',
      timeframe: '4h',
      mode: 'backtest_step',
      timestamp: new Date(END).toISOString(),
    });
    const requests = server.requests.slice(sent);
    const system = (schema: string) =>
      requests.find((r) => r.schemaName === schema)?.body.messages.find((x) => x.role === 'system')?.content;
    expect(system('researcher')).toBe(text);
    expect(system('technical')).toBe(BUILTIN_PROMPTS.technical.text);
    expect(a.promptVersions.researcher).toBe(m.version);
    const logs = await t.db.select().from(agentLogs).where(eq(agentLogs.decisionId, a.id));
    expect(logs.find((l) => l.agent === 'researcher')?.promptVersion).toBe(m.version);
    expect(logs.find((l) => l.agent === 'technical')?.promptVersion).toBe(builtin('technical'));
  });

  it('a backtest runs every decision on its pinned versions, its outcomes carry them, and they score', async () => {
    const m = await manual('trader', `${BUILTIN_PROMPTS.trader.text}\nBacktest variant.`);
    const deps = offlineTestDeps({ db: t.db, candles: CANDLES, now: NOW });
    const request = {
      symbol: 'BTCUSDT',
      start_date: '2024-01-01',
      end_date: '2024-03-01',
      timeframe: '4h',
      max_decisions: 30,
    };
    // An unknown version is a 400 naming the field, and nothing is recorded.
    await expect(
      createBacktest(deps, { ...request, prompt_versions: { trader: '0123456789ab' } }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      status: 400,
      details: { field: 'prompt_versions.trader' },
    });
    await expect(
      createBacktest(deps, { ...request, prompt_versions: { banker: m.version } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
    expect(await t.db.select().from(backtests)).toHaveLength(0);

    const { backtestId } = await createBacktest(deps, { ...request, prompt_versions: { trader: m.version } });
    // A version made active after creation does not change a backtest already planned.
    const later = await manual('researcher', 'a later researcher text');
    await activatePromptVersion(t.db, 'researcher', later.version);
    const done = await runBacktest(deps, backtestId, { concurrency: 4 });
    expect(done.status).toBe('succeeded');
    expect(done.pinnedPromptVersions).toEqual({ trader: m.version });
    expect(done.promptVersions).toMatchObject({ trader: m.version, researcher: builtin('researcher') });
    const rows = await t.db.select().from(decisions).where(eq(decisions.backtestId, backtestId));
    expect(rows).toHaveLength(30);
    for (const r of rows)
      expect(r.promptVersions).toEqual({
        ...Object.fromEntries(AGENT_NAMES.map((n) => [n, builtin(n)])),
        trader: m.version,
      });
    const outcomes = await listOutcomes(t.db, { runId: backtestId });
    expect(outcomes.length).toBeGreaterThan(0);
    for (const o of outcomes) expect(o.context.promptVersions.trader).toBe(m.version);
    const view = await agentPromptVersions(t.db, deps.settings, 'trader');
    const scored = view.versions.find((v) => v.version === m.version)!;
    expect(scored.scores.backtest.count).toBe(outcomes.length);
    expect(scored.scores.live.count).toBe(0);
    const wins = outcomes.filter((o) => o.pnlUsdt > 0).length;
    expect(scored.scores.all.wins).toBe(wins);
  });
});
