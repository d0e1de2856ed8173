/**
 * Binance USD-M futures public market data (no key), per symbol:
 * - `GET /fapi/v1/fundingRate?symbol&startTime&endTime&limit` (limit <= 1000, ascending):
 *   `[{"symbol":"BTCUSDT","fundingRate":"-0.03750000","fundingTime":1570608000000,"markPrice":"34287.54619963"}]`
 *   The whole history since the perpetual's listing (BTCUSDT: 2019-09-10).
 * - `GET /futures/data/openInterestHist?symbol&period&startTime&endTime&limit` (limit <= 500):
 *   `[{"symbol":"BTCUSDT","sumOpenInterest":"20403.63700000","sumOpenInterestValue":"150570784.07809979","timestamp":1583127900000}]`
 * - `GET /futures/data/globalLongShortAccountRatio?symbol&period&startTime&endTime&limit` (limit <= 500):
 *   `[{"symbol":"BTCUSDT","longShortRatio":"0.1960","longAccount":"0.6622","shortAccount":"0.3378","timestamp":"1583139600000"}]`
 *   Both statistics keep only the latest 30 days upstream: a range older than that is not asked for
 *   (it cannot be answered), and the part inside the window is clipped to it.
 *
 * Decisions:
 * - Paging follows the rows: next startTime = last returned time + 1 (funding) or + period (statistics);
 *   a server that does not advance stops the loop.
 * - Every row is validated (decimal strings, integer times, the symbol asked for); one bad row rejects
 *   the answer, so nothing malformed reaches the cache.
 * - HTTP rules (Retry-After, backoff, 451/403 fallback) are shared/util/http-json.ts's; Binance's
 *   `{code,msg}` errors map like the spot client's (-1121 unknown symbol...).
 */
import type { Settings } from '../config/settings';
import { binanceClientError } from '../market/binance';
import type { RangeRequest } from './fng';
import { FUTURES_STATS_WINDOW_MS, makePoint, SERIES_INTERVAL_MS, type SentimentPoint } from './types';
import { parseRows, type SentimentClientOptions, sentimentHttp, upstreamSentimentError } from './upstream';

export const DEFAULT_BINANCE_FUTURES_URL = 'https://fapi.binance.com';
export const FUNDING_PAGE_LIMIT = 1000;
export const STATS_PAGE_LIMIT = 500;
/** The statistics' period we ask for (the series' grid). */
export const STATS_PERIOD = '1h';
/** Margin inside the 30-day window, so a request at its edge is not refused for being a little old. */
const WINDOW_MARGIN_MS = 3_600_000;

export interface SymbolRangeRequest extends RangeRequest {
  symbol: string;
}

export interface FuturesSource {
  fetchFunding(req: SymbolRangeRequest): Promise<SentimentPoint[]>;
  fetchOpenInterest(req: SymbolRangeRequest): Promise<SentimentPoint[]>;
  fetchLongShortRatio(req: SymbolRangeRequest): Promise<SentimentPoint[]>;
}

export interface FuturesClientOptions extends SentimentClientOptions {
  fundingPageLimit?: number;
}

export function futuresOptionsFromSettings(s: Settings): FuturesClientOptions {
  return {
    baseUrl: s.BINANCE_FUTURES_BASE_URL,
    fallbackUrl: s.BINANCE_FUTURES_FALLBACK_URL ?? null,
    timeoutMs: s.BINANCE_TIMEOUT_MS,
  };
}

const SERVICE = 'Binance futures';
const upstream = upstreamSentimentError;

const timeOf = (v: unknown): number | undefined => {
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};

type Kind = 'funding' | 'open_interest' | 'long_short';

/** Parse one futures answer (the API's JSON array, or the same saved to a file). Throws when malformed. */
export function parseFuturesRows(
  kind: Kind,
  body: unknown,
  expectedSymbol?: string,
  where = `${SERVICE} ${kind} answer`,
): SentimentPoint[] {
  if (!Array.isArray(body)) throw upstream(`${where} is not an array`);
  return parseRows(body, where, (r, fail) => {
    if (typeof r.symbol !== 'string' || r.symbol === '') fail('symbol is missing');
    if (expectedSymbol && r.symbol !== expectedSymbol)
      fail(`symbol ${String(r.symbol)}, asked ${expectedSymbol}`);
    const symbol = r.symbol as string;
    if (kind === 'funding') {
      const t = timeOf(r.fundingTime);
      if (t === undefined) fail('fundingTime is not an epoch in ms');
      return makePoint('funding', symbol, t as number, r.fundingRate, r.markPrice, null, fail);
    }
    const t = timeOf(r.timestamp);
    if (t === undefined) fail('timestamp is not an epoch in ms');
    return kind === 'open_interest'
      ? makePoint(kind, symbol, t as number, r.sumOpenInterest, r.sumOpenInterestValue, null, fail)
      : makePoint(kind, symbol, t as number, r.longShortRatio, r.longAccount, null, fail);
  });
}

export function createFuturesClient(
  opts: FuturesClientOptions = {},
): FuturesSource & { readonly activeBaseUrl: string } {
  const now = opts.now ?? Date.now;
  const fundingLimit = Math.min(opts.fundingPageLimit ?? FUNDING_PAGE_LIMIT, FUNDING_PAGE_LIMIT);
  const http = sentimentHttp(opts, {
    service: SERVICE,
    baseUrlSetting: 'BINANCE_FUTURES_BASE_URL',
    defaultBaseUrl: DEFAULT_BINANCE_FUTURES_URL,
    onClientError: (status, err, context) =>
      binanceClientError(status, err, context, 'UPSTREAM_SENTIMENT', SERVICE),
  });

  async function paged(
    kind: Kind,
    path: string,
    { symbol, startTime, endTime }: SymbolRangeRequest,
    limit: number,
    step: number,
    extra: Record<string, string> = {},
  ): Promise<SentimentPoint[]> {
    const out: SentimentPoint[] = [];
    let cursor = startTime;
    while (cursor <= endTime) {
      const params = { symbol, ...extra, startTime: cursor, endTime, limit };
      const rows = parseFuturesRows(
        kind,
        await http.getJson(path, params),
        symbol,
        `${SERVICE} ${path} answer`,
      );
      const nowMs = now();
      for (const p of rows) if (p.time >= cursor && p.time <= endTime && p.knownAt <= nowMs) out.push(p);
      const last = rows.at(-1);
      if (rows.length < limit || !last) break;
      const next = last.time + step;
      if (next <= cursor) break;
      cursor = next;
    }
    return out;
  }

  /** The part of a range inside the 30-day statistics window, or undefined when none is. */
  function statsWindow(req: SymbolRangeRequest): SymbolRangeRequest | undefined {
    const oldest = now() - FUTURES_STATS_WINDOW_MS + WINDOW_MARGIN_MS;
    const startTime = Math.max(req.startTime, oldest);
    return startTime > req.endTime ? undefined : { ...req, startTime };
  }

  return {
    fetchFunding: (req) => paged('funding', '/fapi/v1/fundingRate', req, fundingLimit, 1),
    async fetchOpenInterest(req) {
      const w = statsWindow(req);
      if (!w) return [];
      return paged(
        'open_interest',
        '/futures/data/openInterestHist',
        w,
        STATS_PAGE_LIMIT,
        SERIES_INTERVAL_MS.open_interest,
        {
          period: STATS_PERIOD,
        },
      );
    },
    async fetchLongShortRatio(req) {
      const w = statsWindow(req);
      if (!w) return [];
      return paged(
        'long_short',
        '/futures/data/globalLongShortAccountRatio',
        w,
        STATS_PAGE_LIMIT,
        SERIES_INTERVAL_MS.long_short,
        { period: STATS_PERIOD },
      );
    },
    get activeBaseUrl() {
      return http.activeBaseUrl;
    },
  };
}
