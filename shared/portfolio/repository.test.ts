import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { portfolioSnapshots, runs, trades } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { Dec } from './book';
import {
  auditRun,
  type ExecutionSettings,
  ensureRun,
  executeDecision,
  getPortfolio,
  LIVE_RUN_ID,
  listTrades,
  loadBook,
  snapshot,
} from './repository';

const SETTINGS: ExecutionSettings = {
  maxPositionPct: 10,
  maxTotalExposurePct: 80,
  feeBps: 10,
  slippageBps: 5,
};
const AT = new Date('2024-06-01T00:00:00Z');

describe.each(testDrivers())('portfolio repository on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  it('creates the live book once and loads it', async () => {
    await ensureRun(t.db, { id: LIVE_RUN_ID, kind: 'live', initialCash: '10000' });
    const again = await ensureRun(t.db, { id: LIVE_RUN_ID, kind: 'live', initialCash: '5' });
    expect(again.initialCash).toBe('10000.000000000000'); // an existing run is never reset
    const book = await loadBook(t.db, LIVE_RUN_ID);
    expect(book.cash.toFixed()).toBe('10000');
    expect(Object.keys(book.positions)).toHaveLength(0);
  });

  it('executes a buy and a sale, persists the ledger, and the ledger rebuilds the book', async () => {
    await ensureRun(t.db, { id: 'bt1', kind: 'backtest', initialCash: '10000' });
    const decisionId = randomUUID();
    const buy = await executeDecision(t.db, {
      runId: 'bt1',
      decisionId,
      symbol: 'BTCUSDT',
      action: 'BUY',
      sizePct: 25,
      price: '100',
      executedAt: AT,
      settings: SETTINGS,
    });
    expect(buy.status).toBe('filled');
    expect(buy.clamps.map((c) => c.rule)).toContain('MAX_POSITION'); // 25% asked, 10% allowed
    expect(buy.trade?.seq).toBe(1);
    expect(buy.trade?.decisionId).toBe(decisionId);
    // 1,000 / 100.05 -> 9.995002 BTC; paid 999.9999501.
    expect(new Dec(buy.trade!.quantity).toFixed()).toBe('9.995002');
    expect(new Dec(buy.book.cash).toFixed()).toBe('9000.0000499');

    const sell = await executeDecision(t.db, {
      runId: 'bt1',
      symbol: 'BTCUSDT',
      action: 'SELL',
      sizePct: 100,
      price: '110',
      executedAt: AT,
      settings: SETTINGS,
    });
    expect(sell.status).toBe('filled');
    expect(sell.trade?.seq).toBe(2);
    expect(await auditRun(t.db, 'bt1')).toEqual([]);

    const pf = await getPortfolio(t.db, 'bt1', { BTCUSDT: '110' });
    // Identity on the stored book: realized + unrealized - fees = equity - initial.
    const lhs = new Dec(pf.realizedPnl).plus(pf.unrealizedPnl).minus(pf.feesPaid);
    expect(lhs.eq(new Dec(pf.equity).minus(pf.initialCash))).toBe(true);
    expect(pf.positions).toHaveLength(1); // the dust the step could not sell
    expect(new Dec(pf.positions[0]!.quantity).lt('0.000001')).toBe(true);
    expect(pf.totalReturn).toBeCloseTo(Number(pf.equity) / 10000 - 1, 12);
  });

  it('records a rejected order with its clamps and changes no balance', async () => {
    await ensureRun(t.db, { id: 'bt2', kind: 'backtest', initialCash: '50' });
    const r = await executeDecision(t.db, {
      runId: 'bt2',
      symbol: 'BTCUSDT',
      action: 'BUY',
      sizePct: 10,
      price: '60000',
      executedAt: AT,
      settings: SETTINGS,
    });
    expect(r.status).toBe('rejected');
    expect(r.rejected?.rule).toBe('MIN_NOTIONAL');
    const rows = await t.db.select().from(trades).where(eq(trades.runId, 'bt2'));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe('rejected');
    expect((rows[0]!.clamps as { rule: string }[]).map((c) => c.rule)).toContain('MIN_NOTIONAL');
    const [run] = await t.db.select().from(runs).where(eq(runs.id, 'bt2'));
    expect(new Dec(run!.cash).toFixed()).toBe('50');
    // HOLD writes nothing.
    const hold = await executeDecision(t.db, {
      runId: 'bt2',
      symbol: 'BTCUSDT',
      action: 'HOLD',
      sizePct: 0,
      price: '60000',
      executedAt: AT,
      settings: SETTINGS,
    });
    expect(hold.status).toBe('hold');
    expect(await t.db.select().from(trades)).toHaveLength(1);
  });

  it('refuses bad input with a clear error and writes nothing', async () => {
    await ensureRun(t.db, { id: 'bt3', kind: 'backtest', initialCash: '1000' });
    const base = {
      runId: 'bt3',
      symbol: 'BTCUSDT',
      action: 'BUY' as const,
      sizePct: 5,
      price: '100',
      executedAt: AT,
      settings: SETTINGS,
    };
    await expect(executeDecision(t.db, { ...base, sizePct: 500 })).rejects.toThrow(/sizePct/);
    await expect(executeDecision(t.db, { ...base, decisionId: 'not-a-uuid' })).rejects.toThrow(/decisionId/);
    await expect(executeDecision(t.db, { ...base, runId: 'nope' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await t.db.select().from(trades)).toHaveLength(0);
  });

  it('values held symbols without a given price at their entry, and says so', async () => {
    await ensureRun(t.db, { id: 'bt4', kind: 'backtest', initialCash: '10000' });
    const base = { runId: 'bt4', action: 'BUY' as const, sizePct: 5, executedAt: AT, settings: SETTINGS };
    await executeDecision(t.db, { ...base, symbol: 'ETHUSDT', price: '2000' });
    const r = await executeDecision(t.db, { ...base, symbol: 'BTCUSDT', price: '60000' });
    expect(r.pricesAssumed).toEqual(['ETHUSDT']);
    const pf = await getPortfolio(t.db, 'bt4', { BTCUSDT: '60000', ETHUSDT: '2100' });
    expect(pf.pricesAssumed).toEqual([]);
    expect(pf.positions.map((p) => p.symbol)).toEqual(['BTCUSDT', 'ETHUSDT']);
  });

  it('pages through trades newest first', async () => {
    await ensureRun(t.db, { id: 'bt5', kind: 'backtest', initialCash: '100000' });
    for (let i = 0; i < 5; i++) {
      await executeDecision(t.db, {
        runId: 'bt5',
        symbol: 'BTCUSDT',
        action: i % 2 ? 'SELL' : 'BUY',
        sizePct: 2,
        price: String(100 + i),
        executedAt: AT,
        settings: SETTINGS,
      });
    }
    const p1 = await listTrades(t.db, 'bt5', { limit: 2 });
    expect(p1.items.map((x) => x.seq)).toEqual([5, 4]);
    const p2 = await listTrades(t.db, 'bt5', { limit: 2, cursor: p1.nextCursor });
    expect(p2.items.map((x) => x.seq)).toEqual([3, 2]);
    const p3 = await listTrades(t.db, 'bt5', { limit: 2, cursor: p2.nextCursor });
    expect(p3.items.map((x) => x.seq)).toEqual([1]);
    expect(p3.nextCursor).toBeNull();
    await expect(listTrades(t.db, 'bt5', { limit: 0 })).rejects.toThrow(/limit/);
    await expect(listTrades(t.db, 'bt5', { cursor: 'abc' })).rejects.toThrow(/cursor/);
  });

  it('writes a snapshot of the book', async () => {
    await ensureRun(t.db, { id: 'bt6', kind: 'backtest', initialCash: '10000' });
    await executeDecision(t.db, {
      runId: 'bt6',
      symbol: 'BTCUSDT',
      action: 'BUY',
      sizePct: 10,
      price: '100',
      executedAt: AT,
      settings: SETTINGS,
    });
    const row = await snapshot(t.db, 'bt6', { BTCUSDT: '120' }, AT);
    expect(row?.runId).toBe('bt6');
    const rows = await t.db.select().from(portfolioSnapshots);
    expect(rows).toHaveLength(1);
    const pf = await getPortfolio(t.db, 'bt6', { BTCUSDT: '120' });
    expect(new Dec(rows[0]!.equity).eq(new Dec(pf.equity).toDecimalPlaces(12))).toBe(true);
  });

  it.runIf(driver === 'pg')(
    'serializes concurrent executions on one book (pg only: PGlite has a single connection)',
    async () => {
      // On pg, t.db is a pg.Pool (20 connections): the executions really run on parallel connections.
      const db = t.db;
      await ensureRun(db, { id: 'race', kind: 'backtest', initialCash: '100000' });
      const N = 40;
      const results = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          executeDecision(db, {
            runId: 'race',
            symbol: i % 3 === 0 ? 'ETHUSDT' : 'BTCUSDT',
            action: i % 4 === 3 ? 'SELL' : 'BUY',
            sizePct: 1 + (i % 5),
            price: String(100 + (i % 7)),
            executedAt: AT,
            settings: { ...SETTINGS, maxPositionPct: 50 },
            marks: { BTCUSDT: '100', ETHUSDT: '100' },
          }),
        ),
      );
      const rows = await db.select().from(trades).where(eq(trades.runId, 'race'));
      expect(rows).toHaveLength(N);
      expect(rows.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: N }, (_, i) => i + 1),
      );
      expect(results.filter((r) => r.status === 'filled').length).toBeGreaterThan(N / 2);
      // No lost update: the ledger rebuilds cash and every position exactly.
      expect(await auditRun(db, 'race')).toEqual([]);
      const [run] = await db.select().from(runs).where(eq(runs.id, 'race'));
      expect(run!.version).toBe(N);
    },
  );
});
