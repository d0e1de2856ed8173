/**
 * Indicators on the real BTCUSDT 1h series (70,008 bars, read from the team's CSV.gz with zlib, no
 * database): time to compute every indicator once, against recomputing over a trailing window at
 * each step (the anti-pattern BACKTESTING.md forbids), and the cost of the agents' clock-gated summary.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { computeIndicators, createMarketView, summarizeForAgents, WARMUP_BARS } from '../shared/indicators';
import { parseBinanceCsv } from '../shared/indicators/testing';
import type { BenchContext, Figures } from './main';

export const name = 'indicators';
export const description =
  'RSI, MACD, EMA 20/50/200, ATR, Bollinger, realized vol on BTCUSDT 1h (70,008 bars)';

const RUNS = 5;
const TRAILING_STEPS = 100;
const SUMMARY_CALLS = 2_000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export async function run(ctx: BenchContext): Promise<Figures> {
  if (!ctx.dataDir) return { skipped: 'no ../shared/data/binance' };
  const t0 = performance.now();
  const candles = parseBinanceCsv(
    gunzipSync(readFileSync(resolve(ctx.dataDir, 'BTCUSDT-1h.csv.gz'))).toString('utf8'),
  );
  const loadMs = performance.now() - t0;

  computeIndicators(candles, '1h'); // warm the JIT
  const times: number[] = [];
  let series = computeIndicators(candles, '1h');
  for (let r = 0; r < RUNS; r++) {
    const s = performance.now();
    series = computeIndicators(candles, '1h');
    times.push(performance.now() - s);
  }
  const onceMs = median(times);

  // The anti-pattern: recompute on the trailing WARMUP_BARS window at each step.
  const s1 = performance.now();
  for (let k = 0; k < TRAILING_STEPS; k++) {
    const end = candles.length - k;
    computeIndicators(candles.slice(end - WARMUP_BARS, end), '1h');
  }
  const perStepMs = (performance.now() - s1) / TRAILING_STEPS;
  const steps = candles.length - WARMUP_BARS;

  const s2 = performance.now();
  const timeline = createMarketView(candles, series, '1h');
  const viewMs = performance.now() - s2;
  const s3 = performance.now();
  for (let k = 0; k < SUMMARY_CALLS; k++) {
    const i = WARMUP_BARS + ((k * 31) % (candles.length - WARMUP_BARS));
    summarizeForAgents(timeline.at(timeline.knownAt(i)));
  }
  const summaryUs = ((performance.now() - s3) / SUMMARY_CALLS) * 1000;

  return {
    bars: candles.length,
    csv_load_ms: Math.round(loadMs),
    compute_all_once_ms_median: Number(onceMs.toFixed(1)),
    compute_bars_per_s: Math.round(candles.length / (onceMs / 1000)),
    trailing_recompute_per_step_ms: Number(perStepMs.toFixed(2)),
    trailing_recompute_extrapolated_s: Number(((perStepMs * steps) / 1000).toFixed(1)),
    trailing_vs_once_ratio: Math.round((perStepMs * steps) / onceMs),
    market_view_build_ms: Number(viewMs.toFixed(1)),
    summarize_for_agents_us: Number(summaryUs.toFixed(1)),
    warmup_bars: WARMUP_BARS,
  };
}
