/**
 * The Crypto Fear & Greed Index client (alternative.me, public, no key): `GET /fng/?limit=N&format=json`.
 *
 * The API has no range query: it answers the newest `limit` daily values, newest first (`limit=0` is the
 * whole history since 2018-02-01). To cover a range we ask for as many days as lie between the range's
 * start and today (plus a margin) and keep the range. Answer shape (documented at alternative.me/crypto/api):
 *
 *   {"name":"Fear and Greed Index","data":[{"value":"40","value_classification":"Fear",
 *     "timestamp":"1551157200","time_until_update":"68499"}],"metadata":{"error":null}}
 *
 * Decisions:
 * - A value is dated by the UTC day its timestamp falls on (the old history stamps 05:00 UTC, the newer
 *   00:00 UTC: both are that day's value).
 * - Today's value (its day has not ended) is dropped like a still-open candle: it is not known yet under
 *   the point-in-time rule, and a cache holds only final values.
 * - Every row is validated (integer 0-100, a classification, a numeric timestamp); one bad row rejects
 *   the whole answer, so a truncated or malformed answer is never cached. `metadata.error` set is an
 *   error even with HTTP 200.
 * - HTTP rules (Retry-After, backoff, 451/403 fallback) are shared/util/http-json.ts's.
 */
import type { Settings } from '../config/settings';
import { DAY_MS, makePoint, type SentimentPoint } from './types';
import { parseRows, type SentimentClientOptions, sentimentHttp, upstreamSentimentError } from './upstream';

export const DEFAULT_FNG_URL = 'https://api.alternative.me';

export interface RangeRequest {
  /** Inclusive epoch ms range of point times. */
  startTime: number;
  endTime: number;
}

export interface FngSource {
  fetchFng(req: RangeRequest): Promise<SentimentPoint[]>;
}

export type FngClientOptions = SentimentClientOptions;

export function fngOptionsFromSettings(s: Settings): FngClientOptions {
  return { baseUrl: s.FNG_BASE_URL, timeoutMs: s.BINANCE_TIMEOUT_MS };
}

const upstream = upstreamSentimentError;

/** Parse an F&G answer (the API's JSON, or the same saved to a file). Throws on any malformed part. */
export function parseFngDocument(body: unknown, where = 'Fear & Greed answer'): SentimentPoint[] {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { data?: unknown }).data)) {
    throw upstream(`${where} has no "data" array`);
  }
  const meta = (body as { metadata?: { error?: unknown } }).metadata;
  if (meta && meta.error !== null && meta.error !== undefined && meta.error !== '') {
    throw upstream(`${where} reports an error: ${String(meta.error)}`, { error: String(meta.error) });
  }
  return parseRows((body as { data: unknown[] }).data, where, (r, fail) => {
    const tsText = typeof r.timestamp === 'number' ? String(r.timestamp) : r.timestamp;
    if (typeof tsText !== 'string' || !/^\d{1,12}$/.test(tsText)) fail('timestamp is not epoch seconds');
    if (typeof r.value_classification !== 'string' || r.value_classification === '')
      fail('value_classification is missing');
    const value = typeof r.value === 'number' ? String(r.value) : r.value;
    return makePoint('fng', '*', Number(tsText) * 1000, value, null, r.value_classification as string, fail);
  });
}

export function createFngClient(opts: FngClientOptions = {}): FngSource & { readonly activeBaseUrl: string } {
  const now = opts.now ?? Date.now;
  const http = sentimentHttp(opts, {
    service: 'Fear & Greed',
    baseUrlSetting: 'FNG_BASE_URL',
    defaultBaseUrl: DEFAULT_FNG_URL,
  });
  return {
    async fetchFng({ startTime, endTime }) {
      const nowMs = now();
      const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
      if (startTime > endTime || startTime >= today) return [];
      // Days from the range's start to today, inclusive, plus one for a value stamped late in its day.
      const limit = Math.floor((today - Math.floor(startTime / DAY_MS) * DAY_MS) / DAY_MS) + 2;
      const body = await http.getJson('/fng/', { limit, format: 'json' });
      return parseFngDocument(body).filter(
        (p) => p.time >= startTime && p.time <= endTime && p.knownAt <= nowMs,
      );
    },
    get activeBaseUrl() {
      return http.activeBaseUrl;
    },
  };
}
