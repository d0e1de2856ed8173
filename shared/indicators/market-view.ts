/**
 * A clock-gated view of a candle series and its indicators: what an agent may see at decision time t.
 *
 * Exported: `createMarketView`, `MarketView`, `MarketTimeline`, `barKnownAt`, `summarizeForAgents`,
 * `MarketSummary`, `SUMMARY_WINDOWS`.
 *
 * Design decisions:
 * - A bar is known at `openTime + interval` (= closeTime + 1 for a regular bar). Binance's archive has
 *   truncated bars (closeTime before the hour's end, once even before openTime) and misaligned ones;
 *   for those we take the LATER of openTime + interval and closeTime + 1, and keep the known-at times
 *   non-decreasing (prefix maximum), so the visible bars are always a prefix of the series and a
 *   malformed bar can never become visible early.
 * - `timeline.at(t)` returns a view holding one private bound: the number of bars known at t. Every
 *   accessor checks its index against that bound and returns copies (frozen candles, fresh arrays), so
 *   no reference to the full arrays escapes and later data cannot be reached, not merely avoided.
 * - The indicator series must be computed on the same candles; indicators are causal (value i uses
 *   bars 0..i only), so reading index < bound leaks nothing.
 * - `summarizeForAgents` gives a compact JSON-able object with numbers rounded to 6 significant digits:
 *   small prompts, and stable values for the LLM cache key.
 */
import { type Candle, TIMEFRAME_MS, type Timeframe } from '../market/types';
import { AppError } from '../util/errors';
import { assertWarm, type IndicatorSeries, type IndicatorSnapshot, indicatorsAt } from './compute';

/** Windows used by the agent summary (in bars). */
export const SUMMARY_WINDOWS = {
  returns: [1, 7, 30] as const,
  recentRange: 30,
  volumeAverage: 20,
} as const;
const SIGNIFICANT_DIGITS = 6;
const PCT = 100;

/** When bar c becomes known (see header). */
export function barKnownAt(c: Candle, timeframe: Timeframe): number {
  return Math.max(c.openTime + TIMEFRAME_MS[timeframe], c.closeTime + 1);
}

export interface MarketView {
  readonly timeframe: Timeframe;
  /** The decision time this view was cut at (ms). */
  readonly decisionTime: number;
  /** Number of bars visible (all with closeTime < decisionTime). */
  readonly length: number;
  /** Bar i (0-based, oldest first), a frozen copy. Throws past the clock. */
  candle(i: number): Readonly<Candle>;
  /** The last visible bar. */
  lastCandle(): Readonly<Candle>;
  /** The last `count` visible bars (fewer if not available), copies. */
  recentCandles(count: number): Readonly<Candle>[];
  /** The last `count` visible closes, a fresh array. */
  recentCloses(count: number): number[];
  /** Indicators at bar i (default: last visible). Refuses (INSUFFICIENT_DATA) before the warm-up. */
  indicators(i?: number): IndicatorSnapshot;
  /** When the last visible bar became known (ms). */
  lastKnownAt(): number;
}

export interface MarketTimeline {
  readonly timeframe: Timeframe;
  /** The view of everything known at decisionTime (bars with closeTime < decisionTime). */
  at(decisionTime: number): MarketView;
  /** Known-at time of bar i: a decision exactly at this time sees bars 0..i. */
  knownAt(i: number): number;
  /** Index of the bar whose known-at time is exactly t, or -1. */
  indexKnownAt(t: number): number;
  readonly length: number;
}

export function createMarketView(
  candles: readonly Candle[],
  series: IndicatorSeries,
  timeframe: Timeframe,
): MarketTimeline {
  if (series.length !== candles.length) {
    throw new AppError(
      'VALIDATION_ERROR',
      `indicator series has ${series.length} values for ${candles.length} candles: compute it on the same candles`,
      { field: 'series' },
    );
  }
  if (series.timeframe !== timeframe) {
    throw new AppError('VALIDATION_ERROR', `indicator series is ${series.timeframe}, view is ${timeframe}`, {
      field: 'timeframe',
    });
  }
  const n = candles.length;
  // Private copies: the caller's array can change later without changing what the view shows.
  const bars: readonly Readonly<Candle>[] = candles.map((c) => Object.freeze({ ...c }));
  const known = new Float64Array(n);
  let prevOpen = Number.NEGATIVE_INFINITY;
  let prevKnown = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const c = bars[i] as Candle;
    if (!(c.openTime > prevOpen)) {
      throw new AppError(
        'VALIDATION_ERROR',
        `candles must be sorted by openTime without duplicates (index ${i})`,
        {
          field: 'candles',
          index: i,
        },
      );
    }
    prevOpen = c.openTime;
    prevKnown = Math.max(prevKnown, barKnownAt(c, timeframe));
    known[i] = prevKnown;
  }

  /** Number of bars with known-at <= t (binary search on the non-decreasing array). */
  const boundAt = (t: number): number => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((known[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const at = (decisionTime: number): MarketView => {
    if (!Number.isFinite(decisionTime)) {
      throw new AppError('VALIDATION_ERROR', 'decisionTime must be a finite epoch ms', {
        field: 'decisionTime',
      });
    }
    const bound = boundAt(decisionTime);
    const check = (i: number): number => {
      if (!Number.isInteger(i) || i < 0 || i >= bound) {
        throw new AppError(
          'VALIDATION_ERROR',
          `bar ${i} is not visible at ${new Date(decisionTime).toISOString()} (${bound} bars known)`,
          { field: 'index', bound },
        );
      }
      return i;
    };
    const requireBars = () => {
      if (bound === 0) {
        throw new AppError(
          'INSUFFICIENT_DATA',
          `no bar closed before ${new Date(decisionTime).toISOString()}`,
        );
      }
    };
    const view: MarketView = {
      timeframe,
      decisionTime,
      length: bound,
      candle: (i) => bars[check(i)] as Candle,
      lastCandle: () => {
        requireBars();
        return bars[bound - 1] as Candle;
      },
      recentCandles: (count) => bars.slice(Math.max(0, bound - Math.max(0, Math.floor(count))), bound),
      recentCloses: (count) =>
        bars.slice(Math.max(0, bound - Math.max(0, Math.floor(count))), bound).map((c) => c.close),
      indicators: (i) => {
        requireBars();
        const idx = check(i ?? bound - 1);
        assertWarm(series, idx);
        const snap = indicatorsAt(series, idx);
        if (!snap) {
          throw new AppError(
            'INSUFFICIENT_DATA',
            `indicators undefined at bar ${idx} (flat or invalid window)`,
          );
        }
        return snap;
      },
      lastKnownAt: () => {
        requireBars();
        return known[bound - 1] as number;
      },
    };
    return Object.freeze(view);
  };

  return Object.freeze({
    timeframe,
    length: n,
    at,
    knownAt: (i: number) => {
      if (!Number.isInteger(i) || i < 0 || i >= n) {
        throw new AppError('VALIDATION_ERROR', `bar index ${i} outside 0..${n - 1}`, { field: 'index' });
      }
      return known[i] as number;
    },
    indexKnownAt: (t: number) => {
      const b = boundAt(t);
      return b > 0 && known[b - 1] === t ? b - 1 : -1;
    },
  });
}

/** The compact numbers every analyst sees. Percentages are in percent (1.5 = 1.5%). */
export interface MarketSummary {
  timeframe: Timeframe;
  /** ISO time of the decision (the data cut-off). */
  asOf: string;
  /** ISO open time of the last bar used. */
  lastBarOpenTime: string;
  barsAvailable: number;
  lastClose: number;
  /** Close-to-close returns over 1, 7 and 30 bars, %; null when the history is shorter. */
  returnsPct: { bars1: number | null; bars7: number | null; bars30: number | null };
  rsi14: number;
  macd: { line: number; signal: number; histogram: number };
  ema: { ema20: number; ema50: number; ema200: number };
  /** (close / EMA - 1) x 100. */
  distanceToEmaPct: { ema20: number; ema50: number; ema200: number };
  bollinger: { upper: number; middle: number; lower: number; percentB: number; bandwidthPct: number };
  atr14: number;
  /** ATR as % of the close. */
  atrPct: number;
  /** Annualized realized volatility of 30 log returns, %. */
  realizedVolPct: number;
  /** Highest high and lowest low over the last 30 bars, and the close's distance to them (%). */
  recentHigh: number;
  recentLow: number;
  distanceFromHighPct: number;
  distanceFromLowPct: number;
  /** Last bar's volume over the mean volume of the 20 bars before it; null when that mean is 0. */
  volumeVsAverage: number | null;
}

function round(x: number): number {
  return Number(x.toPrecision(SIGNIFICANT_DIGITS));
}

/** Build the agents' summary from a clock-gated view. Refuses before the indicator warm-up. */
export function summarizeForAgents(view: MarketView): MarketSummary {
  const ind = view.indicators();
  const last = view.lastCandle();
  const close = last.close;
  const maxBack = Math.max(...SUMMARY_WINDOWS.returns) + 1;
  const closes = view.recentCloses(maxBack);
  const ret = (k: number): number | null => {
    const base = closes[closes.length - 1 - k];
    return base === undefined ? null : round((close / base - 1) * PCT);
  };
  const recent = view.recentCandles(SUMMARY_WINDOWS.recentRange);
  let hi = Number.NEGATIVE_INFINITY;
  let lo = Number.POSITIVE_INFINITY;
  for (const c of recent) {
    if (c.high > hi) hi = c.high;
    if (c.low < lo) lo = c.low;
  }
  const volWindow = view.recentCandles(SUMMARY_WINDOWS.volumeAverage + 1).slice(0, -1);
  const meanVolume = volWindow.reduce((s, c) => s + c.volume, 0) / Math.max(1, volWindow.length);
  const dist = (ema: number) => round((close / ema - 1) * PCT);
  return {
    timeframe: view.timeframe,
    asOf: new Date(view.decisionTime).toISOString(),
    lastBarOpenTime: new Date(last.openTime).toISOString(),
    barsAvailable: view.length,
    lastClose: round(close),
    returnsPct: { bars1: ret(1), bars7: ret(7), bars30: ret(30) },
    rsi14: round(ind.rsi14),
    macd: { line: round(ind.macd), signal: round(ind.macdSignal), histogram: round(ind.macdHistogram) },
    ema: { ema20: round(ind.ema20), ema50: round(ind.ema50), ema200: round(ind.ema200) },
    distanceToEmaPct: { ema20: dist(ind.ema20), ema50: dist(ind.ema50), ema200: dist(ind.ema200) },
    bollinger: {
      upper: round(ind.bbUpper),
      middle: round(ind.bbMiddle),
      lower: round(ind.bbLower),
      percentB: round(ind.bbPercentB),
      bandwidthPct: round(((ind.bbUpper - ind.bbLower) / ind.bbMiddle) * PCT),
    },
    atr14: round(ind.atr14),
    atrPct: round((ind.atr14 / close) * PCT),
    realizedVolPct: round(ind.realizedVol * PCT),
    recentHigh: round(hi),
    recentLow: round(lo),
    distanceFromHighPct: round((close / hi - 1) * PCT),
    distanceFromLowPct: round((close / lo - 1) * PCT),
    volumeVsAverage: meanVolume > 0 ? round(last.volume / meanVolume) : null,
  };
}
