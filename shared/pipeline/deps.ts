/**
 * What the analysis pipeline needs from the world: the database, settings, the LLM client, a candle
 * source and a clock. Everything else (Binance, Step Functions, HTTP) stays outside; the composition
 * root (functions/runtime/container.ts) builds this object for every host.
 */
import type { Settings } from '../config/settings';
import type { Db } from '../db/client';
import type { LLMClient } from '../llm/client';
import type { CandleSource } from '../market/candle-source';
import type { MetricsPort } from '../observability/metrics';
import type { SentimentReader } from '../sentiment/reader';

export interface PipelineDeps {
  db: Db;
  settings: Settings;
  llm: LLMClient;
  candles: CandleSource;
  now(): number;
  /**
   * The exchange's latest price for a symbol (e.g. Binance's ticker), for live fills. Optional: without
   * it (or when it answers null) a live decision fills at the last closed bar's close.
   */
  latestPrice?(symbol: string): Promise<number | null>;
  /**
   * Market sentiment known at a decision time (shared/sentiment), read by the snapshot step. Optional:
   * without it the sentiment analyst reads the static notes only.
   */
  sentiment?: SentimentReader;
  /** Operational metrics (shared/observability/metrics.ts); absent: none are emitted. */
  metrics?: MetricsPort;
  /**
   * One long-lived process runs a backtest's decision points (the local host, the CLI): a starting point
   * reads the market of the point BACKTEST_MAP_CONCURRENCY ahead in the background, while its own agents
   * wait for the model, so that point's snapshot finds its reading ready. Off on Lambda, where nothing
   * outlives an invocation and each point may run in another container.
   */
  readAhead?: boolean;
}
