/**
 * PGlite in its own worker thread (pglite-thread.ts) behaves as PGlite in-thread under drizzle: typed
 * rows, raw rows, errors with their fields, transactions that commit, roll back and nest, and a
 * transaction that holds the database until it ends.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from './client';
import { runs } from './schema';

describe('PGlite in a worker thread', () => {
  let d: Database;
  beforeAll(async () => {
    d = await openDatabase({ dataDir: 'memory://', thread: true });
    await d.migrate();
  });
  afterAll(() => d.close());

  it('reads typed and raw rows as in-thread PGlite does', async () => {
    const at = new Date('2024-02-29T12:34:56.789Z');
    await d.db
      .insert(runs)
      .values({ id: 'typed', kind: 'backtest', initialCash: '1', cash: '0.1', createdAt: at });
    const [row] = await d.db.select().from(runs).where(eq(runs.id, 'typed'));
    expect(row).toMatchObject({ cash: '0.100000000000', createdAt: at });
    const raw = await d.db.execute(sql`SELECT created_at, cash FROM runs WHERE id = 'typed'`);
    const r0 = (raw as unknown as { rows: Record<string, unknown>[] }).rows[0]!;
    expect(typeof r0.created_at).toBe('string');
    expect(new Date(String(r0.created_at)).getTime()).toBe(at.getTime());
    expect(r0.cash).toBe('0.100000000000');
  });

  it('an error keeps its PostgreSQL fields', async () => {
    await d.db.insert(runs).values({ id: 'dup', kind: 'backtest', initialCash: '1', cash: '1' });
    const e = await d.db
      .insert(runs)
      .values({ id: 'dup', kind: 'backtest', initialCash: '1', cash: '1' })
      .then(() => null)
      .catch((x: { cause?: Record<string, unknown> }) => x.cause);
    expect(e).toMatchObject({ code: '23505', constraint: 'runs_pkey' });
    expect(String((e as { message?: string }).message)).toMatch(/duplicate key/);
  });

  it('transactions commit, roll back and nest; one holds the database until it ends', async () => {
    await d.db.insert(runs).values({ id: 'tx', kind: 'backtest', initialCash: '1', cash: '1' });
    const cash = async () => (await d.db.select().from(runs).where(eq(runs.id, 'tx')))[0]!.cash;
    await d.db.transaction(async (tx) => {
      await tx.update(runs).set({ cash: '2' }).where(eq(runs.id, 'tx'));
      await tx
        .transaction(async (inner) => {
          await inner.update(runs).set({ cash: '9' }).where(eq(runs.id, 'tx'));
          throw new Error('inner rolls back to its savepoint');
        })
        .catch(() => undefined);
    });
    expect(await cash()).toBe('2.000000000000');
    await expect(
      d.db.transaction(async (tx) => {
        await tx.update(runs).set({ cash: '3' }).where(eq(runs.id, 'tx'));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await cash()).toBe('2.000000000000');

    // A read issued while a transaction is open waits for it, and sees its commit.
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const writer = d.db.transaction(async (tx) => {
      await tx.update(runs).set({ cash: '4' }).where(eq(runs.id, 'tx'));
      await gate;
    });
    await new Promise((r) => setTimeout(r, 20));
    const reader = cash();
    let read = false;
    void reader.then(() => {
      read = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(read).toBe(false);
    release();
    await writer;
    expect(await reader).toBe('4.000000000000');
  });
});
