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
});
