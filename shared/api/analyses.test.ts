/**
 * The analyses list and the trade read model on a real database: one query per list page (not one
 * `getAnalysis` per row), items equal to what `analysisResponse` (getAnalysis mapped to the contract) answers for each analysis, and clamps that
 * keep the unit the ledger recorded.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../db/client';
import { agentLogs, decisions, runs, trades } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import type { PipelineDeps } from '../pipeline/deps';
import { tradeRecord } from '../portfolio/records';
import { analysisResponse, listAnalyses } from './analyses';

const DECISIONS = 6;
const PAGE = 4;

/** The database with a count of the SELECT statements started through it. */
function countingSelects(db: Db): { db: Db; selects: () => number } {
  let n = 0;
  const proxy = new Proxy(db, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if ((prop === 'select' || prop === 'selectDistinct') && typeof v === 'function') {
        return (...args: unknown[]) => {
          n++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return v;
    },
  });
  return { db: proxy, selects: () => n };
}

async function seed(db: Db) {
  const final = {
    action: 'BUY',
    sizePct: 10,
    gated: false,
    reason: 'trader BUY 30%, approved by the risk manager',
    clamps: [
      { rule: 'MAX_POSITION_SIZE_PCT', requested: 30, allowed: 10, unit: 'pct_of_equity', reason: 'x' },
    ],
  };
  for (let k = 0; k < DECISIONS; k++) {
    const [row] = await db
      .insert(decisions)
      .values({
        runId: 'scratch',
        symbol: 'BTCUSDT',
        timeframe: '4h',
        mode: k === 0 ? 'backtest' : 'backtest_step',
        decisionTime: new Date(Date.UTC(2024, 0, 1 + k)),
        status: k % 2 ? 'completed' : 'no_trade',
        provider: k % 3 ? 'offline' : 'openai',
        tokensIn: 100 * k,
        tokensOut: 10 * k,
        costUsd: (0.001 * k).toFixed(8),
        latencyMs: 50 * k,
        execution: k % 2 ? { final, fill: null, portfolio: null } : null,
        createdAt: new Date(Date.UTC(2024, 5, 1, 0, 0, k)),
      })
      .returning({ id: decisions.id });
    for (let c = 0; c < k; c++)
      await db.insert(agentLogs).values({
        decisionId: row!.id,
        agent: 'technical',
        provider: 'offline',
        tier: 'cheap',
        model: 'offline-rules',
        status: c === 2 ? 'budget_exceeded' : 'ok',
        cacheHit: c === 1,
      });
  }
}

describe.each(testDrivers())('read models on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  it('lists a page of analyses in one query, each item as getAnalysis answers it', async () => {
    await seed(t.db);
    const counted = countingSelects(t.db);
    const first = await listAnalyses({ db: counted.db }, { limit: PAGE });
    expect(counted.selects()).toBe(1);
    // The backtest's own decision is listed with its backtest, not here.
    const second = await listAnalyses({ db: t.db }, { limit: PAGE, cursor: first.nextCursor ?? undefined });
    expect(first.items).toHaveLength(PAGE);
    expect(second.items).toHaveLength(DECISIONS - 1 - PAGE);
    expect(second.nextCursor).toBeNull();
    const deps = { db: t.db } as PipelineDeps;
    for (const item of [...first.items, ...second.items]) {
      const a = await analysisResponse(deps, item.id);
      expect(item).toEqual({
        id: a.id,
        status: a.status,
        symbol: a.symbol,
        timeframe: a.timeframe,
        mode: a.mode,
        decisionTime: a.decisionTime,
        provider: a.provider,
        final: a.final,
        cost: a.cost,
        createdAt: a.createdAt,
      });
    }
    // Counts really come from agent_logs: 5 logs, one cache hit, one refusal -> 3 billed calls.
    const newest = first.items[0]!;
    expect(newest.cost).toMatchObject({ calls: 3, cacheHits: 1, tokensIn: 500 });
    expect(newest.final?.clamps[0]?.unit).toBe('pct_of_equity');
  });

  it('keeps the unit the ledger recorded on each trade clamp', async () => {
    await t.db.insert(runs).values({ id: 'live', kind: 'live', initialCash: '10000', cash: '10000' });
    const [row] = await t.db
      .insert(trades)
      .values({
        runId: 'live',
        seq: 1,
        symbol: 'BTCUSDT',
        side: 'BUY',
        status: 'filled',
        reason: 'signal',
        quantity: '0.01',
        price: '50000',
        referencePrice: '50000',
        notional: '500',
        fee: '0.00001',
        feeAsset: 'BTC',
        feeUsd: '0.5',
        clamps: [
          { rule: 'MAX_POSITION', requested: '2000', allowed: '1000', unit: 'USDT', reason: 'cap' },
          { rule: 'LOT_SIZE', requested: '0.0123456', allowed: '0.01234', unit: 'BTC', reason: 'step' },
        ],
        executedAt: new Date(),
      })
      .returning();
    const dto = tradeRecord(row!);
    expect(dto.clamps.map((c) => [c.rule, c.unit, c.requested])).toEqual([
      ['MAX_POSITION', 'USDT', 2000],
      ['LOT_SIZE', 'BTC', 0.0123456],
    ]);
    expect(dto.clamps[0]!.reason).toBe('cap');
  });
});
