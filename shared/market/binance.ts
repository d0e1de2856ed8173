/**
 * Binance public REST client (no key): klines and the latest price. An adapter behind the `KlineSource`
 * port, so the candle store and tests never care where klines come from.
 *
 * Decisions (the HTTP rules, shared with the futures and Fear & Greed clients, live in
 * shared/util/http-json.ts):
 * - `fetch`, `sleep`, `now` and `random` are injected: tests drive every retry and wait without real time.
 * - Pagination follows Binance's own rule: next startTime = last open time + interval, 1000 rows a page.
 *   Stepping from the last *returned* bar (not the grid) keeps misaligned archive bars from looping.
 * - The still-open candle (closeTime >= now) is dropped: a cache must hold only final values.
 * - 429/418 carry Retry-After in seconds. We wait that long only up to `maxRetryAfterMs`; an IP ban of
 *   hours is reported as UPSTREAM_BINANCE_RATE_LIMITED at once instead of parking a Lambda for days.
 * - 5xx (outcome unknown, but klines are reads so retrying is safe), timeouts and network errors are
 *   retried with exponential backoff and jitter, a bounded number of times, then UPSTREAM_BINANCE.
 * - 451/403 (Binance blocks some countries) or an unreachable primary switch to the market-data-only
 *   host for the rest of the client's life: asking the blocked host again would fail the same way.
 * - Binance `{code,msg}` errors become AppErrors a caller can act on (-1121 unknown symbol, -1120 bad
 *   interval, -1100 illegal characters); anything else is UPSTREAM_BINANCE (502).
 */
import type { Settings } from '../config/settings';
import type { UpstreamHealthStore } from '../resilience/upstream-health';
import { AppError, type ErrorCode } from '../util/errors';
import { type ClientErrorBody, createJsonHttp, type HttpLogger } from '../util/http-json';
import { parseKlineFields } from './kline';
import { isTimeframe, type Kline, TIMEFRAME_MS, type Timeframe } from './types';

/** Klines with startTime <= openTime <= endTime (epoch ms, inclusive like Binance), closed only, ascending. */
export interface KlineRequest {
  symbol: string;
  timeframe: Timeframe;
  startTime: number;
  endTime: number;
}

/** Port: anything that can produce closed klines for a range (Binance REST, a test double, an archive). */
export interface KlineSource {
  fetchKlines(req: KlineRequest): Promise<Kline[]>;
}

export interface BinanceClient extends KlineSource {
  /** Last traded price from /api/v3/ticker/price. */
  latestPrice(symbol: string): Promise<number>;
  /** The host requests currently go to (the fallback after a 451/403 or an unreachable primary). */
  readonly activeBaseUrl: string;
}

export type BinanceLogger = HttpLogger;

export interface BinanceClientOptions {
  baseUrl?: string;
  /** Market-data-only host used when the primary is blocked or unreachable; null disables it. */
  fallbackUrl?: string | null;
  timeoutMs?: number;
  /** Retries for 5xx, timeouts, network errors and short rate-limit waits (not counting the first try). */
  maxRetries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Longest Retry-After we are willing to sleep through; longer ones fail fast. */
  maxRetryAfterMs?: number;
  /** Rows per klines request (Binance's maximum is 1000). */
  pageLimit?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  logger?: BinanceLogger;
  /** Shared Retry-After holds per host (shared/util/http-json.ts). */
  health?: UpstreamHealthStore;
  /** Wall clock for those holds (default Date.now). */
  clock?: () => number;
}

export const DEFAULT_BINANCE_URL = 'https://api.binance.com';
export const DEFAULT_BINANCE_FALLBACK_URL = 'https://data-api.binance.vision';
export const BINANCE_MAX_PAGE_LIMIT = 1000;

/** Binance error codes we map to user-facing errors (binance-spot-api-docs errors.md). */
const BINANCE_INVALID_SYMBOL = -1121;
const BINANCE_INVALID_INTERVAL = -1120;
const BINANCE_ILLEGAL_CHARS = -1100;

export function binanceOptionsFromSettings(s: Settings): BinanceClientOptions {
  return {
    baseUrl: s.BINANCE_BASE_URL,
    fallbackUrl: s.BINANCE_FALLBACK_URL,
    timeoutMs: s.BINANCE_TIMEOUT_MS,
  };
}

/**
 * Binance's `{code,msg}` 4xx answers as product errors (spot and USD-M futures share these codes):
 * -1121 unknown symbol, -1120 bad interval, -1100 illegal characters; others stay upstream errors.
 */
export function binanceClientError(
  status: number,
  err: ClientErrorBody,
  context: Record<string, unknown>,
  upstream: ErrorCode = 'UPSTREAM_BINANCE',
  service = 'Binance',
): AppError {
  const detail = { ...context, status, binanceCode: err.code ?? null, binanceMsg: err.msg ?? null };
  switch (err.code) {
    case BINANCE_INVALID_SYMBOL:
      return new AppError(
        'UNKNOWN_SYMBOL',
        `symbol: ${service} does not list ${String(context.symbol)}`,
        detail,
      );
    case BINANCE_INVALID_INTERVAL:
      return new AppError(
        'UNSUPPORTED_TIMEFRAME',
        `interval: ${service} does not support ${String(context.interval ?? context.period)}`,
        detail,
      );
    case BINANCE_ILLEGAL_CHARS:
      return new AppError(
        'VALIDATION_ERROR',
        `${service} rejected a parameter: ${err.msg ?? err.text}`,
        detail,
      );
    default:
      return new AppError(
        upstream,
        `${service} ${String(context.path)} answered HTTP ${status}${err.code !== undefined ? ` (${err.code} ${err.msg ?? ''})` : ''}`,
        detail,
      );
  }
}

export function createBinanceClient(opts: BinanceClientOptions = {}): BinanceClient {
  const pageLimit = Math.min(opts.pageLimit ?? BINANCE_MAX_PAGE_LIMIT, BINANCE_MAX_PAGE_LIMIT);
  const now = opts.now ?? Date.now;
  const http = createJsonHttp({
    ...opts,
    service: 'Binance',
    baseUrlSetting: 'BINANCE_BASE_URL',
    baseUrl: opts.baseUrl ?? DEFAULT_BINANCE_URL,
    fallbackUrl: opts.fallbackUrl === undefined ? DEFAULT_BINANCE_FALLBACK_URL : opts.fallbackUrl,
    codes: { upstream: 'UPSTREAM_BINANCE', rateLimited: 'UPSTREAM_BINANCE_RATE_LIMITED' },
    onClientError: (status, err, context) => binanceClientError(status, err, context),
  });
  const getJson = http.getJson;

  async function fetchKlines(req: KlineRequest): Promise<Kline[]> {
    const { symbol, timeframe, startTime, endTime } = req;
    if (!isTimeframe(timeframe)) {
      throw new AppError('UNSUPPORTED_TIMEFRAME', `timeframe: ${String(timeframe)} is not supported`, {
        timeframe,
      });
    }
    if (!Number.isSafeInteger(startTime) || !Number.isSafeInteger(endTime) || startTime > endTime) {
      throw new AppError('VALIDATION_ERROR', 'startTime/endTime: need integers with startTime <= endTime', {
        startTime,
        endTime,
      });
    }
    const intervalMs = TIMEFRAME_MS[timeframe];
    const nowMs = now();
    const out: Kline[] = [];
    let cursor = startTime;
    while (cursor <= endTime) {
      const params = { symbol, interval: timeframe, startTime: cursor, endTime, limit: pageLimit };
      const body = await getJson('/api/v3/klines', params);
      if (!Array.isArray(body)) {
        throw new AppError('UPSTREAM_BINANCE', 'Binance /api/v3/klines did not return an array', params);
      }
      let lastOpenTime: number | undefined;
      for (const [i, row] of body.entries()) {
        const parsed =
          Array.isArray(row) && row.length === 12
            ? parseKlineFields(row, timeframe)
            : { ok: false as const, reason: 'not a 12-element array' };
        if (!parsed.ok) {
          throw new AppError(
            'UPSTREAM_BINANCE',
            `Binance kline row ${i} is malformed: ${parsed.reason}`,
            params,
          );
        }
        const k = parsed.kline;
        lastOpenTime = k.openTime;
        // Still forming: its values will change, so it never enters a cache.
        if (k.closeTime >= nowMs) continue;
        if (k.openTime >= cursor && k.openTime <= endTime) out.push(k);
      }
      if (body.length < pageLimit || lastOpenTime === undefined) break;
      const next = lastOpenTime + intervalMs;
      if (next <= cursor) break; // a server that does not advance would loop forever
      cursor = next;
    }
    return out;
  }

  async function latestPrice(symbol: string): Promise<number> {
    const body = (await getJson('/api/v3/ticker/price', { symbol })) as { symbol?: unknown; price?: unknown };
    const price = typeof body?.price === 'string' ? Number(body.price) : Number.NaN;
    if (!Number.isFinite(price) || price <= 0) {
      throw new AppError('UPSTREAM_BINANCE', `Binance ticker/price for ${symbol} has no usable price`, {
        symbol,
        body: JSON.stringify(body).slice(0, 200),
      });
    }
    return price;
  }

  return {
    fetchKlines,
    latestPrice,
    get activeBaseUrl() {
      return http.activeBaseUrl;
    },
  };
}
