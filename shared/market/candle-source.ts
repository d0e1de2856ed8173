/**
 * The candle port the agent pipeline and the backtester consume, and its database-backed adapter.
 *
 * The port speaks in `Candle` (floats) and always returns the gaps of the requested range alongside the
 * candles: a consumer decides what a hole means (skip a decision, refuse a backtest), the source never
 * papers over one. Ranges are open-time ranges, inclusive at both ends; only closed bars are returned.
 */
import type { DbOrTx } from '../db/client';
import type { KlineSource } from './binance';
import { type CandleRange, type CandleStore, createCandleStore } from './candle-store';
import type { Timeframe } from './types';

export interface CandleRequest {
  symbol: string;
  timeframe: Timeframe;
  /** First open time wanted (epoch ms, inclusive). */
  startMs: number;
  /** Last open time wanted (epoch ms, inclusive); clipped to the last closed bar. */
  endMs: number;
}

/** Port: closed candles of a range, ascending, with the range's gaps reported. */
export interface CandleSource {
  getCandles(req: CandleRequest): Promise<CandleRange>;
}

export interface CandleRepository extends CandleSource {
  /** The last `limit` closed candles as of `nowMs` (the API's "latest" endpoint). */
  latestCandles(symbol: string, timeframe: Timeframe, limit: number, nowMs: number): Promise<CandleRange>;
}

export interface CandleRepositoryOptions {
  db: DbOrTx;
  /** Fetches the bars the database lacks; omit it to serve only what was imported or cached. */
  source?: KlineSource;
  symbols: readonly string[];
  now?: () => number;
  maxBars?: number;
}

export function createCandleRepository(opts: CandleRepositoryOptions): CandleRepository {
  const store: CandleStore = createCandleStore(opts);
  return {
    getCandles: (req) => store.getCandles(req.symbol, req.timeframe, req.startMs, req.endMs),
    latestCandles: (symbol, timeframe, limit, nowMs) => store.latestCandles(symbol, timeframe, limit, nowMs),
  };
}

export type { CandleRange } from './candle-store';
