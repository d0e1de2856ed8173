/**
 * Test and benchmark helpers for the pipeline: an in-memory CandleSource over candles read from the
 * team's Binance files (a real adapter of the port, without a database), and settings for a test.
 * Not used by product code.
 */

import { generateKlines } from '../../test/helpers/binance-server';
import { loadSettings, type Settings } from '../config/settings';
import type { Db } from '../db/client';
import { WARMUP_BARS } from '../indicators/compute';
import { createLLMClient } from '../llm/client';
import type { CandleSource } from '../market/candle-source';
import { klineToCandle } from '../market/kline';
import type { Candle, Timeframe } from '../market/types';
import type { MetricsPort } from '../observability/metrics';
import type { PipelineDeps } from './deps';

/** Serves `candles[symbol][timeframe]` by open-time range (inclusive), ascending, no gaps reported. */
export function memoryCandleSource(
  candles: Record<string, Partial<Record<Timeframe, readonly Candle[]>>>,
): CandleSource {
  return {
    async getCandles({ symbol, timeframe, startMs, endMs }) {
      const all = candles[symbol]?.[timeframe] ?? [];
      const first = lowerBound(all, startMs);
      const out: Candle[] = [];
      for (let i = first; i < all.length && all[i]!.openTime <= endMs; i++) out.push({ ...all[i]! });
      return { candles: out, gaps: [] };
    },
  };
}

function lowerBound(a: readonly Candle[], t: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]!.openTime < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function testSettings(env: Record<string, string | undefined> = {}): Settings {
  return loadSettings({ LLM_PROVIDER: 'offline', ...env });
}

/** Pipeline deps for a test: the offline agent provider, the given candles, a pinned clock. */
export function offlineTestDeps(o: {
  db: Db;
  candles: Parameters<typeof memoryCandleSource>[0];
  now: number;
  env?: Record<string, string | undefined>;
  metrics?: MetricsPort;
}): PipelineDeps {
  const settings = testSettings({ LOG_LEVEL: 'silent', DATA_DIR: 'memory://', ...o.env });
  const now = () => o.now;
  return {
    db: o.db,
    settings,
    llm: createLLMClient({ db: o.db, settings, now, ...(o.metrics ? { metrics: o.metrics } : {}) }),
    candles: memoryCandleSource(o.candles),
    now,
    ...(o.metrics ? { metrics: o.metrics } : {}),
  };
}

const H4_MS = 4 * 3_600_000;

/**
 * A backtest range's fixture: seeded random-walk 4h candles from the indicators' warm-up (plus 10 bars)
 * before `startMs` to 5 bars after `endMs`, and a "now" 10 bars after the range.
 */
export function warmedRangeCandles(o: { startMs: number; endMs: number; seed: number }): {
  candles: Candle[];
  now: number;
} {
  const firstBar = o.startMs - (WARMUP_BARS + 10) * H4_MS;
  const candles = generateKlines({
    timeframe: '4h',
    start: firstBar,
    count: (o.endMs - firstBar) / H4_MS + 5,
    startPrice: 42_000,
    seed: o.seed,
  }).map(klineToCandle);
  return { candles, now: o.endMs + 10 * H4_MS };
}
