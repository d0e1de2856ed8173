/**
 * The composition root: settings -> database (PGlite in DATA_DIR unless DATABASE_URL; migrated; the
 * builtin prompts registered and PROMPT_AB checked against the registry) ->
 * Binance client -> candle repository -> LLM client (offline rules unless a key or base URL) ->
 * PipelineDeps. The local host, the CLI, the tests and the Lambda entry points all build their world
 * here, so they differ only in the overrides they pass.
 *
 * Overrides exist for tests and special hosts: an already-open Database (a shared test PGlite), another
 * Binance base URL (the local Binance server), a provider for the LLM client (the local OpenAI-protocol
 * server is reached through settings; a stand-in provider through here), a clock.
 */
import type { Settings } from '../../shared/config/settings';
import { type Database, type Db, openDatabase } from '../../shared/db/client';
import type { LearningDeps } from '../../shared/learning/ports';
import { createLLMClient, type LLMClient, type LLMClientOptions } from '../../shared/llm/client';
import {
  type BinanceClient,
  binanceOptionsFromSettings,
  createBinanceClient,
} from '../../shared/market/binance';
import { type CandleRepository, createCandleRepository } from '../../shared/market/candle-source';
import type { MetricsPort } from '../../shared/observability/metrics';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import {
  assertPromptAbSetting,
  promptLessonSink,
  registerBuiltinPrompts,
} from '../../shared/prompts/registry';
import {
  createDatabaseHealthStore,
  createMemoryHealthStore,
  type UpstreamHealthStore,
} from '../../shared/resilience/upstream-health';
import { createFuturesClient, futuresOptionsFromSettings } from '../../shared/sentiment/binance-futures';
import { createFngClient, fngOptionsFromSettings } from '../../shared/sentiment/fng';
import { createSentimentReader, type SentimentReader } from '../../shared/sentiment/reader';
import { createSentimentStore, type SentimentStore } from '../../shared/sentiment/store';
import { withCandleMemory } from './candle-memory';

/** Retries of each sentiment client per request (a decision waits for them). */
const SENTIMENT_MAX_RETRIES = 2;

export interface ContainerOverrides {
  /** Use this database instead of opening one (not closed by `close()` unless `ownDatabase`). */
  database?: Database;
  ownDatabase?: boolean;
  /** Skip migrations (the database is known to be migrated, e.g. a test database). */
  skipMigrations?: boolean;
  binanceBaseUrl?: string;
  /** null disables the fallback host (tests against a local server must not reach the internet). */
  binanceFallbackUrl?: string | null;
  binanceMaxRetries?: number;
  binance?: BinanceClient;
  /** Another Fear & Greed / Binance futures host (the local test servers). */
  fngBaseUrl?: string;
  futuresBaseUrl?: string;
  /** Retries of the sentiment clients (default SENTIMENT_MAX_RETRIES). */
  sentimentMaxRetries?: number;
  llmProvider?: LLMClientOptions['provider'];
  llm?: LLMClient;
  now?: () => number;
  /** Where breakers and Retry-After holds live (default UPSTREAM_STATE; Lambda: the database). */
  upstreamState?: 'memory' | 'database';
  /** Read the market of later decision points ahead (PipelineDeps.readAhead; default on, Lambda off). */
  readAhead?: boolean;
  /** pg pool size (Lambda: 1). */
  maxConnections?: number;
  /** Where the core's operational metrics go (Lambda: Powertools Metrics; default none). */
  metrics?: MetricsPort;
}

export interface Container {
  settings: Settings;
  database: Database;
  db: Db;
  binance: BinanceClient;
  candles: CandleRepository;
  sentimentStore: SentimentStore;
  sentiment: SentimentReader;
  llm: LLMClient;
  /** Circuit breakers and Retry-After holds of the model provider and the Binance hosts. */
  health: UpstreamHealthStore;
  /** The pipeline's deps, and the prompt registry's door for the learning loop's lessons. */
  deps: PipelineDeps & Pick<LearningDeps, 'lessons'>;
  close(): Promise<void>;
}

export async function createContainer(
  settings: Settings,
  overrides: ContainerOverrides = {},
): Promise<Container> {
  const now = overrides.now ?? Date.now;
  const database =
    overrides.database ??
    (await openDatabase({
      databaseUrl: settings.DATABASE_URL,
      dataDir: settings.DATA_DIR,
      ssl: settings.DATABASE_SSL,
      sslVerify: settings.DATABASE_SSL_VERIFY,
      maxConnections: overrides.maxConnections,
      thread: settings.PGLITE_THREAD,
    }));
  const ownDatabase = overrides.database ? overrides.ownDatabase === true : true;
  try {
    if (!overrides.skipMigrations) await database.migrate();
  } catch (e) {
    if (ownDatabase) await database.close().catch(() => undefined);
    throw e;
  }
  const db = database.db;
  try {
    // The code's prompts are in the registry on every host, and PROMPT_AB names only registered versions.
    await registerBuiltinPrompts(db);
    await assertPromptAbSetting(db, settings);
  } catch (e) {
    if (ownDatabase) await database.close().catch(() => undefined);
    throw e;
  }
  const health =
    (overrides.upstreamState ?? settings.UPSTREAM_STATE) === 'database'
      ? createDatabaseHealthStore(db)
      : createMemoryHealthStore();

  const binance =
    overrides.binance ??
    createBinanceClient({
      ...binanceOptionsFromSettings(settings),
      ...(overrides.binanceBaseUrl ? { baseUrl: overrides.binanceBaseUrl } : {}),
      ...(overrides.binanceFallbackUrl !== undefined ? { fallbackUrl: overrides.binanceFallbackUrl } : {}),
      ...(overrides.binanceMaxRetries !== undefined ? { maxRetries: overrides.binanceMaxRetries } : {}),
      now,
      health,
    });
  // Complete ranges of closed bars are answered from memory after the first read (candle-memory.ts).
  const candles = withCandleMemory(
    createCandleRepository({ db, source: binance, symbols: settings.SYMBOLS, now }),
    now,
  );
  // Sentiment sources: a decision waits for them (in parallel with its candles), so they retry less than
  // the candle client; a source that still fails is only missing for that decision.
  const sentimentRetries = overrides.sentimentMaxRetries ?? SENTIMENT_MAX_RETRIES;
  const fng = createFngClient({
    ...fngOptionsFromSettings(settings),
    ...(overrides.fngBaseUrl ? { baseUrl: overrides.fngBaseUrl } : {}),
    maxRetries: sentimentRetries,
    now,
  });
  const futures = createFuturesClient({
    ...futuresOptionsFromSettings(settings),
    ...(overrides.futuresBaseUrl ? { baseUrl: overrides.futuresBaseUrl } : {}),
    maxRetries: sentimentRetries,
    now,
  });
  const sentimentStore = createSentimentStore({ db, fng, futures, symbols: settings.SYMBOLS, now });
  const sentiment = createSentimentReader(sentimentStore, settings.SENTIMENT_SOURCES);
  const llm =
    overrides.llm ??
    createLLMClient({
      db,
      settings,
      now,
      health,
      ...(overrides.llmProvider ? { provider: overrides.llmProvider } : {}),
      ...(overrides.metrics ? { metrics: overrides.metrics } : {}),
    });
  // Live fills use the exchange's last price; a failed ticker read falls back (inside the pipeline) to
  // the last closed bar's close, so a ticker hiccup never blocks a decision.
  const latestPrice = async (symbol: string) => binance.latestPrice(symbol).catch(() => null);
  // The learning loop's lessons become prompt versions through the registry (shared/prompts/registry.ts).
  const deps: PipelineDeps & Pick<LearningDeps, 'lessons'> = {
    db,
    settings,
    llm,
    candles,
    now,
    latestPrice,
    sentiment,
    ...(overrides.metrics ? { metrics: overrides.metrics } : {}),
    readAhead: overrides.readAhead ?? true,
    lessons: promptLessonSink(),
  };

  let closed = false;
  return {
    settings,
    database,
    db,
    binance,
    candles,
    sentimentStore,
    sentiment,
    llm,
    health,
    deps,
    async close() {
      if (closed) return;
      closed = true;
      if (ownDatabase) await database.close();
    },
  };
}

/** A one-line description of where things are, for the host's ready line. */
export function describeContainer(c: Container): string {
  const db =
    c.database.driver === 'pg'
      ? 'postgres'
      : `pglite ${c.settings.DATA_DIR.startsWith('memory://') ? 'memory' : c.settings.DATA_DIR}`;
  return `db: ${db}, provider: ${c.llm.provider}, binance: ${c.binance.activeBaseUrl}`;
}
