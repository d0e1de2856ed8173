/**
 * Strategies as functions, run by the SAME simulator as the firm (simulator.ts: fills at the next bar,
 * fees, slippage, exchange filters, limits, metrics): the public strategy API and the study baselines.
 *
 * Exported: `runStrategy`, `Strategy`, `BarsView`, `StrategySignal`, `StrategyRun`, `buyAndHold`,
 * `smaCrossover`, `randomStrategy`, `runBaseline`, `BASELINES`, `Baseline`, `BASELINE_LIMITS`,
 * `SMA_DEFAULTS`, `mulberry32`.
 *
 * A rule of your own in a few lines:
 *
 *   const momentum: Strategy = (view) => view.close(view.length - 1) > view.close(view.length - 25) ? 'BUY' : 'SELL';
 *   const run = runStrategy({ candles, timeframe: '1h', strategy: momentum,
 *     settings: { symbol: 'BTCUSDT', initialCash: 10_000 }, from: Date.UTC(2024, 0, 1) });
 *   run.metrics.totalReturn; run.buyAndHold?.totalReturn; run.fills;
 *
 * Design decisions:
 * - Clock-gated view: the strategy is called at a decision time t (a bar's close, openTime + interval)
 *   with a view whose `length` is the number of bars known at t; every accessor throws (LOOKAHEAD) for
 *   an index at or past it. The view is one object whose bound moves forward, so keeping a reference
 *   to it does not give later data either: read later, it answers for the later clock. No array escapes.
 * - A strategy is called on every decision bar, a signal that is not HOLD becomes a decision at that
 *   bar's close, filled by the simulator at the next bar (never the decision bar). A `BUY`/`SELL`
 *   string means 100% (all cash, the whole position); an object gives the size and optional stops.
 * - The first decision bar always yields a decision (HOLD when the strategy has none), so the equity
 *   curve and the buy-and-hold benchmark start there, whatever the strategy does: the same span as the
 *   firm's backtest on the same decision grid.
 * - Baselines run with the position limits lifted (`BASELINE_LIMITS`, 100%): "buy with all cash" is the
 *   rule of buy-and-hold and the crossover, and the random strategy trades the same way, so its trades
 *   differ from the crossover's only in when they happen. Fees, slippage and filters are the firm's.
 * - Stateful strategies (the crossover's running sums) are factories: `smaCrossover()` returns a fresh
 *   function per run. Its averages are updated in O(1) per consecutive bar and recomputed from the view
 *   when bars are skipped, so it needs no precomputed series and stays inside the gate.
 */
import { barKnownAt } from '../indicators/market-view';
import type { Candle, Timeframe } from '../market/types';
import type { Action, RiskLimits } from '../portfolio';
import { AppError } from '../util/errors';
import { type SimulationResult, type SimulationSettings, simulate, type TimedDecision } from './simulator';

/** What a strategy may see at its decision time: the bars known then, and nothing after. */
export interface BarsView {
  readonly timeframe: Timeframe;
  /** Bars known at the decision time (all with closeTime < time). */
  readonly length: number;
  /** The decision time (ms): the close of bar `length - 1`. */
  readonly time: number;
  open(i: number): number;
  high(i: number): number;
  low(i: number): number;
  close(i: number): number;
  volume(i: number): number;
  openTime(i: number): number;
}

export type StrategySignal =
  | Action
  | { action: Action; sizePct: number; stopLossPct?: number; takeProfitPct?: number }
  | null
  | undefined;

export type Strategy = (view: BarsView) => StrategySignal;

export interface RunStrategyInput {
  candles: readonly Candle[];
  timeframe: Timeframe;
  /** A strategy function, or a factory of one (called once per run, for stateful rules). */
  strategy: Strategy | { create(): Strategy };
  settings: SimulationSettings;
  /** Decide on every bar whose close is in [from, to] (ms; default: the whole series, from bar 1). */
  from?: number;
  to?: number;
  /** Or decide exactly at these times (each a bar's close), e.g. the firm's decision points. */
  decisionTimes?: readonly number[];
}

export interface StrategyRun extends SimulationResult {
  /** Decision bars the strategy was called on. */
  decisionsTaken: number;
  /** Decisions passed to the simulator (the non-HOLD signals, plus the first bar). */
  decisions: TimedDecision[];
}

const PCT = 100;

function toDecision(signal: StrategySignal, time: number): TimedDecision | null {
  if (signal === null || signal === undefined || signal === 'HOLD') return null;
  if (signal === 'BUY' || signal === 'SELL') return { decisionTime: time, action: signal, sizePct: PCT };
  if (typeof signal === 'object' && signal.action === 'HOLD') return null;
  if (typeof signal === 'object' && (signal.action === 'BUY' || signal.action === 'SELL')) {
    return {
      decisionTime: time,
      action: signal.action,
      sizePct: signal.sizePct,
      ...(signal.stopLossPct !== undefined ? { stopLossPct: signal.stopLossPct } : {}),
      ...(signal.takeProfitPct !== undefined ? { takeProfitPct: signal.takeProfitPct } : {}),
    };
  }
  throw new AppError(
    'VALIDATION_ERROR',
    `strategy: a signal must be BUY, SELL, HOLD or null (got ${String(signal)})`,
    {
      field: 'strategy',
    },
  );
}

/** Run a strategy over the clock-gated view and simulate its decisions (see the header). */
export function runStrategy(input: RunStrategyInput): StrategyRun {
  const { candles, timeframe } = input;
  const n = candles.length;
  if (n < 2)
    throw new AppError('INSUFFICIENT_DATA', 'a backtest needs at least 2 candles', { field: 'candles' });
  const known = new Float64Array(n);
  let prev = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    prev = Math.max(prev, barKnownAt(candles[i] as Candle, timeframe));
    known[i] = prev;
  }
  let bound = 0;
  const at = (i: number): Candle => {
    if (!(i >= 0 && i < bound)) {
      throw new AppError(
        'VALIDATION_ERROR',
        bound === 0
          ? `LOOKAHEAD: bar ${i} is not visible: the strategy is not deciding now`
          : `LOOKAHEAD: bar ${i} is not known at ${new Date(known[bound - 1] as number).toISOString()} (${bound} bars are)`,
        { field: 'strategy', code: 'LOOKAHEAD', index: i, known: bound },
      );
    }
    return candles[i] as Candle;
  };
  const view: BarsView = {
    timeframe,
    get length() {
      return bound;
    },
    get time() {
      return known[bound - 1] as number;
    },
    open: (i) => at(i).open,
    high: (i) => at(i).high,
    low: (i) => at(i).low,
    close: (i) => at(i).close,
    volume: (i) => at(i).volume,
    openTime: (i) => at(i).openTime,
  };
  const strategy = typeof input.strategy === 'function' ? input.strategy : input.strategy.create();

  const decisions: TimedDecision[] = [];
  let taken = 0;
  const decideAt = (b: number) => {
    bound = b + 1;
    const time = known[b] as number;
    const d = toDecision(strategy(view), time);
    taken++;
    if (d) decisions.push(d);
    else if (decisions.length === 0) decisions.push({ decisionTime: time, action: 'HOLD', sizePct: 0 });
  };
  if (input.decisionTimes) {
    let b = 0;
    for (const t of input.decisionTimes) {
      while (b < n && (known[b] as number) < t) b++;
      if (b >= n || known[b] !== t) {
        throw new AppError(
          'VALIDATION_ERROR',
          `decisionTimes: ${new Date(t).toISOString()} is not the close of a ${timeframe} bar in the data`,
          { field: 'decisionTimes', decisionTime: t },
        );
      }
      // Equal known-at times (misaligned bars) share one decision: the later bar is the one known.
      while (b + 1 < n && known[b + 1] === t) b++;
      if (decisions.length > 0 && (decisions[decisions.length - 1] as TimedDecision).decisionTime >= t)
        continue;
      decideAt(b);
    }
  } else {
    const from = input.from ?? Number.NEGATIVE_INFINITY;
    // Nothing is decided after the range's end (settings.endTime), where nothing may be used.
    const to = Math.min(
      input.to ?? Number.POSITIVE_INFINITY,
      input.settings.endTime ?? Number.POSITIVE_INFINITY,
    );
    // The last bar has no bar after it to fill on: it cannot carry a decision.
    for (let b = 0; b < n - 1; b++) {
      const t = known[b] as number;
      if (t < from || t > to || known[b + 1] === t) continue;
      decideAt(b);
    }
  }
  if (decisions.length === 0) {
    throw new AppError('INSUFFICIENT_DATA', 'strategy: no decision bar in the range', { field: 'from' });
  }
  bound = 0; // a view kept past the run sees nothing
  const result = simulate({ candles, timeframe, decisions, settings: input.settings });
  return { ...result, decisionsTaken: taken, decisions };
}

// ---------- the baselines ----------

/** The baselines' limits: all cash may go into the position (as buy-and-hold). */
export const BASELINE_LIMITS: RiskLimits = { maxPositionPct: PCT, maxTotalExposurePct: PCT };
export const SMA_DEFAULTS = { fast: 20, slow: 50 } as const;

/** Buy with all cash on the first decision bar, then hold. */
export function buyAndHold(): { create(): Strategy } {
  return {
    create() {
      let bought = false;
      return () => {
        if (bought) return 'HOLD';
        bought = true;
        return 'BUY';
      };
    },
  };
}

/**
 * Long when SMA(fast) of closes is above SMA(slow) at the bar's close, flat otherwise; decides only
 * once both averages exist (slow bars known); a change of state buys with all cash or sells all.
 */
export function smaCrossover(params: { fast?: number; slow?: number } = {}): { create(): Strategy } {
  const fast = params.fast ?? SMA_DEFAULTS.fast;
  const slow = params.slow ?? SMA_DEFAULTS.slow;
  if (!(Number.isInteger(fast) && Number.isInteger(slow) && fast >= 1 && slow > fast)) {
    throw new AppError(
      'VALIDATION_ERROR',
      `sma_crossover: fast and slow must be whole numbers with 1 <= fast < slow (got ${fast}, ${slow})`,
      {
        field: 'sma_crossover',
      },
    );
  }
  return {
    create() {
      let long = false;
      let last = -2;
      let sumFast = 0;
      let sumSlow = 0;
      return (view) => {
        const i = view.length - 1;
        if (i + 1 < slow) return null;
        if (i === last + 1 && last + 1 >= slow) {
          const c = view.close(i);
          sumFast += c - view.close(i - fast);
          sumSlow += c - view.close(i - slow);
        } else {
          sumFast = 0;
          sumSlow = 0;
          for (let k = i - slow + 1; k <= i; k++) {
            const c = view.close(k);
            sumSlow += c;
            if (k > i - fast) sumFast += c;
          }
        }
        last = i;
        // Compare the means as sums scaled to one denominator (no division per bar).
        const above = sumFast * slow > sumSlow * fast;
        if (above === long) return null;
        long = above;
        return above ? 'BUY' : 'SELL';
      };
    },
  };
}

/** Mulberry32: a small, fast, seeded 32-bit generator (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** BUY, SELL or HOLD with equal probability at each decision, from a seeded generator. */
export function randomStrategy(params: { seed: number }): { create(): Strategy } {
  if (!Number.isInteger(params.seed)) {
    throw new AppError('VALIDATION_ERROR', 'random: seed must be a whole number', { field: 'seed' });
  }
  return {
    create() {
      const next = mulberry32(params.seed);
      return () => {
        const u = next();
        return u < 1 / 3 ? 'BUY' : u < 2 / 3 ? 'SELL' : 'HOLD';
      };
    },
  };
}

export const BASELINES = ['buy_and_hold', 'sma_crossover', 'random'] as const;
export type Baseline = (typeof BASELINES)[number];

export interface BaselineParams {
  fast?: number;
  slow?: number;
  seed?: number;
}

/**
 * A baseline on the firm's decision grid: `decisionTimes` are the firm's decision points. Buy-and-hold
 * and random decide on them (random: the firm's count and spacing); the crossover decides on every bar
 * from the first of them to the last ("on the close of each bar").
 */
export function runBaseline(
  baseline: Baseline,
  input: {
    candles: readonly Candle[];
    timeframe: Timeframe;
    settings: Omit<SimulationSettings, 'limits'>;
    decisionTimes: readonly number[];
    params?: BaselineParams;
  },
): StrategyRun & { baseline: Baseline; params: BaselineParams } {
  const settings = { ...input.settings, limits: BASELINE_LIMITS };
  const first = input.decisionTimes[0];
  const lastTime = input.decisionTimes[input.decisionTimes.length - 1];
  if (first === undefined || lastTime === undefined) {
    throw new AppError('INSUFFICIENT_DATA', `${baseline}: no decision point`, { field: 'decisionTimes' });
  }
  const base = { candles: input.candles, timeframe: input.timeframe, settings };
  if (baseline === 'sma_crossover') {
    const fast = input.params?.fast ?? SMA_DEFAULTS.fast;
    const slow = input.params?.slow ?? SMA_DEFAULTS.slow;
    const run = runStrategy({ ...base, strategy: smaCrossover({ fast, slow }), from: first, to: lastTime });
    return { ...run, baseline, params: { fast, slow } };
  }
  if (baseline === 'random') {
    const seed = input.params?.seed ?? 1;
    const run = runStrategy({
      ...base,
      strategy: randomStrategy({ seed }),
      decisionTimes: input.decisionTimes,
    });
    return { ...run, baseline, params: { seed } };
  }
  const run = runStrategy({ ...base, strategy: buyAndHold(), decisionTimes: [first] });
  return { ...run, baseline, params: {} };
}
