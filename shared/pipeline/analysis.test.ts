import { existsSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ANSWERS, type OpenAIServer, startOpenAIServer } from '../../test/helpers/openai-server';
import { AGENT_NAMES } from '../agents/schemas';
import { agentLogs, decisions, positions, runs, trades } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { binanceDataFile, readBinanceCsv, realDataSuiteName } from '../indicators/testing';
import { createLLMClient } from '../llm/client';
import type { Candle } from '../market/types';
import { BUILTIN_PROMPTS } from '../prompts/builtin';
import { AppError } from '../util/errors';
import {
  createDecision,
  getAnalysis,
  prepareSnapshot,
  runAnalysis,
  runAnalyst,
  runDecisionChain,
} from './analysis';
import type { PipelineDeps } from './deps';
import { memoryCandleSource, testSettings } from './testing';

const FILE = binanceDataFile('BTCUSDT-1h.csv.gz');
const HAS_DATA = existsSync(FILE);
const NOW = Date.parse('2025-06-01T00:00:00Z');
const AT = '2024-03-01T00:00:00Z';
const USAGE = { prompt_tokens: 321, completion_tokens: 87, cached_tokens: 64 };

describe.skipIf(!HAS_DATA)(realDataSuiteName('analysis pipeline', 'BTCUSDT-1h.csv.gz'), () => {
  let btc: Candle[] = [];
  beforeAll(() => {
    btc = readBinanceCsv(FILE);
  });
  const candles = () => memoryCandleSource({ BTCUSDT: { '1h': btc }, DOGEUSDT: { '1h': btc } });

  describe.each(testDrivers())('on %s', (driver) => {
    const t = useTestDatabase(driver);
    let server: OpenAIServer;
    let researcherAnswer: unknown;

    beforeAll(async () => {
      server = await startOpenAIServer({
        latencyMs: 5,
        usage: USAGE,
        respond: ({ schemaName }) =>
          schemaName === 'researcher'
            ? researcherAnswer
            : (DEFAULT_ANSWERS[schemaName ?? ''] ?? { error: 'unknown' }),
      });
    });
    afterAll(() => server.close());
    beforeEach(async () => {
      await t.reset();
      server.requests.length = 0;
      researcherAnswer = DEFAULT_ANSWERS.researcher;
    });

    function offlineDeps(env: Record<string, string> = {}): PipelineDeps {
      const settings = testSettings({ SYMBOLS: 'BTCUSDT,DOGEUSDT', ...env });
      return {
        db: t.db,
        settings,
        llm: createLLMClient({ db: t.db, settings, now: () => NOW }),
        candles: candles(),
        now: () => NOW,
      };
    }
    function serverDeps(env: Record<string, string> = {}): PipelineDeps {
      const settings = testSettings({
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: server.url,
        LLM_API_KEY: 'test-key',
        LLM_MAX_RETRIES: '1',
        LLM_TIMEOUT_MS: '5000',
        ...env,
      });
      const llm = createLLMClient({ db: t.db, settings, now: () => NOW, sleep: async () => {} });
      return { db: t.db, settings, llm, candles: candles(), now: () => NOW };
    }
    const step = { symbol: 'BTCUSDT', timeframe: '1h', mode: 'backtest_step' as const, timestamp: AT };
    const bookCounts = async () => ({
      runs: (await t.db.select().from(runs)).length,
      trades: (await t.db.select().from(trades)).length,
      positions: (await t.db.select().from(positions)).length,
    });

    it('offline: a full decision on real data, labelled offline, zero cost, tokens reported, deterministic', async () => {
      const deps = offlineDeps();
      const a = await runAnalysis(deps, step);
      const b = await runAnalysis(deps, step);
      expect(a.status).toBe('completed');
      expect(a.provider).toBe('offline');
      expect(a.decisionTime).toEqual(new Date(AT));
      expect(a.final).not.toBeNull();
      for (const name of ['technical', 'sentiment', 'tokenomics', 'researcher'] as const) {
        expect(a.agents[name]).toMatchObject({
          status: 'ok',
          provider: 'offline',
          model: 'offline-rules',
          costUsd: 0,
        });
        expect(a.agents[name]!.tokensIn).toBeGreaterThan(0);
      }
      // Every decision agent's version is recorded: the registry's builtin versions (content hashes).
      expect(a.promptVersions).toEqual(
        Object.fromEntries(AGENT_NAMES.map((n) => [n, BUILTIN_PROMPTS[n].version])),
      );
      expect(a.agents.trader!.promptVersion).toBe(BUILTIN_PROMPTS.trader.version);
      expect(a.cost.costUsd).toBe(0);
      expect(a.cost.tokensIn).toBeGreaterThan(0);
      // same inputs, same decision
      expect(b.final).toEqual(a.final);
      for (const name of ['technical', 'sentiment', 'tokenomics', 'researcher', 'trader', 'risk'] as const)
        expect(b.agents[name]?.output ?? null).toEqual(a.agents[name]?.output ?? null);
      const logs = await t.db.select().from(agentLogs);
      expect(logs.every((l) => l.provider === 'offline' && Number(l.costUsd) === 0)).toBe(true);
      expect(logs.length).toBe(2 * a.cost.calls);
    });

    it('runs all six agents through the OpenAI protocol, recording the provider usage per agent', async () => {
      const a = await runAnalysis(serverDeps(), step);
      expect(a.status).toBe('completed');
      expect(a.provider).toBe('openai');
      expect(server.count).toBe(6);
      expect(a.final).toMatchObject({ action: 'BUY', sizePct: 5, gated: false });
      for (const agent of Object.values(a.agents))
        expect(agent).toMatchObject({
          status: 'ok',
          tokensIn: USAGE.prompt_tokens,
          tokensOut: USAGE.completion_tokens,
        });
      expect(a.cost).toMatchObject({
        calls: 6,
        cacheHits: 0,
        tokensIn: 6 * USAGE.prompt_tokens,
        tokensOut: 6 * USAGE.completion_tokens,
      });
      expect(a.cost.costUsd).toBeGreaterThan(0);
      const logs = await t.db.select().from(agentLogs);
      expect(logs).toHaveLength(6);
      for (const l of logs)
        expect(l).toMatchObject({
          decisionId: a.id,
          runId: 'scratch',
          symbol: 'BTCUSDT',
          tokensIn: USAGE.prompt_tokens,
          tokensOut: USAGE.completion_tokens,
          tokensCached: USAGE.cached_tokens,
          cacheHit: false,
          retries: 0,
        });
      // no prompt carries raw candles or another agent's prose: the trader sees the researcher's fields only
      const traderPrompt = server.requests.find((r) => r.schemaName === 'trader')!.body.messages[1]!.content;
      expect(traderPrompt).not.toContain('close above EMA50');
      expect(traderPrompt).toContain('"stance":"bullish"');
    });

    it('an identical rerun makes zero provider calls and gives the same decision', async () => {
      const deps = serverDeps();
      const first = await runAnalysis(deps, step);
      const calls = server.count;
      const again = await runAnalysis(deps, step);
      expect(server.count).toBe(calls);
      expect(again.final).toEqual(first.final);
      expect(again.cost).toMatchObject({ calls: 0, cacheHits: 6, tokensIn: 0, costUsd: 0 });
    });

    it('gates: low researcher confidence is HOLD without trader and risk calls', async () => {
      researcherAnswer = { ...(DEFAULT_ANSWERS.researcher as object), confidence: 0.3 };
      const a = await runAnalysis(serverDeps(), step);
      expect(a.status).toBe('completed');
      expect(a.final).toMatchObject({ action: 'HOLD', gated: true });
      expect(a.agents.trader).toMatchObject({ status: 'gated' });
      expect(a.agents.risk).toMatchObject({ status: 'gated' });
      expect(server.requests.map((r) => r.schemaName)).not.toContain('trader');
      expect(server.count).toBe(4);
    });

    it('an analyst that fails is unavailable and the others continue', async () => {
      server.queueFault({ kind: 'server_error' }, { schemaName: 'technical', times: 2 });
      const a = await runAnalysis(serverDeps(), step);
      expect(a.agents.technical).toMatchObject({ status: 'unavailable' });
      expect(a.agents.technical!.reason).toMatch(/^UPSTREAM_LLM: /);
      expect(a.agents.sentiment).toMatchObject({ status: 'ok' });
      expect(a.agents.researcher).toMatchObject({ status: 'ok' });
      const researcherPrompt = server.requests.find((r) => r.schemaName === 'researcher')!.body.messages[1]!
        .content;
      expect(researcherPrompt).toContain('"technical":{"unavailable"');
      expect(a.status).toBe('completed');
    });

    it('a failed repair still counts the billed first attempt: decision totals match agent_logs', async () => {
      server.queueFault({ kind: 'malformed' }, { schemaName: 'technical' });
      server.queueFault({ kind: 'server_error' }, { schemaName: 'technical', times: 2 });
      const a = await runAnalysis(serverDeps(), step);
      expect(a.agents.technical).toMatchObject({ status: 'unavailable' });
      expect(a.agents.technical!.reason).toMatch(/^UPSTREAM_LLM: /);
      const logs = await t.db.select().from(agentLogs);
      // five agents answered, and technical's malformed first answer was billed too
      expect(a.cost.tokensIn).toBe(6 * USAGE.prompt_tokens);
      expect(a.cost.tokensIn).toBe(logs.reduce((n, l) => n + l.tokensIn, 0));
      expect(a.cost.tokensOut).toBe(logs.reduce((n, l) => n + l.tokensOut, 0));
      expect(a.cost.costUsd).toBeCloseTo(
        logs.reduce((n, l) => n + Number(l.costUsd), 0),
        8,
      );
    });

    it('a researcher that abstains means no trade, with the error recorded and no trader call', async () => {
      server.queueFault({ kind: 'schema_invalid' }, { schemaName: 'researcher', times: 2 });
      const a = await runAnalysis(serverDeps(), step);
      expect(a.status).toBe('no_trade');
      expect(a.decisionClass).toBe('abstained');
      expect(a.agents.researcher).toMatchObject({ status: 'abstained', output: null });
      expect(a.error).toMatchObject({ code: 'LLM_INVALID_OUTPUT' });
      expect(a.final).toMatchObject({ action: 'HOLD', sizePct: 0 });
      expect(server.requests.map((r) => r.schemaName)).not.toContain('trader');
    });

    it('a researcher rate-limited past the retries is a failed decision with UPSTREAM_LLM_RATE_LIMITED, not a HOLD', async () => {
      server.queueFault({ kind: 'rate_limit', retryAfterSeconds: 1 }, { schemaName: 'researcher', times: 2 });
      const a = await runAnalysis(serverDeps(), step);
      expect(a.status).toBe('failed');
      expect(a.decisionClass).toBe('failed');
      expect(a.final).toBeNull();
      expect(a.error).toMatchObject({ code: 'UPSTREAM_LLM_RATE_LIMITED' });
      expect(a.agents.researcher).toMatchObject({ status: 'error' });
      expect(a.agents.researcher!.reason).toMatch(/^UPSTREAM_LLM_RATE_LIMITED: /);
    });

    it('a model provider failing every analyst is a failed decision naming the provider failure', async () => {
      // three analysts, each tried twice (LLM_MAX_RETRIES 1): every call fails, none is left queued
      server.queueFault({ kind: 'server_error' }, { times: 6 });
      const a = await runAnalysis(serverDeps(), step);
      expect(a.status).toBe('failed');
      expect(a.decisionClass).toBe('failed');
      expect(a.error?.code).toBe('UPSTREAM_LLM');
      expect(a.error?.message).toMatch(/^no analyst could answer: technical: /);
      for (const name of ['technical', 'sentiment', 'tokenomics'] as const)
        expect(a.agents[name]).toMatchObject({ status: 'unavailable' });
      expect(a.agents.researcher).toMatchObject({ status: 'skipped' });
      expect(a.final).toBeNull();
      expect(server.requests.map((r) => r.schemaName)).not.toContain('researcher');
      expect(server.count).toBe(6);
    });

    it('market data that cannot be loaded fails the decision with the Binance error, calling no agent', async () => {
      const deps = {
        ...serverDeps(),
        candles: {
          getCandles: async () => {
            throw new AppError('UPSTREAM_BINANCE_RATE_LIMITED', 'Binance rate limit: retry after 120 s');
          },
        },
      };
      const before = await bookCounts();
      const a = await runAnalysis(deps, { symbol: 'BTCUSDT', timeframe: '1h', mode: 'live' });
      expect(a.status).toBe('failed');
      expect(a.error).toEqual({
        code: 'UPSTREAM_BINANCE_RATE_LIMITED',
        message: 'Binance rate limit: retry after 120 s',
      });
      expect(Object.values(a.agents).every((r) => r === null)).toBe(true);
      expect(server.count).toBe(0);
      expect(await bookCounts()).toEqual(before);
    });

    it('a live decision whose researcher fails leaves the portfolio untouched', async () => {
      const before = await bookCounts();
      server.queueFault({ kind: 'schema_invalid' }, { schemaName: 'researcher', times: 2 });
      const deps = serverDeps();
      const a = await runAnalysis(deps, { symbol: 'BTCUSDT', timeframe: '1h', mode: 'live' });
      expect(a.status).toBe('no_trade');
      expect(a.execution).toBeNull();
      expect(a.decisionTime).toEqual(new Date(NOW));
      expect(await bookCounts()).toEqual(before);
    });

    it('a live decision fills at the latest price against the live book, with clamps recorded, once', async () => {
      const deps = { ...serverDeps(), latestPrice: async () => 50_000 };
      const a = await runAnalysis(deps, { symbol: 'BTCUSDT', timeframe: '1h', mode: 'live' });
      expect(a.status).toBe('completed');
      expect(a.runId).toBe('live');
      expect(a.final).toMatchObject({ action: 'BUY', sizePct: 5 });
      expect(a.execution).toMatchObject({ price: 50_000, rejected: null });
      expect(a.execution!.trade).toMatchObject({
        side: 'BUY',
        status: 'filled',
        decisionId: a.id,
        runId: 'live',
      });
      expect(a.portfolio!.cash).toBeLessThan(10_000);
      expect(await bookCounts()).toEqual({ runs: 1, trades: 1, positions: 1 });
      // a retried finalize does not fill twice
      const { finalizeDecision } = await import('./analysis');
      expect(await finalizeDecision(deps, { decisionId: a.id })).toMatchObject({
        status: 'completed',
        action: 'BUY',
      });
      expect((await t.db.select().from(trades)).length).toBe(1);
    });

    it('backtest decisions never touch a book', async () => {
      await runAnalysis(serverDeps(), step);
      expect(await bookCounts()).toEqual({ runs: 0, trades: 0, positions: 0 });
    });

    it('a budget refusal is BUDGET_EXCEEDED, not a HOLD', async () => {
      const a = await runAnalysis(serverDeps({ DAILY_TOKEN_BUDGET: '100' }), step);
      expect(a.status).toBe('budget_exceeded');
      expect(a.final).toBeNull();
      expect(a.error).toMatchObject({ code: 'BUDGET_EXCEEDED' });
      expect(a.agents.technical).toMatchObject({ status: 'budget_exceeded' });
      expect(server.count).toBe(0);
    });

    it('a symbol without static data leaves sentiment and tokenomics unavailable, with the reason', async () => {
      const a = await runAnalysis(offlineDeps(), { ...step, symbol: 'DOGEUSDT' });
      expect(a.agents.sentiment).toMatchObject({
        status: 'unavailable',
        reason: 'no sentiment source had data: static: no static data for DOGE',
      });
      expect(a.agents.tokenomics).toMatchObject({ status: 'unavailable', reason: 'no static data for DOGE' });
      expect(a.agents.technical).toMatchObject({ status: 'ok' });
      expect(a.status).toBe('completed');
    });

    it('blind mode hides the symbol, the price level and the date from the model', async () => {
      const deps = serverDeps();
      const { decisionId } = await createDecision(deps, { ...step, blind: true });
      await runDecisionChain(deps, decisionId);
      const a = await getAnalysis(deps, decisionId);
      expect(a.agents.sentiment).toMatchObject({ status: 'unavailable' });
      const prompts = server.requests.map((r) => r.body.messages.map((m) => m.content).join('\n')).join('\n');
      expect(prompts).not.toContain('BTC');
      expect(prompts).not.toMatch(/20\d\d-\d\d-\d\d/);
      const technical = JSON.parse(
        server.requests.find((r) => r.schemaName === 'technical')!.body.messages[1]!.content,
      );
      expect(technical).toMatchObject({ asset: 'ASSET', close: 100 });
    });

    it('each step runs on its own with only the decision id, and a repeated step does not call again', async () => {
      const deps = serverDeps();
      const { decisionId } = await createDecision(deps, step);
      expect(await prepareSnapshot(deps, { decisionId })).toEqual({ decisionId, ok: true });
      const r1 = await runAnalyst(deps, { decisionId, analyst: 'technical' });
      const r2 = await runAnalyst(deps, { decisionId, analyst: 'technical' });
      expect(r2).toEqual(r1);
      expect(server.count).toBe(1);
      const [row] = await t.db.select().from(decisions);
      expect(row!.status).toBe('running');
    });

    it('no look-ahead: bars not closed at the decision time cannot change its snapshot (aligned or not)', async () => {
      for (const at of [AT, '2024-03-01T00:30:00Z']) {
        const t0 = Date.parse(at);
        // the same history, with every bar still open at t0 (and everything after) wildly changed
        const poisoned = btc.map((c) =>
          c.closeTime + 1 > t0 ? { ...c, open: 1, high: 1e9, low: 1, close: 1e9, volume: 1e12 } : c,
        );
        const snapshots = [];
        for (const source of [btc, poisoned]) {
          const deps = { ...offlineDeps(), candles: memoryCandleSource({ BTCUSDT: { '1h': source } }) };
          const { decisionId } = await createDecision(deps, { ...step, timestamp: at });
          await prepareSnapshot(deps, { decisionId });
          const [row] = await t.db.select().from(decisions).where(eq(decisions.id, decisionId));
          snapshots.push(row!.snapshot);
        }
        expect(snapshots[1]).toEqual(snapshots[0]);
        expect((snapshots[0] as { market: { lastClose: number } }).market.lastClose).toBeLessThan(1e6);
      }
    });

    it('the market reading is computed once per set of bars: a corrected bar before the decision time is read afresh', async () => {
      const t0 = Date.parse(AT);
      const bars = btc.map((c) => ({ ...c }));
      const deps = { ...offlineDeps(), candles: memoryCandleSource({ BTCUSDT: { '1h': bars } }) };
      const snapshotAt = async () => {
        const { decisionId } = await createDecision(deps, { ...step, timestamp: AT });
        await prepareSnapshot(deps, { decisionId });
        const [row] = await t.db.select().from(decisions).where(eq(decisions.id, decisionId));
        return row!.snapshot as { market: unknown; regime: unknown };
      };
      const first = await snapshotAt();
      expect((await snapshotAt()).market).toEqual(first.market);
      // The bar that closed just before t0 is corrected in the source (a re-import, a repaired feed).
      const i = bars.findLastIndex((c) => c.closeTime + 1 <= t0);
      bars[i] = { ...bars[i]!, close: bars[i]!.close * 1.1, high: bars[i]!.high * 1.1 };
      const corrected = await snapshotAt();
      expect(corrected.market).not.toEqual(first.market);
      expect((corrected.market as { lastClose: number }).lastClose).toBeCloseTo(bars[i]!.close, 1);
    });

    it('refuses a decision before the indicator warm-up as failed, with the reason', async () => {
      const a = await runAnalysis(offlineDeps(), { ...step, timestamp: '2018-01-10T00:00:00Z' });
      expect(a.status).toBe('failed');
      expect(a.error).toMatchObject({ code: 'INSUFFICIENT_DATA' });
    });
  });
});
