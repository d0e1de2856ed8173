/**
 * Market-sentiment vocabulary. Times are UTC epoch milliseconds.
 *
 * Series (each cached in `sentiment_points`, keyed by its own time):
 * - `fng`: the Crypto Fear & Greed Index (alternative.me), one value 0-100 per UTC day, market-wide
 *   (symbol `*`). Point time = 00:00 UTC of the day D it describes; known from D+1 00:00 UTC.
 * - `funding`: Binance USD-M perpetual funding rate (a fraction per funding interval, usually 8 h),
 *   per symbol. Point time = its funding time; known from that instant (visible to a decision strictly
 *   after it: nothing at or after t).
 * - `open_interest` / `long_short`: Binance futures statistics (1 h period), per symbol. Upstream keeps
 *   only the last 30 days. Point time = the statistic's timestamp; counted known one period later (the
 *   documentation does not say whether the timestamp opens or closes the period: the later reading is
 *   the one that cannot leak).
 * The static narrative notes (shared/agents/data/sentiment.json) are a fifth source, `static`, not cached.
 */
import { AppError } from '../util/errors';

export const SENTIMENT_SERIES = ['fng', 'funding', 'open_interest', 'long_short'] as const;
export type SentimentSeries = (typeof SENTIMENT_SERIES)[number];
export const SENTIMENT_SOURCE_NAMES = [...SENTIMENT_SERIES, 'static'] as const;
export type SentimentSourceName = (typeof SENTIMENT_SOURCE_NAMES)[number];
export const DEFAULT_SENTIMENT_SOURCES: readonly SentimentSourceName[] = ['fng', 'funding', 'static'];

/** The symbol of market-wide series (the Fear & Greed index is not per pair). */
export const MARKET_WIDE = '*';

const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Nominal spacing of each series: the grid that missing ranges and gaps are computed on. */
export const SERIES_INTERVAL_MS: Record<SentimentSeries, number> = {
  fng: DAY_MS,
  funding: 8 * HOUR_MS,
  open_interest: HOUR_MS,
  long_short: HOUR_MS,
};
/** Binance keeps the futures statistics for this long (openInterestHist, globalLongShortAccountRatio). */
export const FUTURES_STATS_WINDOW_MS = 30 * DAY_MS;
/** The Fear & Greed history starts here (alternative.me: February 2018). */
export const FNG_HISTORY_START_MS = Date.UTC(2018, 1, 1);

export const SERIES_LABEL: Record<SentimentSourceName, string> = {
  fng: 'Crypto Fear & Greed Index (alternative.me, daily)',
  funding: 'Binance USD-M funding rate (per funding interval)',
  open_interest: 'Binance USD-M open interest (1 h, last 30 days upstream)',
  long_short: 'Binance USD-M global long/short account ratio (1 h, last 30 days upstream)',
  static: 'static narrative notes compiled by hand',
};

export function isSentimentSeries(x: string): x is SentimentSeries {
  return (SENTIMENT_SERIES as readonly string[]).includes(x);
}

export function seriesSymbol(series: SentimentSeries, symbol: string): string {
  return series === 'fng' ? MARKET_WIDE : symbol;
}

/** When a value of `series` stamped `time` became public (see header). */
export function knownAtOf(series: SentimentSeries, time: number): number {
  switch (series) {
    case 'fng':
      return Math.floor(time / DAY_MS) * DAY_MS + DAY_MS;
    case 'funding':
      return time + 1;
    default:
      return time + SERIES_INTERVAL_MS[series];
  }
}

/**
 * One published value. `value` and `value2` are the provider's exact decimal strings (numeric in the
 * database): F&G value / -, funding rate / mark price, open interest / its USDT value, long/short
 * ratio / long-account share. `label` is the F&G classification ("Extreme Fear", ...).
 */
export interface SentimentPoint {
  series: SentimentSeries;
  symbol: string;
  time: number;
  knownAt: number;
  value: string;
  value2: string | null;
  label: string | null;
}

/** A hole in a series (the same shape as a candle gap: slots strictly between the two times). */
export interface SentimentGap {
  afterTime: number;
  nextTime: number;
  missingPoints: number;
}

const DECIMAL = /^-?\d{1,20}(\.\d{1,20})?(e-?\d{1,3})?$/i;

/** A decimal string as stored (numeric); anything else is a malformed answer or file. */
export function isDecimalString(v: unknown): v is string {
  return typeof v === 'string' && DECIMAL.test(v) && Number.isFinite(Number(v));
}

/** A series point, validated; throws VALIDATION_ERROR-style reasons through `fail`. */
export function makePoint(
  series: SentimentSeries,
  symbol: string,
  time: number,
  value: unknown,
  value2: unknown,
  label: string | null,
  fail: (reason: string) => never,
): SentimentPoint {
  if (!Number.isSafeInteger(time) || time < 0) fail(`time ${JSON.stringify(time)} is not an epoch`);
  if (!isDecimalString(value)) fail(`value ${JSON.stringify(value)} is not a decimal number`);
  const v2 = value2 === null || value2 === undefined || value2 === '' ? null : value2;
  if (v2 !== null && !isDecimalString(v2)) fail(`companion value ${JSON.stringify(value2)} is not a decimal`);
  const t = series === 'fng' ? Math.floor(time / DAY_MS) * DAY_MS : time;
  if (series === 'fng') {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 100) fail(`Fear & Greed value ${value} is not an integer 0-100`);
  }
  return {
    series,
    symbol: seriesSymbol(series, symbol),
    time: t,
    knownAt: knownAtOf(series, t),
    value,
    value2: v2 as string | null,
    label,
  };
}

export function assertSentimentSeries(series: string): asserts series is SentimentSeries {
  if (!isSentimentSeries(series))
    throw new AppError(
      'VALIDATION_ERROR',
      `series: ${JSON.stringify(series)} is not a sentiment series (${SENTIMENT_SERIES.join(', ')})`,
      { series },
    );
}
