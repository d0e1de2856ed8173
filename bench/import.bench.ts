/**
 * Archive import rate: the real BTCUSDT-1h.csv.gz (70,008 rows, gzip, header) into an empty `candles`
 * table, on in-memory PGlite and on the PostgreSQL server (a temporary database, dropped afterwards).
 * A second import of the same file measures the idempotent path (every row a duplicate).
 * The goal from the foundation issue: under 10 s per database for the whole file.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { type Database, openDatabase } from '../shared/db/client';
import { importKlineFile } from '../shared/market/import';
import type { BenchContext, Figures } from './main';

export const name = 'import';
export const description = 'Binance archive import rate (BTCUSDT-1h.csv.gz) into PGlite and PostgreSQL';

const FILE = 'BTCUSDT-1h.csv.gz';
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const CONNECT_TIMEOUT_MS = 3_000;

async function measure(database: Database, file: string, prefix: string, figures: Figures): Promise<void> {
  await database.migrate();
  const first = await importKlineFile(database.db, file);
  const seconds = first.elapsedMs / 1000;
  figures[`${prefix}_rows`] = first.inserted;
  figures[`${prefix}_seconds`] = Number(seconds.toFixed(3));
  figures[`${prefix}_rows_per_s`] = Math.round(first.rowsRead / seconds);
  const again = await importKlineFile(database.db, file);
  figures[`${prefix}_reimport_skipped`] = again.skipped;
  figures[`${prefix}_reimport_seconds`] = Number((again.elapsedMs / 1000).toFixed(3));
}

export async function run(ctx: BenchContext): Promise<Figures> {
  if (!ctx.dataDir) return { skipped: '../shared/data/binance not present' };
  const file = resolve(ctx.dataDir, FILE);
  const figures: Figures = { file: FILE };

  ctx.log('  PGlite (memory://) ...');
  const lite = await openDatabase({ dataDir: 'memory://' });
  try {
    await measure(lite, file, 'pglite', figures);
  } finally {
    await lite.close();
  }

  ctx.log(`  PostgreSQL (${new URL(ADMIN_URL).host}) ...`);
  const dbName = `bench_import_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await admin.connect();
  } catch (e) {
    figures.pg_skipped = `PostgreSQL unreachable at ${new URL(ADMIN_URL).host}: ${(e as Error).message}`;
    return figures;
  }
  try {
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${dbName}`;
    const server = await openDatabase({ databaseUrl: url.toString(), maxConnections: 2 });
    try {
      await measure(server, file, 'pg', figures);
    } finally {
      await server.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  return figures;
}
