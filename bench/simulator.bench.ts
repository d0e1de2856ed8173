/**
 * Backtest simulator throughput on the real BTCUSDT 1h series (70,008 bars, CSV.gz read with zlib):
 * mark-to-market equity at every bar, a decision every 24 bars (a fixed BUY/HOLD/SELL rotation with
 * stops), fills through the exact decimal ledger, metrics and buy-and-hold included. Also a run with a
 * single decision, to separate the float64 per-bar loop from the decimal fills (~20 us each).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type SimulationResult, simulate, type TimedDecision } from '../shared/backtest';
import { barKnownAt } from '../shared/indicators';
import { parseBinanceCsv } from '../shared/indicators/testing';
import type { Candle } from '../shared/market/types';
import type { BenchContext, Figures } from './main';

export const name = 'simulator';
export const description =
  'simulate() bars/s with equity tracking on BTCUSDT 1h (70,008 bars), a decision every 24 bars';

const RUNS = 7;
const DECISION_EVERY = 24;
const PATTERN: Omit<TimedDecision, 'decisionTime'>[] = [
  { action: 'BUY', sizePct: 10, stopLossPct: 5, takeProfitPct: 10 },
  { action: 'HOLD', sizePct: 0 },
  { action: 'SELL', sizePct: 5 },
  { action: 'BUY', sizePct: 8 },
  { action: 'SELL', sizePct: 100 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function timeRuns(candles: Candle[], decisions: TimedDecision[]): { ms: number; result: SimulationResult } {
  const input = {
    candles,
    timeframe: '1h' as const,
    decisions,
    settings: { symbol: 'BTCUSDT', initialCash: 10_000 },
  };
  let result = simulate(input); // warm the JIT
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const s = performance.now();
    result = simulate(input);
    times.push(performance.now() - s);
  }
  return { ms: median(times), result };
}

export async function run(ctx: BenchContext): Promise<Figures> {
  if (!ctx.dataDir) return { skipped: 'no ../shared/data/binance' };
  const candles = parseBinanceCsv(
    gunzipSync(readFileSync(resolve(ctx.dataDir, 'BTCUSDT-1h.csv.gz'))).toString('utf8'),
  );
  const decisions: TimedDecision[] = [];
  for (let i = DECISION_EVERY - 1; i < candles.length; i += DECISION_EVERY) {
    const step = PATTERN[decisions.length % PATTERN.length] as Omit<TimedDecision, 'decisionTime'>;
    decisions.push({ ...step, decisionTime: barKnownAt(candles[i] as Candle, '1h') });
  }
  const full = timeRuns(candles, decisions);
  const bare = timeRuns(candles, [
    { decisionTime: barKnownAt(candles[0] as Candle, '1h'), action: 'BUY', sizePct: 10 },
  ]);
  const m = full.result.metrics;
  return {
    bars: candles.length,
    decisions: decisions.length,
    simulate_ms_median: Number(full.ms.toFixed(1)),
    bars_per_s: Math.round(candles.length / (full.ms / 1000)),
    // The float64 per-bar loop with equity tracking, metrics and buy-and-hold, one fill only.
    single_decision_ms_median: Number(bare.ms.toFixed(1)),
    single_decision_bars_per_s: Math.round(candles.length / (bare.ms / 1000)),
    fills: m.fills,
    rejected_orders: m.rejectedOrders,
    round_trips_closed: m.trades.count,
    total_return: Number(m.totalReturn.toFixed(6)),
    buy_and_hold_return: full.result.buyAndHold
      ? Number(full.result.buyAndHold.totalReturn.toFixed(6))
      : null,
    sharpe_daily: m.sharpeDaily === null ? null : Number(m.sharpeDaily.toFixed(4)),
    max_drawdown: Number(m.maxDrawdown.value.toFixed(6)),
    fees_paid: Number(m.feesPaid.toFixed(2)),
    exposure: Number(m.exposure.toFixed(4)),
    trade_list_hash: full.result.tradeListHash.slice(0, 16),
  };
}
