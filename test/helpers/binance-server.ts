/**
 * A local HTTP server that speaks Binance's public REST protocol, for tests of anything that talks to
 * Binance (the client, the API, browser end-to-end runs). Real sockets, real HTTP, Binance's response
 * shapes (see ../shared/data/binance/api-samples): 12-element kline arrays with string prices,
 * `{code,msg}` error bodies, Retry-After on 429/418.
 *
 *   const srv = await startBinanceServer({ candles: { 'BTCUSDT:1h': generateKlines({...}) }, now: () => t });
 *   createBinanceClient({ baseUrl: srv.url, fallbackUrl: null });
 *   srv.injectFault({ kind: 'rate-limit', retryAfterSeconds: 3 });   // next request only (times: 1)
 *   srv.klineRequests();                                              // what was asked, for assertions
 *   await srv.close();
 *
 * Klines semantics follow Binance: startTime/endTime filter open times (inclusive); with startTime the
 * first `limit` bars are returned, without it the last `limit`; limit defaults to 500 and is capped at
 * 1000. Only bars that have opened by `now()` exist, so the bar containing `now` is served as the
 * still-open candle (its closeTime is in the future), exactly as the live API does.
 */
import type { ServerResponse } from 'node:http';
import { readKlineFile } from '../../shared/market/import';
import { klineToWire } from '../../shared/market/kline';
import { type Candle, type Kline, TIMEFRAME_MS, type Timeframe } from '../../shared/market/types';
import {
  answerFault,
  BINANCE_ERRORS,
  type FaultQueueing,
  type FaultSpec,
  type RecordedRequest,
  send,
  startProtocolServer,
} from './protocol-server';

export { BINANCE_ERRORS, type FaultSpec, type RecordedRequest };

/** Every interval Binance spot accepts; others get -1120. */
export const BINANCE_INTERVALS = [
  '1s',
  '1m',
  '3m',
  '5m',
  '15m',
  '30m',
  '1h',
  '2h',
  '4h',
  '6h',
  '8h',
  '12h',
  '1d',
  '3d',
  '1w',
  '1M',
] as const;
const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 1000;
const SYMBOL_PATTERN = /^[A-Z0-9-_.]{1,20}$/;

export type CandleInput = Kline | Candle;

export interface BinanceServerOptions {
  /** Series keyed `SYMBOL:interval`, e.g. 'BTCUSDT:1h'. Sorted by open time on load. */
  candles?: Record<string, readonly CandleInput[]>;
  /** Extra symbols that exist but have no candles (so they answer [] instead of -1121). */
  symbols?: readonly string[];
  /** The exchange clock; bars opening after it do not exist yet. Default Date.now. */
  now?: () => number;
  /** ticker/price overrides; otherwise the close of the symbol's latest opened bar. */
  prices?: Record<string, string>;
}

export type BinanceFault = FaultSpec & FaultQueueing;

export interface KlineRequestRecord {
  symbol: string;
  interval: string;
  startTime?: number;
  endTime?: number;
  limit?: number;
  status: number;
}

export interface BinanceServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** The /api/v3/klines requests, with numbers parsed. */
  klineRequests(): KlineRequestRecord[];
  injectFault(fault: BinanceFault): void;
  clearFaults(): void;
  setCandles(key: string, candles: readonly CandleInput[]): void;
  close(): Promise<void>;
}

const mandatory = (name: string) => ({
  code: -1102,
  msg: `Mandatory parameter '${name}' was not sent, was empty/null, or malformed.`,
});

function toKline(c: CandleInput): Kline {
  if (typeof c.open === 'string') return c as Kline;
  const n = c as Candle;
  const dec = (v: number | null | undefined) => (v === null || v === undefined ? null : v.toFixed(8));
  return {
    openTime: n.openTime,
    open: n.open.toFixed(8),
    high: n.high.toFixed(8),
    low: n.low.toFixed(8),
    close: n.close.toFixed(8),
    volume: n.volume.toFixed(8),
    closeTime: n.closeTime,
    quoteVolume: dec(n.quoteVolume),
    trades: n.trades ?? null,
    takerBuyBase: dec(n.takerBuyBase),
    takerBuyQuote: dec(n.takerBuyQuote),
  };
}

export async function startBinanceServer(opts: BinanceServerOptions = {}): Promise<BinanceServer> {
  const now = opts.now ?? Date.now;
  const series = new Map<string, Kline[]>();
  const setCandles = (key: string, candles: readonly CandleInput[]) => {
    series.set(
      key,
      candles.map(toKline).sort((a, b) => a.openTime - b.openTime),
    );
  };
  for (const [key, candles] of Object.entries(opts.candles ?? {})) setCandles(key, candles);
  const extraSymbols = new Set(opts.symbols ?? []);

  const knownSymbol = (symbol: string) =>
    extraSymbols.has(symbol) || [...series.keys()].some((k) => k.startsWith(`${symbol}:`));

  function klines(params: URLSearchParams, res: ServerResponse, rec: RecordedRequest) {
    const symbol = params.get('symbol');
    const interval = params.get('interval');
    if (!symbol) return send(res, 400, mandatory('symbol'));
    if (!SYMBOL_PATTERN.test(symbol)) return send(res, 400, BINANCE_ERRORS.illegalSymbol);
    if (!interval) return send(res, 400, mandatory('interval'));
    if (!(BINANCE_INTERVALS as readonly string[]).includes(interval)) {
      return send(res, 400, BINANCE_ERRORS.invalidInterval);
    }
    if (!knownSymbol(symbol)) return send(res, 400, BINANCE_ERRORS.invalidSymbol);
    const limitText = params.get('limit');
    if (limitText !== null && !/^[0-9]{1,20}$/.test(limitText))
      return send(res, 400, BINANCE_ERRORS.illegalLimit);
    const limit = Math.min(limitText === null ? DEFAULT_LIMIT : Number(limitText), MAX_LIMIT);
    const start = params.get('startTime');
    const end = params.get('endTime');
    const nowMs = now();
    const all = (series.get(`${symbol}:${interval}`) ?? []).filter(
      (k) =>
        k.openTime <= nowMs &&
        (start === null || k.openTime >= Number(start)) &&
        (end === null || k.openTime <= Number(end)),
    );
    const rows = start !== null ? all.slice(0, limit) : all.slice(Math.max(0, all.length - limit));
    rec.rows = rows.length;
    return send(res, 200, rows.map(klineToWire));
  }

  function tickerPrice(params: URLSearchParams, res: ServerResponse) {
    const symbol = params.get('symbol');
    if (!symbol) return send(res, 400, mandatory('symbol'));
    if (!SYMBOL_PATTERN.test(symbol)) return send(res, 400, BINANCE_ERRORS.illegalSymbol);
    const override = opts.prices?.[symbol];
    if (override) return send(res, 200, { symbol, price: override });
    if (!knownSymbol(symbol)) return send(res, 400, BINANCE_ERRORS.invalidSymbol);
    // The finest series gives the freshest close.
    const nowMs = now();
    let best: Kline | undefined;
    let bestInterval = Number.POSITIVE_INFINITY;
    for (const [key, list] of series) {
      const [sym, interval] = key.split(':');
      if (sym !== symbol) continue;
      const iv = TIMEFRAME_MS[interval as Timeframe] ?? Number.POSITIVE_INFINITY;
      const opened = list.filter((k) => k.openTime <= nowMs);
      const last = opened[opened.length - 1];
      if (last && iv <= bestInterval) {
        best = last;
        bestInterval = iv;
      }
    }
    if (!best) return send(res, 400, BINANCE_ERRORS.invalidSymbol);
    return send(res, 200, { symbol, price: best.close });
  }

  const server = await startProtocolServer<BinanceFault>((req, res, url, rec, fault) => {
    if (fault) {
      const answered = answerFault(req, res, fault, '[[1704067200000,"42283.58');
      if (answered !== undefined) return answered;
    }
    switch (url.pathname) {
      case '/api/v3/klines':
        return klines(url.searchParams, res, rec);
      case '/api/v3/ticker/price':
        return tickerPrice(url.searchParams, res);
      case '/api/v3/ping':
        return send(res, 200, {});
      case '/api/v3/time':
        return send(res, 200, { serverTime: now() });
      default:
        return send(res, 404, '');
    }
  });

  const { requests } = server;
  return {
    url: server.url,
    requests,
    klineRequests: () =>
      requests
        .filter((r) => r.path === '/api/v3/klines')
        .map((r) => ({
          symbol: r.params.symbol ?? '',
          interval: r.params.interval ?? '',
          startTime: r.params.startTime === undefined ? undefined : Number(r.params.startTime),
          endTime: r.params.endTime === undefined ? undefined : Number(r.params.endTime),
          limit: r.params.limit === undefined ? undefined : Number(r.params.limit),
          status: r.status,
        })),
    injectFault: server.injectFault,
    clearFaults: server.clearFaults,
    setCandles,
    close: server.close,
  };
}

export interface GenerateOptions {
  timeframe: Timeframe;
  /** First open time (aligned to the interval by the caller). */
  start: number;
  count: number;
  startPrice?: number;
  seed?: number;
}

/**
 * Deterministic synthetic klines (a seeded random walk), for tests that need volume rather than real
 * values. Every bar is internally consistent: high >= max(open, close), low <= min(open, close).
 */
export function generateKlines({
  timeframe,
  start,
  count,
  startPrice = 100,
  seed = 1,
}: GenerateOptions): Kline[] {
  const iv = TIMEFRAME_MS[timeframe];
  let state = seed >>> 0 || 1;
  // xorshift32: tiny, seedable, good enough for a price walk.
  const rand = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
  const out: Kline[] = [];
  let price = startPrice;
  for (let i = 0; i < count; i++) {
    const open = price;
    const close = Math.max(0.01, open * (1 + (rand() - 0.5) * 0.02));
    const high = Math.max(open, close) * (1 + rand() * 0.005);
    const low = Math.min(open, close) * (1 - rand() * 0.005);
    const volume = 10 + rand() * 1000;
    const takerBase = volume * rand();
    const openTime = start + i * iv;
    out.push({
      openTime,
      open: open.toFixed(8),
      high: high.toFixed(8),
      low: low.toFixed(8),
      close: close.toFixed(8),
      volume: volume.toFixed(8),
      closeTime: openTime + iv - 1,
      quoteVolume: (volume * close).toFixed(8),
      trades: 1 + Math.floor(rand() * 5000),
      takerBuyBase: takerBase.toFixed(8),
      takerBuyQuote: (takerBase * close).toFixed(8),
    });
    price = close;
  }
  return out;
}

/** Klines from a CSV archive (the team's real files), via the product's importer parser. */
export async function loadKlinesFromCsv(file: string, timeframe: Timeframe): Promise<Kline[]> {
  const out: Kline[] = [];
  for await (const { kline } of readKlineFile(file, timeframe)) out.push(kline);
  return out;
}
