/**
 * Baseline strategies through the simulator on the real BTCUSDT 1h series (70,008 bars, 2018-2025):
 * `sma_crossover` (20/50) deciding on every bar through the clock-gated view, fills, metrics and
 * buy-and-hold included; timed RUNS times after a warm-up run, median and best. Goal: >= 2,000,000 bars/s.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { runStrategy, type StrategyRun, smaCrossover } from '../shared/backtest';
import { parseBinanceCsv } from '../shared/indicators/testing';
import type { BenchContext, Figures } from './main';

export const name = 'strategies';
export const description =
  'sma_crossover(20, 50) over BTCUSDT 1h (70,008 bars): bars/s through runStrategy (view, simulator, metrics)';

const RUNS = 15;

export async function run(ctx: BenchContext): Promise<Figures> {
  if (!ctx.dataDir) return { skipped: 'no ../shared/data/binance' };
  const candles = parseBinanceCsv(
    gunzipSync(readFileSync(resolve(ctx.dataDir, 'BTCUSDT-1h.csv.gz'))).toString('utf8'),
  );
  const once = (): StrategyRun =>
    runStrategy({
      candles,
      timeframe: '1h',
      strategy: smaCrossover({ fast: 20, slow: 50 }),
      settings: {
        symbol: 'BTCUSDT',
        initialCash: 10_000,
        limits: { maxPositionPct: 100, maxTotalExposurePct: 100 },
      },
    });
  let result = once();
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const s = performance.now();
    result = once();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)] as number;
  const best = times[0] as number;
  return {
    bars: candles.length,
    sma_crossover_ms_median: Number(med.toFixed(1)),
    sma_crossover_bars_per_s_median: Math.round(candles.length / (med / 1000)),
    sma_crossover_bars_per_s_best: Math.round(candles.length / (best / 1000)),
    sma_crossover_fills: result.fills.length,
    sma_crossover_total_return: Number(result.metrics.totalReturn.toFixed(4)),
    buy_and_hold_total_return: result.buyAndHold ? Number(result.buyAndHold.totalReturn.toFixed(4)) : null,
  };
}
