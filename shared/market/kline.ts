/**
 * Kline parsing shared by the REST client and the archive importer. Both read Binance's positional
 * layout `[openTime, open, high, low, close, volume, closeTime, quoteVolume, trades, takerBuyBase,
 * takerBuyQuote, ignore]`; the archive also comes as 6-column OHLCV rows. Values are checked, never
 * guessed: a field that is not a plain non-negative decimal makes the whole row invalid, and the
 * caller turns that into an error naming where it came from (a line number, an HTTP response).
 */
import { type Candle, type Kline, TIMEFRAME_MS, type Timeframe } from './types';

/** Binance's decimal strings ("42283.58000000"); exponent forms are accepted because numeric takes them. */
const DECIMAL = /^\d+(\.\d+)?([eE][-+]?\d+)?$/;
const INTEGER = /^\d+$/;
/**
 * Spot archives switched to microseconds on 2025-01-01. A millisecond epoch stays below 1e14 until the
 * year 5138 and a microsecond one is above it since 1973, so the threshold cannot misclassify.
 */
const MICROSECOND_THRESHOLD = 1e14;

export function isDecimalString(s: string): boolean {
  return DECIMAL.test(s);
}

/** Epoch ms from an integer that may be ms or µs. Returns undefined when it is not an integer. */
export function parseEpochMs(value: string | number): number | undefined {
  const text = typeof value === 'number' ? String(value) : value.trim();
  if (!INTEGER.test(text)) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n)) return undefined;
  return n > MICROSECOND_THRESHOLD ? Math.floor(n / 1000) : n;
}

export type KlineParseResult = { ok: true; kline: Kline } | { ok: false; reason: string };

const FIELD_NAMES = [
  'open_time',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'close_time',
  'quote_volume',
  'trades',
  'taker_buy_base',
  'taker_buy_quote',
  'ignore',
] as const;

function decimalField(fields: readonly unknown[], i: number): string | { reason: string } {
  const v = fields[i];
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : undefined;
  if (s === undefined || !DECIMAL.test(s)) {
    return { reason: `${FIELD_NAMES[i]} is not a non-negative decimal (got ${JSON.stringify(v)})` };
  }
  return s;
}

/**
 * Parse one positional kline: 12 fields (REST, archive), 11 (archive without `ignore`) or 6 (OHLCV).
 * For OHLCV rows the close time is the regular one, openTime + interval - 1, and the rest is null.
 */
export function parseKlineFields(fields: readonly unknown[], timeframe: Timeframe): KlineParseResult {
  const n = fields.length;
  if (n !== 12 && n !== 11 && n !== 6) {
    return { ok: false, reason: `expected 12, 11 or 6 columns, got ${n}` };
  }
  const openTime = parseEpochMs(fields[0] as string | number);
  if (openTime === undefined) {
    return { ok: false, reason: `open_time is not an integer epoch (got ${JSON.stringify(fields[0])})` };
  }
  const prices: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const d = decimalField(fields, i);
    if (typeof d !== 'string') return { ok: false, ...d };
    prices.push(d);
  }
  const [open, high, low, close, volume] = prices as [string, string, string, string, string];
  if (n === 6) {
    return {
      ok: true,
      kline: {
        openTime,
        open,
        high,
        low,
        close,
        volume,
        closeTime: openTime + TIMEFRAME_MS[timeframe] - 1,
        quoteVolume: null,
        trades: null,
        takerBuyBase: null,
        takerBuyQuote: null,
      },
    };
  }
  const closeTime = parseEpochMs(fields[6] as string | number);
  if (closeTime === undefined) {
    return { ok: false, reason: `close_time is not an integer epoch (got ${JSON.stringify(fields[6])})` };
  }
  const quoteVolume = decimalField(fields, 7);
  if (typeof quoteVolume !== 'string') return { ok: false, ...quoteVolume };
  const tradesText = typeof fields[8] === 'number' ? String(fields[8]) : String(fields[8] ?? '').trim();
  if (!INTEGER.test(tradesText) || !Number.isSafeInteger(Number(tradesText))) {
    return { ok: false, reason: `trades is not a non-negative integer (got ${JSON.stringify(fields[8])})` };
  }
  const takerBuyBase = decimalField(fields, 9);
  if (typeof takerBuyBase !== 'string') return { ok: false, ...takerBuyBase };
  const takerBuyQuote = decimalField(fields, 10);
  if (typeof takerBuyQuote !== 'string') return { ok: false, ...takerBuyQuote };
  return {
    ok: true,
    kline: {
      openTime,
      open,
      high,
      low,
      close,
      volume,
      closeTime,
      quoteVolume,
      trades: Number(tradesText),
      takerBuyBase,
      takerBuyQuote,
    },
  };
}

/** The float view of a kline, for computation. */
export function klineToCandle(k: Kline): Candle {
  return {
    openTime: k.openTime,
    open: Number(k.open),
    high: Number(k.high),
    low: Number(k.low),
    close: Number(k.close),
    volume: Number(k.volume),
    closeTime: k.closeTime,
    quoteVolume: k.quoteVolume === null ? null : Number(k.quoteVolume),
    trades: k.trades,
    takerBuyBase: k.takerBuyBase === null ? null : Number(k.takerBuyBase),
    takerBuyQuote: k.takerBuyQuote === null ? null : Number(k.takerBuyQuote),
  };
}

/** Binance's 12-element wire row for a kline (the test server and fixtures write it). */
export function klineToWire(
  k: Kline,
): [number, string, string, string, string, string, number, ...unknown[]] {
  return [
    k.openTime,
    k.open,
    k.high,
    k.low,
    k.close,
    k.volume,
    k.closeTime,
    k.quoteVolume ?? '0',
    k.trades ?? 0,
    k.takerBuyBase ?? '0',
    k.takerBuyQuote ?? '0',
    '0',
  ];
}
