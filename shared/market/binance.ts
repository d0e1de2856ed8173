/**
 * Binance public REST client (no key): klines and the latest price. An adapter behind the `KlineSource`
 * port, so the candle store and tests never care where klines come from.
 *
 * Decisions:
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
import { AppError } from '../util/errors';
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

export interface BinanceLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

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
}

export const DEFAULT_BINANCE_URL = 'https://api.binance.com';
export const DEFAULT_BINANCE_FALLBACK_URL = 'https://data-api.binance.vision';
export const BINANCE_MAX_PAGE_LIMIT = 1000;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRIES = 4;
const DEFAULT_BACKOFF_BASE_MS = 500;
const DEFAULT_BACKOFF_MAX_MS = 8_000;
/** A minute: Binance's weight window. Anything longer is a ban, not a hiccup. */
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

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

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function isTimeoutError(e: unknown): boolean {
  const name = (e as { name?: string } | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** Retry-After in ms, or undefined when absent or unreadable (Binance sends whole seconds). */
function retryAfterMs(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (h === null) return undefined;
  const seconds = Number(h.trim());
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

async function readBinanceError(res: Response): Promise<{ code?: number; msg?: string; text: string }> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { code?: unknown; msg?: unknown };
    return {
      code: typeof body.code === 'number' ? body.code : undefined,
      msg: typeof body.msg === 'string' ? body.msg : undefined,
      text,
    };
  } catch {
    return { text };
  }
}

export function createBinanceClient(opts: BinanceClientOptions = {}): BinanceClient {
  const primary = trimSlash(opts.baseUrl ?? DEFAULT_BINANCE_URL);
  const fallbackOpt = opts.fallbackUrl === undefined ? DEFAULT_BINANCE_FALLBACK_URL : opts.fallbackUrl;
  const fallback = fallbackOpt && trimSlash(fallbackOpt) !== primary ? trimSlash(fallbackOpt) : undefined;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES;
  const backoffBaseMs = opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const backoffMaxMs = opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const pageLimit = Math.min(opts.pageLimit ?? BINANCE_MAX_PAGE_LIMIT, BINANCE_MAX_PAGE_LIMIT);
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  let base = primary;

  /** "Equal jitter": half the exponential delay fixed, half random, so retries of many callers spread. */
  function backoff(attempt: number): number {
    const ceiling = Math.min(backoffMaxMs, backoffBaseMs * 2 ** attempt);
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }

  function switchToFallback(reason: string): boolean {
    if (!fallback || base === fallback) return false;
    opts.logger?.warn({ from: base, to: fallback, reason }, 'binance: switching to the fallback host');
    base = fallback;
    return true;
  }

  async function getJson(path: string, params: Record<string, string | number>): Promise<unknown> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
    let retries = 0;
    const context = { path, ...params };
    const retryOrFail = async (reason: string, cause?: unknown) => {
      if (retries >= maxRetries) {
        throw new AppError(
          'UPSTREAM_BINANCE',
          `Binance ${path} failed after ${retries + 1} attempts: ${reason}`,
          { ...context, reason, attempts: retries + 1 },
          { cause },
        );
      }
      await sleep(backoff(retries));
      retries++;
    };

    for (;;) {
      const url = `${base}${path}?${query}`;
      let res: Response;
      try {
        res = await fetchImpl(url, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (e) {
        if (isTimeoutError(e)) {
          await retryOrFail(`timed out after ${timeoutMs} ms`, e);
        } else if (!switchToFallback(`unreachable: ${(e as Error).message}`)) {
          await retryOrFail(`network error: ${(e as Error).message}`, e);
        }
        continue;
      }

      if (res.ok) {
        try {
          return await res.json();
        } catch (e) {
          if (isTimeoutError(e)) {
            await retryOrFail(`timed out reading the body after ${timeoutMs} ms`, e);
            continue;
          }
          throw new AppError(
            'UPSTREAM_BINANCE',
            `Binance ${path} returned a body that is not JSON`,
            context,
            {
              cause: e,
            },
          );
        }
      }

      if (res.status === 451 || res.status === 403) {
        await res.body?.cancel().catch(() => undefined);
        if (switchToFallback(`HTTP ${res.status}`)) continue;
        throw new AppError(
          'UPSTREAM_BINANCE',
          `Binance refused the request from this location (HTTP ${res.status}) at ${base}; set BINANCE_BASE_URL to a reachable host`,
          { ...context, status: res.status, host: base },
        );
      }

      if (res.status === 429 || res.status === 418) {
        const wait = retryAfterMs(res);
        const err = await readBinanceError(res);
        const rateLimited = (why: string) =>
          new AppError(
            'UPSTREAM_BINANCE_RATE_LIMITED',
            `Binance rate limit (HTTP ${res.status}${err.msg ? `: ${err.msg}` : ''}); ${why}`,
            { ...context, status: res.status, retryAfterSeconds: wait === undefined ? null : wait / 1000 },
          );
        if (wait !== undefined && wait > maxRetryAfterMs) {
          throw rateLimited(`retry after ${wait / 1000} s exceeds the ${maxRetryAfterMs / 1000} s we wait`);
        }
        if (retries >= maxRetries) throw rateLimited(`still limited after ${retries + 1} attempts`);
        await sleep(wait ?? backoff(retries));
        retries++;
        continue;
      }

      if (res.status >= 500) {
        await res.body?.cancel().catch(() => undefined);
        await retryOrFail(`HTTP ${res.status}`);
        continue;
      }

      const err = await readBinanceError(res);
      const detail = {
        ...context,
        status: res.status,
        binanceCode: err.code ?? null,
        binanceMsg: err.msg ?? null,
      };
      switch (err.code) {
        case BINANCE_INVALID_SYMBOL:
          throw new AppError(
            'UNKNOWN_SYMBOL',
            `symbol: Binance does not list ${String(params.symbol)}`,
            detail,
          );
        case BINANCE_INVALID_INTERVAL:
          throw new AppError(
            'UNSUPPORTED_TIMEFRAME',
            `interval: Binance does not support ${String(params.interval)}`,
            detail,
          );
        case BINANCE_ILLEGAL_CHARS:
          throw new AppError(
            'VALIDATION_ERROR',
            `Binance rejected a parameter: ${err.msg ?? err.text}`,
            detail,
          );
        default:
          throw new AppError(
            'UPSTREAM_BINANCE',
            `Binance ${path} answered HTTP ${res.status}${err.code !== undefined ? ` (${err.code} ${err.msg ?? ''})` : ''}`,
            detail,
          );
      }
    }
  }

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
      return base;
    },
  };
}
