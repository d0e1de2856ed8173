/**
 * What every CLI command gets: settings, a database opened on first use (so `--help` and usage errors
 * never touch it), and output streams (so tests capture them). Commands stay thin: parse options,
 * call shared/ code, print.
 */
import { loadSettings, type Settings } from '../../shared/config/settings';
import { type Database, openDatabase } from '../../shared/db/client';
import type { ContainerOverrides } from '../runtime/container';

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface CliContext {
  readonly io: CliIo;
  /** Validated settings (a ConfigError on a bad environment). */
  settings(): Settings;
  /** The database from settings, migrated; opened once. */
  database(): Promise<Database>;
  close(): Promise<void>;
  /** See CliDeps.containerOverrides. */
  readonly containerOverrides?: CliDeps['containerOverrides'];
}

export interface CliDeps {
  /** An already-open, migrated database to use instead of the one from settings (tests); not closed. */
  database?: Database;
  /** Passed to createContainer by the commands that build one (tests: a pinned clock, no Binance retries). */
  containerOverrides?: Omit<ContainerOverrides, 'database' | 'skipMigrations'>;
}

export function createCliContext(io: CliIo, deps: CliDeps = {}): CliContext {
  let settings: Settings | undefined;
  let database: Promise<Database> | undefined;
  const injected = deps.database;
  const ctx: CliContext = {
    io,
    ...(deps.containerOverrides ? { containerOverrides: deps.containerOverrides } : {}),
    settings() {
      settings ??= loadSettings(io.env);
      return settings;
    },
    database() {
      if (injected) return Promise.resolve(injected);
      database ??= (async () => {
        const s = ctx.settings();
        const db = await openDatabase({
          databaseUrl: s.DATABASE_URL,
          dataDir: s.DATA_DIR,
          ssl: s.DATABASE_SSL,
          sslVerify: s.DATABASE_SSL_VERIFY,
          thread: s.PGLITE_THREAD,
        });
        await db.migrate();
        return db;
      })();
      return database;
    },
    async close() {
      if (database) await (await database.catch(() => undefined))?.close();
    },
  };
  return ctx;
}
