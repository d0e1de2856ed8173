/**
 * Test databases. Every database suite runs on PGlite; with TEST_PG=1 (set by .ci/run) it also runs on
 * the PostgreSQL server at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 * in a fresh database per test file, dropped afterwards. So the `pg` path that Lambda uses is tested
 * against a real server, not only the embedded one.
 *
 * Usage (one instance per file; PGlite boots in seconds):
 *   describe.each(testDrivers())('%s', (driver) => {
 *     const t = useTestDatabase(driver);
 *     beforeEach(() => t.reset());
 *     it('…', async () => { await t.db.insert(...) });
 *   });
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { ALL_TABLES, type Database, type Db, openDatabase } from './client';

export type TestDriver = 'pglite' | 'pg';

export const TEST_PG_ENABLED = process.env.TEST_PG === '1' || process.env.TEST_PG === 'true';
const DROP_WAIT_TRIES = 50;
const DROP_WAIT_MS = 20;
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function testDrivers(): TestDriver[] {
  return TEST_PG_ENABLED ? ['pglite', 'pg'] : ['pglite'];
}

/** Create an isolated, migrated database. Call `drop()` when done. */
export async function createTestDatabase(
  driver: TestDriver,
): Promise<Database & { drop(): Promise<void>; url?: string }> {
  if (driver === 'pglite') {
    const database = await openDatabase({ dataDir: 'memory://' });
    await database.migrate();
    return { ...database, drop: () => database.close() };
  }
  const name = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 20 });
  await database.migrate();
  return {
    ...database,
    url: url.toString(),
    drop: async () => {
      await database.close();
      const a = new pg.Client({ connectionString: ADMIN_URL });
      await a.connect();
      // pool.end() resolves before every backend has exited; dropping WITH (FORCE) then kills those
      // sessions and their clients emit an unhandled 57P01 error. Wait (bounded) for them to go.
      for (let i = 0; i < DROP_WAIT_TRIES; i++) {
        const r = await a.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
        if ((r.rows[0] as { n: number }).n === 0) break;
        await new Promise((res) => setTimeout(res, DROP_WAIT_MS));
      }
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export async function resetDatabase(db: Db): Promise<void> {
  await db.execute(sql.raw(`TRUNCATE ${ALL_TABLES.join(', ')} RESTART IDENTITY CASCADE`));
}

/** One database for the enclosing describe block, created in beforeAll and dropped in afterAll. */
export function useTestDatabase(driver: TestDriver) {
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(driver);
  });
  afterAll(async () => {
    await database?.drop();
  });
  const get = () => {
    if (!database) throw new Error('test database not ready (used outside a test?)');
    return database;
  };
  return {
    get db(): Db {
      return get().db;
    },
    get database(): Database {
      return get();
    },
    reset: () => resetDatabase(get().db),
  };
}
