/**
 * What the two sentiment clients (fng.ts, binance-futures.ts) share: their options, their HTTP client
 * (shared/util/http-json.ts with the sentiment error codes) and the row loop of their parsers (each row
 * an object, one bad row rejects the whole answer with its index, points sorted by time).
 */
import { AppError } from '../util/errors';
import { createJsonHttp, type HttpLogger, type JsonHttp, type JsonHttpOptions } from '../util/http-json';
import type { SentimentPoint } from './types';

export interface SentimentClientOptions {
  baseUrl?: string;
  fallbackUrl?: string | null;
  timeoutMs?: number;
  maxRetries?: number;
  backoffBaseMs?: number;
  maxRetryAfterMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  random?: () => number;
  logger?: HttpLogger;
}

export const upstreamSentimentError = (message: string, details?: Record<string, unknown>) =>
  new AppError('UPSTREAM_SENTIMENT', message, details);

/** The JSON HTTP client of one sentiment service, with the sentiment error codes. */
export function sentimentHttp(
  opts: SentimentClientOptions,
  service: {
    service: string;
    baseUrlSetting: string;
    defaultBaseUrl: string;
    onClientError?: JsonHttpOptions['onClientError'];
  },
): JsonHttp {
  return createJsonHttp({
    ...opts,
    service: service.service,
    baseUrlSetting: service.baseUrlSetting,
    baseUrl: opts.baseUrl ?? service.defaultBaseUrl,
    fallbackUrl: opts.fallbackUrl ?? null,
    codes: { upstream: 'UPSTREAM_SENTIMENT', rateLimited: 'UPSTREAM_SENTIMENT_RATE_LIMITED' },
    ...(service.onClientError ? { onClientError: service.onClientError } : {}),
  });
}

/**
 * Parse an answer's rows: each must be an object; `parseRow` returns its point or calls `fail`, which
 * rejects the whole answer naming the row. The points come back sorted by time.
 */
export function parseRows(
  rows: readonly unknown[],
  where: string,
  parseRow: (row: Record<string, unknown>, fail: (reason: string) => never) => SentimentPoint,
): SentimentPoint[] {
  const out: SentimentPoint[] = [];
  for (const [i, row] of rows.entries()) {
    const fail = (reason: string): never => {
      throw upstreamSentimentError(`${where} row ${i} is malformed: ${reason}`, { row: i });
    };
    if (typeof row !== 'object' || row === null) fail('not an object');
    out.push(parseRow(row as Record<string, unknown>, fail));
  }
  return out.sort((a, b) => a.time - b.time);
}
