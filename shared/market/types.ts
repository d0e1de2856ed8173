/** Market-data vocabulary shared by every module. Times are UTC epoch milliseconds. */

export const TIMEFRAMES = ['1m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '12h', '1d'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

const MINUTE = 60_000;
export const TIMEFRAME_MS: Record<Timeframe, number> = {
  '1m': MINUTE,
  '5m': 5 * MINUTE,
  '15m': 15 * MINUTE,
  '30m': 30 * MINUTE,
  '1h': 60 * MINUTE,
  '2h': 120 * MINUTE,
  '4h': 240 * MINUTE,
  '6h': 360 * MINUTE,
  '12h': 720 * MINUTE,
  '1d': 1440 * MINUTE,
};

export function isTimeframe(x: string): x is Timeframe {
  return (TIMEFRAMES as readonly string[]).includes(x);
}

/** A trading pair's name as Binance spells it: 5 to 20 upper-case letters and digits (BTCUSDT). */
export const SYMBOL_PATTERN = /^[A-Z0-9]{5,20}$/;
export const SYMBOL_MIN_LENGTH = 5;
export const SYMBOL_MAX_LENGTH = 20;
/** How much of a bad symbol a message quotes back: enough to recognize it, never a flood. */
const SYMBOL_QUOTE_CHARS = 24;

/**
 * What exactly is wrong with a symbol's spelling (too short or long, lower-case letters, other
 * characters), as one sentence starting with "symbol"; undefined when it is well formed. One rule-wide
 * message ("must be upper-case letters and digits") told a user typing FOO to fix the case of a name
 * that was already upper-case; this names each broken rule and quotes the value.
 */
export function symbolFormatProblem(symbol: string): string | undefined {
  if (SYMBOL_PATTERN.test(symbol)) return undefined;
  const problems: string[] = [];
  if (symbol.length < SYMBOL_MIN_LENGTH) problems.push(`is too short (${symbol.length} characters)`);
  if (symbol.length > SYMBOL_MAX_LENGTH) problems.push(`is too long (${symbol.length} characters)`);
  if (/[a-z]/.test(symbol)) problems.push('has lower-case letters');
  const others = [...new Set(symbol.replace(/[A-Za-z0-9]/g, ''))];
  if (others.length > 0)
    problems.push(
      `has characters other than letters and digits (${others
        .slice(0, 5)
        .map((c) => JSON.stringify(c))
        .join(', ')})`,
    );
  const quoted = JSON.stringify(
    symbol.length > SYMBOL_QUOTE_CHARS ? `${symbol.slice(0, SYMBOL_QUOTE_CHARS)}…` : symbol,
  );
  return `symbol ${quoted} ${problems.join(' and ')}: a symbol is ${SYMBOL_MIN_LENGTH} to ${SYMBOL_MAX_LENGTH} upper-case letters and digits, like BTCUSDT`;
}

/** Periods per year for annualizing per-bar statistics (crypto trades 365 days). */
export function periodsPerYear(tf: Timeframe): number {
  return 525_600 / (TIMEFRAME_MS[tf] / MINUTE);
}

/**
 * A closed kline. Prices and volumes are float64 for computation; the exact Binance strings live in
 * the database (numeric) and are kept here in `raw` when a path needs them byte for byte.
 */
export interface Candle {
  openTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** openTime + interval - 1 for a regular bar. A bar's close is known at closeTime + 1. */
  closeTime: number;
  quoteVolume?: number | null;
  trades?: number | null;
  takerBuyBase?: number | null;
  takerBuyQuote?: number | null;
}

/** A hole in a series: bars expected between `from` and `to` (open times, exclusive) are missing. */
export interface Gap {
  afterOpenTime: number;
  nextOpenTime: number;
  missingBars: number;
}

/** Per-symbol exchange filters (Binance LOT_SIZE and MIN_NOTIONAL). */
export interface SymbolFilters {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  stepSize: string;
  minQty: string;
  minNotional: string;
  tickSize: string;
}

/**
 * Filters for the supported symbols, from Binance's exchangeInfo (mainnet capture 2021-03-24, see
 * ../shared/data/binance/api-samples in the team folder). Unknown symbols fall back to conservative
 * defaults (8-decimal step, 10 USDT minimum) and are labelled as such.
 */
export const DEFAULT_FILTERS: Record<string, SymbolFilters> = {
  BTCUSDT: {
    symbol: 'BTCUSDT',
    baseAsset: 'BTC',
    quoteAsset: 'USDT',
    stepSize: '0.00000100',
    minQty: '0.00000100',
    minNotional: '10',
    tickSize: '0.01',
  },
  ETHUSDT: {
    symbol: 'ETHUSDT',
    baseAsset: 'ETH',
    quoteAsset: 'USDT',
    stepSize: '0.00001000',
    minQty: '0.00001000',
    minNotional: '10',
    tickSize: '0.01',
  },
  SOLUSDT: {
    symbol: 'SOLUSDT',
    baseAsset: 'SOL',
    quoteAsset: 'USDT',
    stepSize: '0.01000000',
    minQty: '0.01000000',
    minNotional: '10',
    tickSize: '0.01',
  },
};

export function filtersFor(symbol: string): SymbolFilters {
  return (
    DEFAULT_FILTERS[symbol] ?? {
      symbol,
      baseAsset: symbol.replace(/USDT$/, ''),
      quoteAsset: 'USDT',
      stepSize: '0.00000001',
      minQty: '0.00000001',
      minNotional: '10',
      tickSize: '0.00000001',
    }
  );
}

/**
 * A closed kline as Binance sends it: prices and volumes are the exchange's exact decimal strings, so
 * the paths that store them (REST cache, archive import) never round through float64. `Candle` is the
 * float view of the same bar for computation (see `klineToCandle` in shared/market/kline.ts).
 * The four extra fields are null for OHLCV-only sources (6-column archives).
 */
export interface Kline {
  openTime: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  closeTime: number;
  quoteVolume: string | null;
  trades: number | null;
  takerBuyBase: string | null;
  takerBuyQuote: string | null;
}
