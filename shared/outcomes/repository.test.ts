/**
 * The outcome ledger on a real database (PGlite; PostgreSQL too with TEST_PG=1): live outcomes written
 * in the closing fill's transaction, backtest outcomes written by the simulate step, and both rebuilt
 * from the `trades` table by the audit.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKlines } from '../../test/helpers/binance-server';
import { decisions, tradeOutcomes, trades } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { WARMUP_BARS } from '../indicators/compute';
import { klineToCandle } from '../market/kline';
import { createBacktest, runBacktest, simulateBacktest, simulateRecorded } from '../pipeline/backtest';
import type { PipelineDeps } from '../pipeline/deps';
import { offlineTestDeps } from '../pipeline/testing';
import { type ExecutionSettings, ensureRun, executeDecision } from '../portfolio/repository';
import { auditOutcomes, listOutcomes, outcomeAggregates, pageOutcomes } from './repository';

const SETTINGS: ExecutionSettings = {
  maxPositionPct: 50,
  maxTotalExposurePct: 80,
  feeBps: 10,
  slippageBps: 5,
};
const T0 = Date.parse('2024-06-01T00:00:00Z');
const H = 3_600_000;

describe.each(testDrivers())('outcome ledger on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  async function decision(id: string, confidence: number, regime: string, consensus: unknown = null) {
    await t.db.insert(decisions).values({
      id,
      runId: 'live',
      symbol: 'BTCUSDT',
      timeframe: '4h',
      mode: 'live',
      decisionTime: new Date(T0),
      status: 'completed',
      provider: 'offline',
      outputs: {
        technical: { status: 'ok', tier: 'cheap', model: 'm-cheap', output: { regime } },
        sentiment: { status: 'ok', tier: 'cheap', model: 'm-cheap', output: { score: 0.3 } },
        researcher: {
          status: 'ok',
          tier: 'strong',
          model: 'm-strong',
          output: { stance: 'bullish', confidence },
        },
        trader: {
          status: 'ok',
          tier: 'strong',
          model: 'm-strong',
          output: { action: 'BUY', size_pct: 20, stop_loss_pct: 3, take_profit_pct: 8 },
        },
      },
      promptVersions: { technical: 'v-t', researcher: 'v-r' },
      snapshot: { regime: { regime: 'BULL', confidence: 0.8 } },
      consensus,
    });
  }

  const exec = (decisionId: string, action: 'BUY' | 'SELL', sizePct: number, price: number, hour: number) =>
    executeDecision(t.db, {
      runId: 'live',
      decisionId,
      symbol: 'BTCUSDT',
      action,
      sizePct,
      price,
      executedAt: T0 + hour * H,
      settings: SETTINGS,
    });

  it('live: each sale writes the FIFO lots it closed in its own transaction, with the entry context', async () => {
    await ensureRun(t.db, { id: 'live', kind: 'live', initialCash: '10000' });
    const [b1, b2, s1, s2] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await decision(b1, 0.72, 'bull');
    const votes = [
      { voter: 'technical', vote: 'BUY', confidence: 0.7 },
      { voter: 'researcher', vote: 'BUY', confidence: 0.9 },
    ];
    await decision(b2, 0.9, 'sideways', { votes, voted: 2, agreed: 'BUY', reached: true });
    await exec(b1, 'BUY', 20, 100, 1);
    await exec(b2, 'BUY', 20, 110, 2);
    expect(await t.db.select().from(tradeOutcomes)).toHaveLength(0); // nothing closed yet
    await exec(s1, 'SELL', 25, 120, 3); // more than the first lot: closes it and part of the second
    let rows = await listOutcomes(t.db, { runId: 'live' });
    expect(rows).toHaveLength(2);
    expect(rows.map((r) => r.entryDecisionId)).toEqual([b1, b2]);
    expect(rows.every((r) => r.exitDecisionId === s1 && r.exitReason === 'signal')).toBe(true);
    expect(rows[0]!.pnlUsdt).toBeGreaterThan(0);
    expect(rows[0]!.context).toMatchObject({
      regime: { detector: { regime: 'BULL', confidence: 0.8 }, technical: 'bull', agree: true },
      sentimentScore: 0.3,
      researcher: { stance: 'bullish', confidence: 0.72 },
      trader: { sizePct: 20, stopLossPct: 3, takeProfitPct: 8 },
      consensus: null,
      promptVersions: { technical: 'v-t', researcher: 'v-r' },
      provider: 'offline',
      models: { cheap: 'm-cheap', strong: 'm-strong' },
    });
    expect(rows[1]!.context.regime.agree).toBe(false); // detector BULL, analyst sideways
    expect(rows[1]!.context.consensus).toEqual({ votes, voted: 2, agreed: 'BUY' });
    await exec(s2, 'SELL', 100, 90, 4); // the rest, at a loss
    rows = await listOutcomes(t.db, { runId: 'live' });
    expect(rows).toHaveLength(3);
    expect(rows[2]!.entryDecisionId).toBe(b2);
    expect(rows[2]!.pnlUsdt).toBeLessThan(0);
    expect(await auditOutcomes(t.db, 'live')).toEqual([]);

    // walk-forward reading: closedBefore is strict
    expect(await listOutcomes(t.db, { runId: 'live', closedBefore: T0 + 4 * H })).toHaveLength(2);
    expect(await listOutcomes(t.db, { runId: 'live', closedBefore: T0 + 4 * H + 1 })).toHaveLength(3);
    expect(await listOutcomes(t.db, { runId: 'live', limit: 1 })).toMatchObject([{ exitDecisionId: s2 }]);
    const page = await pageOutcomes(t.db, { runId: 'live', limit: 2 });
    expect(page.items).toHaveLength(2);
    const rest = await pageOutcomes(t.db, { runId: 'live', limit: 2, cursor: page.nextCursor });
    expect(rest.items).toHaveLength(1);
    expect(rest.nextCursor).toBeNull();
    const agg = await outcomeAggregates(t.db, { runId: 'live' });
    expect(agg.count).toBe(3);
    expect(agg.wins).toBe(2);
    expect(agg.byConfidence['0.7-0.8']?.count).toBe(1);
    expect(agg.byConfidence['>=0.8']?.count).toBe(2);
  });

  it('the audit catches an outcome that disagrees with the ledger', async () => {
    await ensureRun(t.db, { id: 'live', kind: 'live', initialCash: '10000' });
    await exec(randomUUID(), 'BUY', 20, 100, 1);
    await exec(randomUUID(), 'SELL', 100, 105, 2);
    expect(await auditOutcomes(t.db, 'live')).toEqual([]);
    await t.db.update(tradeOutcomes).set({ pnlUsdt: '1' });
    expect((await auditOutcomes(t.db, 'live')).join()).toMatch(/pnlUsdt/);
    await t.db.delete(tradeOutcomes);
    expect(await auditOutcomes(t.db, 'live')).toEqual(['count: ledger 1, stored 0']);
  });

  describe('backtests', () => {
    const TF = 4 * H;
    const START = Date.parse('2024-01-01T00:00:00Z');
    const END = Date.parse('2024-03-01T00:00:00Z');
    const FIRST = START - (WARMUP_BARS + 10) * TF;
    const candles = generateKlines({
      timeframe: '4h',
      start: FIRST,
      count: (END - FIRST) / TF + 5,
      startPrice: 42_000,
      seed: 5,
    }).map(klineToCandle);
    let deps: PipelineDeps;
    beforeAll(() => {
      deps = offlineTestDeps({ db: t.db, candles: { BTCUSDT: { '4h': candles } }, now: END + 10 * TF });
    });

    it("the simulate step writes every closed lot of the backtest's book; they rebuild from its trades", async () => {
      const { backtestId } = await createBacktest(deps, {
        symbol: 'BTCUSDT',
        start_date: '2024-01-01',
        end_date: '2024-03-01',
        timeframe: '4h',
        max_decisions: 60,
        decision_interval: 3,
      });
      const bt = await runBacktest(deps, backtestId, { concurrency: 4 });
      expect(bt.status).toBe('succeeded');
      const runId = backtestId; // a backtest's book is the run with its id
      const out = await listOutcomes(t.db, { runId });
      const sells = await t.db.select().from(trades).where(eq(trades.runId, runId));
      const filledSells = sells.filter((s) => s.status === 'filled' && s.side === 'SELL');
      expect(filledSells.length).toBeGreaterThan(0);
      for (const s of filledSells) expect(out.some((o) => o.exitTradeId === s.id)).toBe(true);
      expect(out.every((o) => o.backtestId === backtestId && o.runId === runId)).toBe(true);
      // every outcome has its entry decision's context, from this backtest's decisions
      expect(out.every((o) => o.entryDecisionId !== null && o.context.provider === 'offline')).toBe(true);
      const { result } = await simulateRecorded(deps, backtestId);
      const open = result.finalBook.positions.some((p) => Number(p.quantity) > 0.0001);
      expect(out.some((o) => o.exitReason === 'end_of_backtest')).toBe(open);
      expect(await auditOutcomes(t.db, runId, { BTCUSDT: result.finalMark })).toEqual([]);
      // a rerun of the simulate step replaces the outcomes, never appends
      await simulateBacktest(deps, { backtestId });
      expect(await listOutcomes(t.db, { runId })).toHaveLength(out.length);
      expect(await auditOutcomes(t.db, runId, { BTCUSDT: result.finalMark })).toEqual([]);
    });
  });
});
