/**
 * One local host per test file: the real node:http server (functions/local/server.ts) on port 0, PGlite
 * in memory, the offline agent provider, and the local Binance server (test/helpers/binance-server.ts)
 * loaded with the team's real klines. The clock is pinned just after the data's last bar, so "latest"
 * and live analyses see real candles.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { type LocalServer, startLocalServer } from '../../functions/local/server';
import { loadSettings, type Settings } from '../../shared/config/settings';
import type { Kline, Timeframe } from '../../shared/market/types';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import { type BinanceServer, loadKlinesFromCsv, startBinanceServer } from '../helpers/binance-server';
import {
  generateFng,
  generateFunding,
  type SentimentServer,
  startSentimentServer,
} from '../helpers/sentiment-server';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const DATA_DIR = resolve(ROOT, '../shared/data/binance');
export const HAS_DATA = existsSync(DATA_DIR);
export const SKIP_REASON = '(skipped: ../shared/data/binance not present)';

/** The data ends with the bar opening 2025-12-31 20:00 (4h); the clock sits at the next day's start. */
export const TEST_NOW = Date.parse('2026-01-01T00:00:00Z');
/** First day of the local sentiment server's synthetic series (a year and a half before TEST_NOW). */
export const SENTIMENT_FROM = Date.parse('2024-06-01T00:00:00Z');

export interface Harness {
  url: string;
  server: LocalServer;
  binance: BinanceServer;
  /** Fear & Greed and Binance futures, with SYNTHETIC values (no real index history is on disk). */
  sentiment: SentimentServer;
  settings: Settings;
  close(): Promise<void>;
  get(
    path: string,
    headers?: Record<string, string>,
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies, asserted field by field by each test
  ): Promise<{ status: number; body: any; headers: Headers }>;
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies, asserted field by field by each test
  ): Promise<{ status: number; body: any; headers: Headers }>;
  raw(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<Response>;
}

const klineCache = new Map<string, Promise<Kline[]>>();
export function realKlines(file: string, tf: Timeframe): Promise<Kline[]> {
  const key = `${file}:${tf}`;
  let p = klineCache.get(key);
  if (!p) {
    p = loadKlinesFromCsv(resolve(DATA_DIR, file), tf);
    klineCache.set(key, p);
  }
  return p;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  workflows?: WorkflowStarter | 'auto' | 'inprocess' | 'stepfunctions';
  /** Also serve BTCUSDT 1h (the last N bars only; 4h is always served). */
  withHourly?: number;
  now?: () => number;
  /** The backtest Map's concurrency (default settings.BACKTEST_MAP_CONCURRENCY). */
  backtestConcurrency?: number;
  /** A web app folder to serve (default none). */
  webDist?: string;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const now = opts.now ?? (() => TEST_NOW);
  const candles: Record<string, Kline[]> = {
    'BTCUSDT:4h': await realKlines('BTCUSDT-4h.csv', '4h'),
    'ETHUSDT:4h': await realKlines('ETHUSDT-4h.csv', '4h'),
    'SOLUSDT:4h': await realKlines('SOLUSDT-4h.csv', '4h'),
  };
  if (opts.withHourly) {
    candles['BTCUSDT:1h'] = (await realKlines('BTCUSDT-1h.csv.gz', '1h')).slice(-opts.withHourly);
  }
  const binance = await startBinanceServer({ candles, now });
  const sentiment = await startSentimentServer({
    fng: generateFng({
      startDay: SENTIMENT_FROM,
      days: Math.ceil((TEST_NOW - SENTIMENT_FROM) / 86_400_000) + 1,
    }),
    funding: Object.fromEntries(
      ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'].map((s, i) => [
        s,
        generateFunding({
          start: SENTIMENT_FROM,
          count: Math.ceil((TEST_NOW - SENTIMENT_FROM) / 28_800_000) + 3,
          seed: 11 + i,
        }),
      ]),
    ),
    now,
  });
  const settings = loadSettings({
    LLM_PROVIDER: 'offline',
    DATA_DIR: 'memory://',
    BINANCE_BASE_URL: binance.url,
    FNG_BASE_URL: sentiment.url,
    BINANCE_FUTURES_BASE_URL: sentiment.url,
    LOG_LEVEL: 'silent',
    ANALYZE_WAIT_MS: '20000',
    ...opts.env,
  });
  const server = await startLocalServer({
    settings,
    port: 0,
    host: '127.0.0.1',
    webDist: opts.webDist ?? null,
    workflows: opts.workflows ?? 'auto',
    backgroundWorkflows: false,
    ...(opts.backtestConcurrency ? { backtestConcurrency: opts.backtestConcurrency } : {}),
    logger: pino({ level: 'silent' }),
    containerOverrides: { binanceFallbackUrl: null, binanceMaxRetries: 0, now },
  });
  const raw = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body } : {}),
    });
  const parse = async (res: Response) => {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (the docs page): keep the text
    }
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies, asserted field by field by each test
    return { status: res.status, body: body as any, headers: res.headers };
  };
  return {
    url: server.url,
    server,
    binance,
    sentiment,
    settings,
    get: async (path, headers) => parse(await raw('GET', path, undefined, headers)),
    post: async (path, body, headers) =>
      parse(await raw('POST', path, typeof body === 'string' ? body : JSON.stringify(body), headers)),
    raw,
    async close() {
      await server.close();
      await binance.close();
      await sentiment.close();
    },
  };
}

/** Poll a URL until `done(body)` or the bound passes (workflows run in the background). */
export async function pollUntil(
  h: Harness,
  path: string,
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies, asserted field by field by each test
  done: (body: any) => boolean,
  timeoutMs = 60_000,
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies, asserted field by field by each test
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await h.get(path);
    if (r.status === 200 && done(r.body)) return r.body;
    if (Date.now() > deadline)
      throw new Error(`timed out polling ${path}: last ${JSON.stringify(r.body).slice(0, 500)}`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}
