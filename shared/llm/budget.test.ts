import { beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/client';
import { testDrivers, useTestDatabase } from '../db/testing';
import { createTokenBudget } from './budget';

const NOW = Date.parse('2024-05-01T12:00:00Z');
const DAY = '2024-05-01';
/** Independent pools against the same database: separate processes (Lambdas, Map iterations). */
const PROCESSES = 4;
const CALLS_PER_PROCESS = 25;
const TOKENS_PER_CALL = 1_000;
const CALLS_THAT_FIT = 37;

describe.each(testDrivers())('token budget on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  it('reserves, settles and releases exactly; refuses what does not fit and counts the refusal', async () => {
    const budget = createTokenBudget(t.db, { dailyTokens: 1_000, now: () => NOW });
    const a = await budget.reserve(600);
    expect(a).toEqual({ day: DAY, tokens: 600, usd: 0 });
    expect(await budget.reserve(500)).toBeNull();
    const b = await budget.reserve(400);
    expect(b).not.toBeNull();
    expect(await budget.status()).toMatchObject({ used: 0, reserved: 1_000, remaining: 0, refused: 1 });
    await budget.settle(a!, 250, 0.01);
    await budget.release(b!);
    expect(await budget.status()).toMatchObject({ used: 250, reserved: 0, remaining: 750, costUsd: 0.01 });
  });

  it(`never overshoots with ${PROCESSES} separate connection pools reserving at once`, async () => {
    const url = (t.database as { url?: string }).url;
    expect(url === undefined).toBe(driver === 'pglite');
    // PGlite is one connection: the pools are the server's case; on PGlite the same calls share it.
    const pools = url
      ? await Promise.all(
          Array.from({ length: PROCESSES }, () => openDatabase({ databaseUrl: url, maxConnections: 5 })),
        )
      : [];
    try {
      const dbs = url ? pools.map((p) => p.db) : Array.from({ length: PROCESSES }, () => t.db);
      const budgets = dbs.map((db) =>
        createTokenBudget(db, { dailyTokens: CALLS_THAT_FIT * TOKENS_PER_CALL, now: () => NOW }),
      );
      const results = await Promise.all(
        budgets.flatMap((b) => Array.from({ length: CALLS_PER_PROCESS }, () => b.reserve(TOKENS_PER_CALL))),
      );
      const granted = results.filter((r) => r !== null);
      expect(granted).toHaveLength(CALLS_THAT_FIT);
      const status = await budgets[0]!.status();
      expect(status).toMatchObject({
        reserved: CALLS_THAT_FIT * TOKENS_PER_CALL,
        remaining: 0,
        refused: PROCESSES * CALLS_PER_PROCESS - CALLS_THAT_FIT,
      });
      await Promise.all(granted.map((r, i) => budgets[i % PROCESSES]!.settle(r!, TOKENS_PER_CALL / 2, 0)));
      expect(await budgets[0]!.status()).toMatchObject({
        reserved: 0,
        used: (CALLS_THAT_FIT * TOKENS_PER_CALL) / 2,
      });
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });
});
