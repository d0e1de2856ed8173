/**
 * Consensus mode through the real pipeline: the real `openai` SDK against the local OpenAI-protocol
 * server (each agent's answer chosen per test), real PostgreSQL (PGlite; and the server with TEST_PG=1).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKlines } from '../../test/helpers/binance-server';
import { DEFAULT_ANSWERS, type OpenAIServer, startOpenAIServer } from '../../test/helpers/openai-server';
import { decisions, trades } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { createLLMClient } from '../llm/client';
import { klineToCandle } from '../market/kline';
import { TIMEFRAME_MS } from '../market/types';
import { getAnalysis, runAnalysis } from './analysis';
import { createBacktest, runBacktest } from './backtest';
import type { PipelineDeps } from './deps';
import { memoryCandleSource, testSettings } from './testing';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const AT = '2024-03-01T00:00:00Z';

const technical = (trend: string) => ({ ...(DEFAULT_ANSWERS.technical as object), trend });
const sentiment = (s: string, score: number) => ({
  ...(DEFAULT_ANSWERS.sentiment as object),
  sentiment: s,
  score,
});
const researcher = (stance: string, confidence = 0.8) => ({
  ...(DEFAULT_ANSWERS.researcher as object),
  stance,
  confidence,
});

// A seeded random walk long enough for the indicators' warm-up before AT: the answers come from the
// test server, so the market's values do not matter here.
const BARS = 1_600;
const btc = generateKlines({
  timeframe: '1h',
  start: Date.parse(AT) - BARS * TIMEFRAME_MS['1h'],
  count: BARS,
  startPrice: 40_000,
}).map(klineToCandle);

describe('consensus voting', () => {
  describe.each(testDrivers())('on %s', (driver) => {
    const t = useTestDatabase(driver);
    let server: OpenAIServer;
    let answers: Record<string, unknown>;

    beforeAll(async () => {
      server = await startOpenAIServer({
        respond: ({ schemaName }) => answers[schemaName ?? ''] ?? { error: 'unknown' },
      });
    });
    afterAll(() => server.close());
    beforeEach(async () => {
      await t.reset();
      server.requests.length = 0;
      answers = { ...DEFAULT_ANSWERS };
    });

    function deps(env: Record<string, string> = {}): PipelineDeps {
      const settings = testSettings({
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: server.url,
        LLM_API_KEY: 'test-key',
        LLM_MAX_RETRIES: '0',
        LLM_CACHE: 'false',
        // the circuit breaker (its own suite) must not open on the few faults these tests queue
        LLM_BREAKER_FAILURES: '100',
        LLM_BREAKER_MIN_CALLS: '1000',
        DECISION_MODE: 'consensus',
        ...env,
      });
      const llm = createLLMClient({ db: t.db, settings, now: () => NOW, sleep: async () => {} });
      return {
        db: t.db,
        settings,
        llm,
        candles: memoryCandleSource({ BTCUSDT: { '1h': btc } }),
        now: () => NOW,
      };
    }
    const step = { symbol: 'BTCUSDT', timeframe: '1h', mode: 'backtest_step' as const, timestamp: AT };
    const called = () => server.requests.map((r) => r.schemaName);

    it('with a quorum the trader is called with the vote, and the votes are part of the decision', async () => {
      // technical BUY, sentiment BUY, tokenomics HOLD (neutral), researcher BUY: 3 of 4 agree
      const a = await runAnalysis(deps(), step);
      expect(a.decisionMode).toBe('consensus');
      expect(a.consensus).toMatchObject({
        reached: true,
        agreed: 'BUY',
        voted: 4,
        minAgreement: 2,
        tally: { BUY: 3, SELL: 0, HOLD: 1 },
      });
      expect(a.consensus!.votes).toContainEqual({ voter: 'technical', vote: 'BUY', confidence: 0.7 });
      expect(a.final).toMatchObject({ action: 'BUY', sizePct: 5 });
      expect(server.count).toBe(6);
      const traderPrompt = server.requests.find((r) => r.schemaName === 'trader')!.body.messages[1]!.content;
      expect(traderPrompt).toContain('"consensus":{"agreed":"BUY"');
    });

    it('without a quorum it is HOLD no_consensus, and the trader and risk manager are not called', async () => {
      answers.technical = technical('bearish');
      answers.researcher = researcher('neutral');
      // BUY 1 (sentiment), SELL 1 (technical), HOLD 2 (tokenomics, researcher)
      const a = await runAnalysis(deps(), step);
      expect(a.status).toBe('completed');
      expect(a.consensus).toMatchObject({
        reached: false,
        agreed: null,
        tally: { BUY: 1, SELL: 1, HOLD: 2 },
      });
      expect(a.final).toMatchObject({ action: 'HOLD', sizePct: 0, gated: true });
      expect(a.final!.reason).toMatch(/^no_consensus: /);
      expect(a.agents.trader).toMatchObject({ status: 'gated' });
      expect(a.agents.trader!.reason).toMatch(/^no_consensus: /);
      expect(a.agents.risk).toMatchObject({ status: 'gated' });
      expect(called()).not.toContain('trader');
      expect(called()).not.toContain('risk');
      expect(server.count).toBe(4);
      expect(await t.db.select().from(trades)).toHaveLength(0);
    });

    it('an unavailable voter does not vote, and the result says how many voted', async () => {
      server.queueFault({ kind: 'server_error' }, { schemaName: 'sentiment', times: 1 });
      const a = await runAnalysis(deps(), step);
      expect(a.agents.sentiment).toMatchObject({ status: 'unavailable' });
      expect(a.consensus).toMatchObject({
        voted: 3,
        reached: true,
        agreed: 'BUY',
        tally: { BUY: 2, SELL: 0, HOLD: 1 },
      });
      expect(a.consensus!.absent).toEqual([{ voter: 'sentiment', status: 'unavailable' }]);
      // with a quorum of 3 the two remaining BUY votes are not enough
      server.queueFault({ kind: 'server_error' }, { schemaName: 'sentiment', times: 1 });
      const b = await runAnalysis(deps({ MIN_AGREEMENT: '3' }), step);
      expect(b.consensus).toMatchObject({ voted: 3, reached: false });
      expect(b.final!.reason).toMatch(/^no_consensus/);
    });

    it('a trader that proposes against the consensus does not trade', async () => {
      answers.trader = { ...(DEFAULT_ANSWERS.trader as object), action: 'SELL' };
      const a = await runAnalysis(deps(), step);
      expect(a.consensus!.agreed).toBe('BUY');
      expect(a.final).toMatchObject({ action: 'HOLD' });
      expect(a.final!.reason).toContain('against the consensus BUY');
    });

    it('only the configured voters vote; the request mode overrides DECISION_MODE, and pipeline has no vote', async () => {
      answers.sentiment = sentiment('bearish', -0.6);
      answers.researcher = researcher('bearish', 0.7);
      const a = await runAnalysis(
        deps({ CONSENSUS_VOTERS: 'technical,sentiment', MIN_AGREEMENT: '2' }),
        step,
      );
      expect(a.consensus).toMatchObject({ voters: ['technical', 'sentiment'], voted: 2, reached: false });
      const p = await runAnalysis(deps(), { ...step, decisionMode: 'pipeline' });
      expect(p.decisionMode).toBe('pipeline');
      expect(p.consensus).toBeNull();
      const [row] = await t.db.select().from(decisions).where(eq(decisions.id, p.id));
      expect(row!.consensus).toBeNull();
      const c = await runAnalysis(deps({ DECISION_MODE: 'pipeline' }), {
        ...step,
        decisionMode: 'consensus',
      });
      expect(c.decisionMode).toBe('consensus');
      expect(c.consensus).not.toBeNull();
    });

    it('a backtest with decision_mode consensus decides every point by vote', async () => {
      answers.technical = technical('bearish');
      answers.researcher = researcher('neutral');
      const d = deps({ DECISION_MODE: 'pipeline' });
      const day = 86_400_000;
      const { backtestId } = await createBacktest(d, {
        symbol: 'BTCUSDT',
        timeframe: '1h',
        start_date: new Date(Date.parse(AT) - 4 * day).toISOString(),
        end_date: new Date(Date.parse(AT) - day).toISOString(),
        max_decisions: 3,
        decision_mode: 'consensus',
      });
      const bt = await runBacktest(d, backtestId, { concurrency: 2 });
      expect(bt.status).toBe('succeeded');
      expect(bt.result!.decisions).toHaveLength(3);
      for (const { id } of bt.result!.decisions) {
        const a = await getAnalysis(d, id);
        expect(a.decisionMode).toBe('consensus');
        expect(a.consensus).toMatchObject({ reached: false });
      }
      expect(called()).not.toContain('trader');
      expect(bt.result!.assumptions.join('\n')).toContain('consensus vote');
      await expect(
        createBacktest(d, {
          symbol: 'BTCUSDT',
          start_date: '2024-02-01',
          end_date: '2024-02-10',
          max_decisions: 3,
          decision_mode: 'vote',
        }),
      ).rejects.toMatchObject({
        code: 'VALIDATION_ERROR',
        message: expect.stringContaining('decision_mode'),
      });
    });

    it('the offline provider votes too: a decision in consensus mode with no key', async () => {
      const settings = testSettings({ DECISION_MODE: 'consensus' });
      const offline: PipelineDeps = {
        db: t.db,
        settings,
        llm: createLLMClient({ db: t.db, settings, now: () => NOW }),
        candles: memoryCandleSource({ BTCUSDT: { '1h': btc } }),
        now: () => NOW,
      };
      const a = await runAnalysis(offline, step);
      expect(a.status).toBe('completed');
      expect(a.consensus).not.toBeNull();
      expect(a.consensus!.voted).toBe(4);
      if (!a.consensus!.reached) expect(a.agents.trader).toMatchObject({ status: 'gated' });
      else expect(a.agents.trader!.status).not.toBe('gated');
    });
  });
});
