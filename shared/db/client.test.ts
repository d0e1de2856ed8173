import { sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { candles, runs } from './schema';
import { testDrivers, useTestDatabase } from './testing';

describe.each(testDrivers())('database on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  it('keeps numeric amounts exact as strings', async () => {
    await t.db.insert(runs).values({ id: 'live', kind: 'live', initialCash: '10000', cash: '0.1' });
    await t.db.execute(sql`UPDATE runs SET cash = cash + 0.2 WHERE id = 'live'`);
    const [row] = await t.db.select().from(runs);
    expect(row?.cash).toBe('0.300000000000');
  });

  it('rejects a duplicate (symbol, timestamp, timeframe) candle', async () => {
    const c = {
      symbol: 'BTCUSDT',
      timeframe: '1h',
      timestamp: new Date(1_700_000_000_000),
      closeTime: new Date(1_700_003_599_999),
      open: '1',
      high: '2',
      low: '0.5',
      close: '1.5',
      volume: '10',
    };
    await t.db.insert(candles).values(c);
    await expect(t.db.insert(candles).values(c)).rejects.toThrow();
    await t.db.insert(candles).values({ ...c, timeframe: '4h' });
    const rows = await t.db.select().from(candles);
    expect(rows).toHaveLength(2);
  });

  it('maps times the same way in queries, raw statements and (nested) transactions', async () => {
    const at = new Date('2024-02-29T12:34:56.789Z');
    await t.db.insert(runs).values({ id: 'r', kind: 'backtest', initialCash: '1', cash: '1', createdAt: at });
    const [row] = await t.db.select().from(runs);
    expect(row?.createdAt).toEqual(at);
    // Raw statements get timestamps as text (drizzle maps them only for typed selects), on both drivers.
    const raw = await t.db.execute(
      sql`SELECT created_at, '2024-01-01'::date AS d, interval '1 day' AS i FROM runs`,
    );
    const r0 = (raw as unknown as { rows: Record<string, unknown>[] }).rows[0]!;
    expect(typeof r0.created_at).toBe('string');
    expect(new Date(String(r0.created_at)).getTime()).toBe(at.getTime());
    expect(r0.d).toBe('2024-01-01');
    expect(typeof r0.i).toBe('string');
    const inner = await t.db.transaction(async (tx) => {
      await tx.update(runs).set({ cash: '2' });
      const nested = await tx.transaction(async (tx2) => {
        const [x] = await tx2.select().from(runs);
        return x;
      });
      return nested;
    });
    expect(inner?.createdAt).toEqual(at);
    expect(inner?.cash).toBe('2.000000000000');
    await expect(
      t.db.transaction(async (tx) => {
        await tx.update(runs).set({ cash: '3' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const [after] = await t.db.select().from(runs);
    expect(after?.cash).toBe('2.000000000000');
  });
});
