/**
 * Technical indicators, computed ONCE per series (O(n)) and read by index.
 *
 * Exported: `computeIndicators`, `indicatorsAt`, `assertWarm`, `IndicatorSeries`, `IndicatorSnapshot`,
 * `INDICATOR_PARAMS`, `WARMUP_BARS`, `WARMUP_BY_INDICATOR`, `VOLATILITY_WINDOW`.
 *
 * Design decisions:
 * - The `technicalindicators` package computes RSI(14), MACD(12,26,9), EMA 20/50/200, ATR(14) and
 *   Bollinger(20, 2). Its batch outputs are shorter than the input and end on the last candle, so each
 *   output is aligned by offset (n - output length) and padded with null during warm-up. MACD gets
 *   `SimpleMAOscillator: false, SimpleMASignal: false` explicitly (EMA-based, the standard MACD). Its RSI
 *   is rounded to 2 decimals by the library; we keep that (documented, tested with a 0.005 tolerance).
 * - Every value at index i depends only on candles 0..i (causal), which the truncation test proves.
 *   Recomputing over a trailing window at each step is never done (measured ~390x slower).
 * - Realized volatility: sample standard deviation (ddof 1) of the last VOLATILITY_WINDOW = 30 log
 *   returns ln(c_i / c_{i-1}), annualized by sqrt(periodsPerYear(timeframe)) (1h: 8,760). Each window
 *   is computed directly (30 multiply-adds per bar), so the value never depends on older history.
 * - Warm-up. EMAs (and MACD, Wilder RSI/ATR) are recursive: the seed's weight after k bars is
 *   (1 - alpha)^k. BACKTESTING.md asks for ~7x the period for EMAs, 13x for Wilder RSI/ATR, 200+ bars
 *   for MACD. EMA200 dominates: 7 x 200 = 1,400 bars, after which the seed weighs
 *   (1 - 2/201)^1200 < 1e-5. So WARMUP_BARS = 1,400: no decision is taken, and `indicatorsAt`/
 *   `assertWarm` refuse, on fewer bars. Consequence for callers: fetch 1,400 bars before the first
 *   decision (1h: 58 days; 4h: 233 days; 1d: 3.8 years, so a daily backtest on data from 2018 starts
 *   in late 2021). The warm-up test measures on real BTC data how much each value can still move.
 */
import { ATR, BollingerBands, EMA, MACD, RSI } from 'technicalindicators';
import { type Candle, periodsPerYear, type Timeframe } from '../market/types';
import { AppError } from '../util/errors';

export const INDICATOR_PARAMS = {
  rsiPeriod: 14,
  macd: { fastPeriod: 12, slowPeriod: 26, signalPeriod: 9 },
  emaPeriods: [20, 50, 200] as const,
  atrPeriod: 14,
  bollinger: { period: 20, stdDev: 2 },
} as const;

/** Log returns in the realized-volatility window. */
export const VOLATILITY_WINDOW = 30;

const EMA_WARMUP_FACTOR = 7;
const WILDER_WARMUP_FACTOR = 13;
const MACD_MIN_WARMUP = 200;

/** Bars needed (including the current one) before each indicator is trusted; see header. */
export const WARMUP_BY_INDICATOR = {
  rsi14: WILDER_WARMUP_FACTOR * INDICATOR_PARAMS.rsiPeriod,
  atr14: WILDER_WARMUP_FACTOR * INDICATOR_PARAMS.atrPeriod,
  ema20: EMA_WARMUP_FACTOR * 20,
  ema50: EMA_WARMUP_FACTOR * 50,
  ema200: EMA_WARMUP_FACTOR * 200,
  macd: Math.max(MACD_MIN_WARMUP, EMA_WARMUP_FACTOR * INDICATOR_PARAMS.macd.slowPeriod),
  bollinger: INDICATOR_PARAMS.bollinger.period,
  realizedVol: VOLATILITY_WINDOW + 1,
} as const;

/** Bars required before the first decision: the largest per-indicator warm-up (EMA200: 1,400). */
export const WARMUP_BARS: number = Math.max(...Object.values(WARMUP_BY_INDICATOR));

type Col = (number | null)[];

/** Parallel arrays aligned to the candles: index i is the value at the close of candle i. */
export interface IndicatorSeries {
  readonly timeframe: Timeframe;
  readonly length: number;
  readonly rsi14: Col;
  readonly macd: Col;
  readonly macdSignal: Col;
  readonly macdHistogram: Col;
  readonly ema20: Col;
  readonly ema50: Col;
  readonly ema200: Col;
  readonly atr14: Col;
  readonly bbUpper: Col;
  readonly bbMiddle: Col;
  readonly bbLower: Col;
  /** Bollinger %b: (close - lower) / (upper - lower). */
  readonly bbPercentB: Col;
  /** Annualized realized volatility as a fraction (0.5 = 50%). */
  readonly realizedVol: Col;
}

export interface IndicatorSnapshot {
  index: number;
  rsi14: number;
  macd: number;
  macdSignal: number;
  macdHistogram: number;
  ema20: number;
  ema50: number;
  ema200: number;
  atr14: number;
  bbUpper: number;
  bbMiddle: number;
  bbLower: number;
  bbPercentB: number;
  realizedVol: number;
}

/** Place a shorter output so that its last value sits on the last candle; nulls before. */
function alignEnd<T>(n: number, out: readonly T[], pick: (x: T) => number | undefined): Col {
  const col: Col = new Array(n).fill(null);
  const offset = n - out.length;
  for (let k = 0; k < out.length; k++) {
    const v = pick(out[k] as T);
    col[offset + k] = v === undefined || !Number.isFinite(v) ? null : v;
  }
  return col;
}

function realizedVolatility(closes: readonly number[], timeframe: Timeframe): Col {
  const n = closes.length;
  const col: Col = new Array(n).fill(null);
  const annualize = Math.sqrt(periodsPerYear(timeframe));
  const logRet = new Float64Array(n);
  for (let i = 1; i < n; i++) logRet[i] = Math.log((closes[i] as number) / (closes[i - 1] as number));
  const w = VOLATILITY_WINDOW;
  for (let i = w; i < n; i++) {
    let mean = 0;
    for (let j = i - w + 1; j <= i; j++) mean += logRet[j] as number;
    mean /= w;
    let ss = 0;
    for (let j = i - w + 1; j <= i; j++) {
      const d = (logRet[j] as number) - mean;
      ss += d * d;
    }
    col[i] = Math.sqrt(ss / (w - 1)) * annualize;
  }
  return col;
}

export function computeIndicators(candles: readonly Candle[], timeframe: Timeframe): IndicatorSeries {
  const n = candles.length;
  const close = new Array<number>(n);
  const high = new Array<number>(n);
  const low = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const c = candles[i] as Candle;
    if (!(c.close > 0 && c.high >= c.low && Number.isFinite(c.high) && Number.isFinite(c.low))) {
      throw new AppError('VALIDATION_ERROR', `candle ${i} (openTime ${c.openTime}) has invalid prices`, {
        field: 'candles',
        index: i,
      });
    }
    close[i] = c.close;
    high[i] = c.high;
    low[i] = c.low;
  }
  const P = INDICATOR_PARAMS;
  const rsi = RSI.calculate({ values: close, period: P.rsiPeriod });
  const macd = MACD.calculate({
    values: close,
    ...P.macd,
    SimpleMAOscillator: false,
    SimpleMASignal: false,
  });
  const ema = (period: number) => alignEnd(n, EMA.calculate({ values: close, period }), (x) => x);
  const atr = ATR.calculate({ high, low, close, period: P.atrPeriod });
  const bb = BollingerBands.calculate({ values: close, ...P.bollinger });

  const bbUpper = alignEnd(n, bb, (x) => x.upper);
  const bbLower = alignEnd(n, bb, (x) => x.lower);
  const bbPercentB: Col = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    const u = bbUpper[i];
    const l = bbLower[i];
    // A flat window (upper == lower) has no defined %b: null, not a sentinel.
    if (u != null && l != null && u > l) bbPercentB[i] = ((close[i] as number) - l) / (u - l);
  }
  return {
    timeframe,
    length: n,
    rsi14: alignEnd(n, rsi, (x) => x),
    macd: alignEnd(n, macd, (x) => x.MACD),
    macdSignal: alignEnd(n, macd, (x) => x.signal),
    macdHistogram: alignEnd(n, macd, (x) => x.histogram),
    ema20: ema(20),
    ema50: ema(50),
    ema200: ema(200),
    atr14: alignEnd(n, atr, (x) => x),
    bbUpper,
    bbMiddle: alignEnd(n, bb, (x) => x.middle),
    bbLower,
    bbPercentB,
    realizedVol: realizedVolatility(close, timeframe),
  };
}

/** True when bar i has at least WARMUP_BARS bars of history (itself included). */
export function isWarm(i: number): boolean {
  return i >= WARMUP_BARS - 1;
}

/** Refuse (INSUFFICIENT_DATA) to read indicators before the warm-up. */
export function assertWarm(series: IndicatorSeries, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= series.length) {
    throw new AppError('VALIDATION_ERROR', `bar index ${i} outside the series (0..${series.length - 1})`, {
      field: 'index',
    });
  }
  if (!isWarm(i)) {
    throw new AppError(
      'INSUFFICIENT_DATA',
      `indicators need ${WARMUP_BARS} bars of warm-up (EMA200 x 7); bar ${i} has only ${i + 1}`,
      { required: WARMUP_BARS, available: i + 1 },
    );
  }
}

/**
 * Every indicator at bar i, or null before the warm-up (or when a value is undefined, e.g. a flat
 * Bollinger window). Callers that must not proceed without values use `assertWarm` first.
 */
export function indicatorsAt(series: IndicatorSeries, i: number): IndicatorSnapshot | null {
  if (!Number.isInteger(i) || i < 0 || i >= series.length || !isWarm(i)) return null;
  const s = series;
  const values = {
    rsi14: s.rsi14[i],
    macd: s.macd[i],
    macdSignal: s.macdSignal[i],
    macdHistogram: s.macdHistogram[i],
    ema20: s.ema20[i],
    ema50: s.ema50[i],
    ema200: s.ema200[i],
    atr14: s.atr14[i],
    bbUpper: s.bbUpper[i],
    bbMiddle: s.bbMiddle[i],
    bbLower: s.bbLower[i],
    bbPercentB: s.bbPercentB[i],
    realizedVol: s.realizedVol[i],
  };
  for (const v of Object.values(values)) if (v == null) return null;
  return { index: i, ...(values as Record<keyof typeof values, number>) };
}
