/**
 * GET-a-JSON-document over HTTP with the retry rules every public market-data client of the product
 * shares (Binance spot, Binance USD-M futures, the Fear & Greed index): one implementation, so a fix to
 * the rate-limit or fallback handling reaches every source.
 *
 * Decisions:
 * - `fetch`, `sleep` and `random` are injected: tests drive every retry and wait without real time.
 * - 429/418 carry Retry-After in seconds. We wait that long only up to `maxRetryAfterMs`; a ban of hours
 *   is reported at once (the `rateLimited` code) instead of parking a Lambda for days.
 * - 5xx (outcome unknown, but these are reads so retrying is safe), timeouts and network errors are
 *   retried with exponential backoff and jitter, a bounded number of times, then the `upstream` code.
 * - 451/403 (a provider blocking some countries) or an unreachable primary switch to the fallback host,
 *   when there is one, for the rest of the client's life: asking the blocked host again would fail the
 *   same way. Without one, the error names the setting that points the client elsewhere.
 * - A 200 whose body is not JSON (truncated, an HTML error page) is an error, never a value.
 * - Other 4xx answers go to the caller's `onClientError` (Binance's `{code,msg}` mapping); without a
 *   mapping they are the `upstream` code with the status.
 * - A 418/429 with Retry-After sets that host's "not before" in the shared upstream-health store (this
 *   process, or PostgreSQL on AWS): until then NO request of any caller goes to that host. A request
 *   inside it waits (short holds, within its retries) or answers the rate-limited code with
 *   `retryAfterSeconds` at once, without calling; the fallback host, when there is one and it is not
 *   held itself, may still answer that request.
 */
import type { UpstreamHealthStore } from '../resilience/upstream-health';
import { holdUntil } from '../resilience/upstream-health';
import { AppError, type ErrorCode } from './errors';

export interface HttpLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface ClientErrorBody {
  code?: number;
  msg?: string;
  text: string;
}

export interface JsonHttpOptions {
  /** Who we talk to, as messages name it ("Binance", "Binance futures", "Fear & Greed"). */
  service: string;
  /** The setting that chooses the primary host, named in the "blocked" message. */
  baseUrlSetting: string;
  baseUrl: string;
  /** Used when the primary is blocked (451/403) or unreachable; null/undefined disables it. */
  fallbackUrl?: string | null;
  codes: { upstream: ErrorCode; rateLimited: ErrorCode };
  timeoutMs?: number;
  /** Retries for 5xx, timeouts, network errors and short rate-limit waits (not counting the first try). */
  maxRetries?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Longest Retry-After we are willing to sleep through; longer ones fail fast. */
  maxRetryAfterMs?: number;
  /** Maps a 4xx (other than 403/418/429/451) to a product error; undefined -> the upstream code. */
  onClientError?: (
    status: number,
    body: ClientErrorBody,
    context: Record<string, unknown>,
  ) => AppError | undefined;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: HttpLogger;
  /** Shared Retry-After holds per host (see the header); absent, holds are per request only. */
  health?: UpstreamHealthStore;
  /** Wall clock for the holds (default Date.now). */
  clock?: () => number;
}

export interface JsonHttp {
  getJson(path: string, params: Record<string, string | number>): Promise<unknown>;
  /** The host requests currently go to (the fallback after a 451/403 or an unreachable primary). */
  readonly activeBaseUrl: string;
}

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RETRIES = 4;
const DEFAULT_BACKOFF_BASE_MS = 500;
const DEFAULT_BACKOFF_MAX_MS = 8_000;
/** A minute: Binance's weight window. Anything longer is a ban, not a hiccup. */
const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function isTimeoutError(e: unknown): boolean {
  const name = (e as { name?: string } | undefined)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

/** Retry-After in ms, or undefined when absent or unreadable (whole seconds, as these providers send). */
export function retryAfterMs(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (h === null) return undefined;
  const seconds = Number(h.trim());
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

async function readErrorBody(res: Response): Promise<ClientErrorBody> {
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

export function createJsonHttp(opts: JsonHttpOptions): JsonHttp {
  const { service, codes } = opts;
  const primary = trimSlash(opts.baseUrl);
  const fallback =
    opts.fallbackUrl && trimSlash(opts.fallbackUrl) !== primary ? trimSlash(opts.fallbackUrl) : undefined;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES;
  const backoffBaseMs = opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const backoffMaxMs = opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  let base = primary;
  const clock = opts.clock ?? Date.now;
  const health = opts.health;
  const holdKey = (host: string) => `http:${host}`;
  /**
   * The host's shared "not before" (epoch ms), or null when it may be called now. `waitedUntil`: this
   * request already slept until then, so a hold ending by then is over for it.
   */
  async function heldUntil(host: string, waitedUntil: number): Promise<number | null> {
    if (!health) return null;
    const nb = await health.apply(holdKey(host), (st) => ({ next: st, result: st.notBefore }));
    return nb !== null && nb > Math.max(clock(), waitedUntil) ? nb : null;
  }

  /** "Equal jitter": half the exponential delay fixed, half random, so retries of many callers spread. */
  function backoff(attempt: number): number {
    const ceiling = Math.min(backoffMaxMs, backoffBaseMs * 2 ** attempt);
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }

  function switchToFallback(reason: string): boolean {
    if (!fallback || base === fallback) return false;
    opts.logger?.warn(
      { from: base, to: fallback, reason },
      `${service.toLowerCase()}: switching to the fallback host`,
    );
    base = fallback;
    return true;
  }

  async function getJson(path: string, params: Record<string, string | number>): Promise<unknown> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString();
    let retries = 0;
    let waitedUntil = 0;
    const pause = async (ms: number) => {
      waitedUntil = Math.max(waitedUntil, clock() + ms);
      await sleep(ms);
    };
    const context = { path, ...params };
    const retryOrFail = async (reason: string, cause?: unknown) => {
      if (retries >= maxRetries) {
        throw new AppError(
          codes.upstream,
          `${service} ${path} failed after ${retries + 1} attempts: ${reason}`,
          { ...context, reason, attempts: retries + 1 },
          { cause },
        );
      }
      await sleep(backoff(retries));
      retries++;
    };

    for (;;) {
      // A host under a Retry-After hold is not called: wait a short hold out, try the fallback for this
      // request, or answer rate-limited at once.
      let host = base;
      const held = await heldUntil(host, waitedUntil);
      if (held !== null) {
        if (fallback && host !== fallback && (await heldUntil(fallback, waitedUntil)) === null)
          host = fallback;
        else {
          const wait = held - clock();
          if (wait <= maxRetryAfterMs && retries < maxRetries) {
            await pause(wait);
            retries++;
            continue;
          }
          throw new AppError(
            codes.rateLimited,
            `${service} rate limit: ${host} asked us to wait until ${new Date(held).toISOString()}; not called`,
            { ...context, host, retryAfterSeconds: Math.ceil(wait / 1000) },
          );
        }
      }
      const url = `${host}${path}${query ? `?${query}` : ''}`;
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
          throw new AppError(codes.upstream, `${service} ${path} returned a body that is not JSON`, context, {
            cause: e,
          });
        }
      }

      if (res.status === 451 || res.status === 403) {
        await res.body?.cancel().catch(() => undefined);
        if (switchToFallback(`HTTP ${res.status}`)) continue;
        throw new AppError(
          codes.upstream,
          `${service} refused the request from this location (HTTP ${res.status}) at ${base}; set ${opts.baseUrlSetting} to a reachable host`,
          { ...context, status: res.status, host: base },
        );
      }

      if (res.status === 429 || res.status === 418) {
        const wait = retryAfterMs(res);
        const err = await readErrorBody(res);
        if (health && wait !== undefined && wait > 0)
          await health.apply(holdKey(host), (st) => ({
            next: holdUntil(st, clock() + wait, `HTTP ${res.status} Retry-After ${wait / 1000} s`),
            result: undefined,
          }));
        const rateLimited = (why: string) =>
          new AppError(
            codes.rateLimited,
            `${service} rate limit (HTTP ${res.status}${err.msg ? `: ${err.msg}` : ''}); ${why}`,
            { ...context, status: res.status, retryAfterSeconds: wait === undefined ? null : wait / 1000 },
          );
        if (wait !== undefined && wait > maxRetryAfterMs) {
          throw rateLimited(`retry after ${wait / 1000} s exceeds the ${maxRetryAfterMs / 1000} s we wait`);
        }
        if (retries >= maxRetries) throw rateLimited(`still limited after ${retries + 1} attempts`);
        await pause(wait ?? backoff(retries));
        retries++;
        continue;
      }

      if (res.status >= 500) {
        await res.body?.cancel().catch(() => undefined);
        await retryOrFail(`HTTP ${res.status}`);
        continue;
      }

      const err = await readErrorBody(res);
      const mapped = opts.onClientError?.(res.status, err, context);
      if (mapped) throw mapped;
      throw new AppError(
        codes.upstream,
        `${service} ${path} answered HTTP ${res.status}${err.code !== undefined ? ` (${err.code} ${err.msg ?? ''})` : ''}`,
        { ...context, status: res.status, upstreamCode: err.code ?? null, upstreamMsg: err.msg ?? null },
      );
    }
  }

  return {
    getJson,
    get activeBaseUrl() {
      return base;
    },
  };
}
