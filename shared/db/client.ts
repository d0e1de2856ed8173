/**
 * Database handles. Two drivers, one schema and one migrations folder:
 * - PGlite (PostgreSQL compiled to WASM), persisted in a data folder: the laptop default;
 * - `pg` against a PostgreSQL server when a URL is given: RDS on AWS, or a local server.
 * Everything above this file sees only `Db` (drizzle's PostgreSQL database type).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { lockDataFolder } from './folder-lock';
import * as schema from './schema';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction handle has the same query surface as the database. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  readonly db: Db;
  readonly driver: 'pglite' | 'pg';
  /** Apply pending migrations (idempotent). */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Raw client, for bulk paths (COPY-like imports) that bypass the query builder. */
  readonly raw: { pglite?: PGlite; pool?: pg.Pool };
}

export const MIGRATIONS_FOLDER =
  process.env.MIGRATIONS_FOLDER ?? fileURLToPath(new URL('./migrations', import.meta.url));

// numeric and bigint come back from `pg` as strings already; timestamptz as Date. Keep it so.

export interface OpenOptions {
  /** postgres://… to use a server; otherwise PGlite. */
  databaseUrl?: string;
  /** PGlite folder; `memory://` for an in-memory database. */
  dataDir?: string;
  ssl?: boolean;
  /** Check the server certificate against the trusted CAs (default true). */
  sslVerify?: boolean;
  /** Pool size for `pg` (Lambda: 1). */
  maxConnections?: number;
  /**
   * PGlite in its own worker thread (pglite-thread.ts), so the database runs on another core than the
   * host's state machines and agents. The local host and the CLI use it; tests use PGlite in-thread.
   */
  thread?: boolean;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.maxConnections ?? 10,
      ssl: opts.ssl ? { rejectUnauthorized: opts.sslVerify ?? true } : undefined,
    });
    // An idle client the server drops (failover, restart, DROP DATABASE in tests) emits 'error' on
    // the pool; without a listener Node would crash the process. The next query reconnects.
    pool.on('error', (err) => {
      process.emitWarning(`PostgreSQL idle connection error: ${err.message}`);
    });
    const db = drizzlePg({ client: pool, schema }) as unknown as Db;
    return {
      db,
      driver: 'pg',
      raw: { pool },
      migrate: () => migratePg(db as never, { migrationsFolder: MIGRATIONS_FOLDER }),
      close: () => pool.end(),
    };
  }
  const dataDir = opts.dataDir ?? 'memory://';
  let unlock = () => {};
  if (!dataDir.startsWith('memory://')) {
    mkdirSync(dataDir, { recursive: true });
    unlock = lockDataFolder(dataDir);
  }
  // Loaded on demand: Lambda bundles mark PGlite external (it is the laptop driver, never used on AWS).
  const [{ drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  let opened: { client: PGlite; raw: Database['raw']; close: () => Promise<void> };
  try {
    opened = opts.thread ? await threadedClient(dataDir) : await inThreadClient(dataDir);
  } catch (e) {
    unlock();
    throw e;
  }
  const db = drizzlePglite({ client: opened.client, schema }) as unknown as Db;
  return {
    db,
    driver: 'pglite',
    raw: opened.raw,
    migrate: () => migratePglite(db as never, { migrationsFolder: MIGRATIONS_FOLDER }),
    close: async () => {
      try {
        await opened.close();
      } finally {
        unlock();
      }
    },
  };
}

/** PGlite in this thread, its text parsers set once (see withInstanceParsers). */
async function inThreadClient(dataDir: string) {
  const { PGlite } = await import('@electric-sql/pglite');
  const client = new PGlite(dataDir, { parsers: DRIZZLE_TEXT_PARSERS });
  await client.waitReady;
  return { client: withInstanceParsers(client), raw: { pglite: client }, close: () => client.close() };
}

/** PGlite in its own worker thread (pglite-thread.ts), as drizzle's client. */
async function threadedClient(dataDir: string) {
  const { openPgliteThread } = await import('./pglite-thread');
  const client = openPgliteThread(dataDir, TEXT_TYPES);
  try {
    await client.waitReady;
  } catch (e) {
    await client.close().catch(() => undefined);
    throw e;
  }
  return { client: client as unknown as PGlite, raw: {}, close: () => client.close() };
}

/**
 * drizzle's PGlite session sends the same parsers with every query: timestamps, dates, intervals and
 * their arrays (and numeric[]) stay text, for drizzle to map. PGlite merges per-query parsers into its
 * ~320 built-in ones on every query (about 60 µs, a third of a small query's cost), so they are set once
 * on the instance instead and left out of each query: the same values either way.
 */
const TEXT_TYPES = [1114, 1184, 1186, 1082, 1231, 1115, 1185, 1187, 1182] as const;
const asText = (value: string) => value;
const DRIZZLE_TEXT_PARSERS = Object.fromEntries(TEXT_TYPES.map((t) => [t, asText]));

type QueryOptions = Parameters<PGlite['query']>[2];

/** Per-query parsers that only repeat the instance's text parsers are dropped (see above). */
function withoutRepeatedParsers(o: QueryOptions): QueryOptions {
  const parsers = o?.parsers;
  if (!parsers) return o;
  const keys = Object.keys(parsers);
  const repeated =
    keys.length === TEXT_TYPES.length &&
    keys.every((k) => (TEXT_TYPES as readonly number[]).includes(Number(k)));
  if (!repeated) return o;
  const { parsers: _dropped, ...rest } = o;
  return rest;
}

/** The client drizzle sees: PGlite itself, with repeated per-query parsers dropped (also in transactions). */
function withInstanceParsers(client: PGlite): PGlite {
  type Queryable = { query: PGlite['query'] };
  const wrapQueryable = <T extends Queryable>(target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        if (prop === 'query')
          return (q: string, params?: unknown[], o?: QueryOptions) =>
            t.query(q, params, withoutRepeatedParsers(o));
        if (prop === 'transaction' && t === (client as unknown))
          return <R>(fn: (tx: Parameters<Parameters<PGlite['transaction']>[0]>[0]) => Promise<R>) =>
            client.transaction((tx) => fn(wrapQueryable(tx)));
        const v = Reflect.get(t, prop);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  return wrapQueryable(client);
}

/** Every table, children first: the order TRUNCATE and resets use. */
export const ALL_TABLES = [
  'trade_outcomes',
  'agent_prompts',
  'agent_prompt_active',
  'strategy_adjustments',
  'learning_cycles',
  'strategy_versions',
  'study_cells',
  'studies',
  'idempotency_keys',
  'agent_logs',
  'llm_cache',
  'upstream_health',
  'token_ledger',
  'decisions',
  'backtests',
  'portfolio_snapshots',
  'trades',
  'positions',
  'runs',
  'candles',
  'sentiment_points',
] as const;
