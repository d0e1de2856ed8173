/**
 * Backtest simulator throughput on the real BTCUSDT 1h series (70,008 bars, CSV.gz read with zlib):
 * mark-to-market equity at every bar, fills through the exact ledger kernel (shared/portfolio exact.ts),
 * metrics and buy-and-hold included. Three labelled scenarios, each timed RUNS times after a warm-up
 * run, reported as median (the figure) and min (the machine is shared and noisy):
 * - `daily`: a decision every 24 bars (a fixed BUY/HOLD/SELL rotation with stops), the target
 *   of 2,000,000 bars/s;
 * - `weekly`: a decision every 168 bars, a realistic LLM decision rate;
 * - `equity_loop_only`: one decision, so nearly all the time is the float64 per-bar loop with equity
 *   tracking, metrics and buy-and-hold (the ceiling the fills eat into).
 * The trade-list hash of the daily run is the fingerprint of the fill semantics: a performance change
 * must not move it (simulator.test.ts pins it).
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
  'simulate() bars/s with equity tracking on BTCUSDT 1h (70,008 bars): a decision every 24 bars (daily), every 168 (weekly), and one (equity loop only)';

const RUNS = 15;
const DECISION_EVERY = 24;
const WEEKLY_EVERY = 168;
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

interface Timing {
  ms: number;
  minMs: number;
  result: SimulationResult;
}

function timeRuns(candles: Candle[], decisions: TimedDecision[]): Timing {
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
  return { ms: median(times), minMs: Math.min(...times), result };
}

function rotation(candles: Candle[], every: number): TimedDecision[] {
  const decisions: TimedDecision[] = [];
  for (let i = every - 1; i < candles.length; i += every) {
    const step = PATTERN[decisions.length % PATTERN.length] as Omit<TimedDecision, 'decisionTime'>;
    decisions.push({ ...step, decisionTime: barKnownAt(candles[i] as Candle, '1h') });
  }
  return decisions;
}

/** Figures of one scenario, prefixed by its label. */
function figures(label: string, bars: number, t: Timing): Figures {
  return {
    [`${label}_ms_median`]: Number(t.ms.toFixed(1)),
    [`${label}_ms_min`]: Number(t.minMs.toFixed(1)),
    [`${label}_bars_per_s_median`]: Math.round(bars / (t.ms / 1000)),
    [`${label}_bars_per_s_best`]: Math.round(bars / (t.minMs / 1000)),
  };
}

export async function run(ctx: BenchContext): Promise<Figures> {
  if (!ctx.dataDir) return { skipped: 'no ../shared/data/binance' };
  const candles = parseBinanceCsv(
    gunzipSync(readFileSync(resolve(ctx.dataDir, 'BTCUSDT-1h.csv.gz'))).toString('utf8'),
  );
  const decisions = rotation(candles, DECISION_EVERY);
  const weeklyDecisions = rotation(candles, WEEKLY_EVERY);
  const full = timeRuns(candles, decisions);
  const weekly = timeRuns(candles, weeklyDecisions);
  const bare = timeRuns(candles, [
    { decisionTime: barKnownAt(candles[0] as Candle, '1h'), action: 'BUY', sizePct: 10 },
  ]);
  const m = full.result.metrics;
  return {
    bars: candles.length,
    runs_per_scenario: RUNS,
    daily_decisions: decisions.length,
    daily_fills: m.fills,
    ...figures('daily', candles.length, full),
    weekly_decisions: weeklyDecisions.length,
    weekly_fills: weekly.result.metrics.fills,
    ...figures('weekly', candles.length, weekly),
    ...figures('equity_loop_only', candles.length, bare),
    // Ledger cost per decision: the daily run minus the equity loop, over its decisions (median).
    us_per_decision: Number((((full.ms - bare.ms) * 1000) / decisions.length).toFixed(2)),
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
