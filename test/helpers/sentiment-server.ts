/**
 * A local HTTP server speaking the two public sentiment protocols the product reads, for tests (the
 * clients, the cache, the pipeline, the API): real sockets, real HTTP, the providers' documented shapes.
 *
 * Fear & Greed (alternative.me/crypto/api): `GET /fng/?limit=N&format=json`, newest first, `limit=0` the
 * whole history, default 1. Documented sample:
 *   {"name":"Fear and Greed Index","data":[{"value":"40","value_classification":"Fear",
 *    "timestamp":"1551157200","time_until_update":"68499"}],"metadata":{"error":null}}
 * Today's value is served during today (with time_until_update), as the live API does.
 *
 * Binance USD-M futures (developers.binance.com, derivatives/usds-margined-futures/market-data):
 *   GET /fapi/v1/fundingRate?symbol&startTime&endTime&limit   (default 100, max 1000, ascending)
 *     [{"symbol":"BTCUSDT","fundingRate":"-0.03750000","fundingTime":1570608000000,"markPrice":"34287.54619963"}]
 *   GET /futures/data/openInterestHist?symbol&period&startTime&endTime&limit   (default 30, max 500)
 *     [{"symbol":"BTCUSDT","sumOpenInterest":"20403.63700000","sumOpenInterestValue":"150570784.07809979","timestamp":1583127900000}]
 *   GET /futures/data/globalLongShortAccountRatio?symbol&period&startTime&endTime&limit
 *     [{"symbol":"BTCUSDT","longShortRatio":"0.1960","longAccount":"0.6622","shortAccount":"0.3378","timestamp":"1583139600000"}]
 * The statistics exist only for the latest 30 days (older rows are not served). Errors are Binance's
 * `{code,msg}` (-1121 Invalid symbol.), 429 carries Retry-After.
 *
 *   const srv = await startSentimentServer({ fng: generateFng(...), funding: { BTCUSDT: generateFunding(...) }, now });
 *   createFngClient({ baseUrl: srv.url }); createFuturesClient({ baseUrl: srv.url });
 *   srv.injectFault({ kind: 'rate-limit', retryAfterSeconds: 2, path: '/fng/' });
 */
import type { ServerResponse } from 'node:http';
import {
  answerFault,
  BINANCE_ERRORS,
  type FaultQueueing,
  type FaultSpec,
  type RecordedRequest,
  send,
  startProtocolServer,
} from './protocol-server';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const STATS_WINDOW_MS = 30 * DAY_MS;
const STATS_PERIODS: Record<string, number> = {
  '5m': 300_000,
  '15m': 900_000,
  '30m': 1_800_000,
  '1h': HOUR_MS,
  '2h': 2 * HOUR_MS,
  '4h': 4 * HOUR_MS,
  '6h': 6 * HOUR_MS,
  '12h': 12 * HOUR_MS,
  '1d': DAY_MS,
};

/** The documented samples, verbatim (see header). */
export const DOCUMENTED_SAMPLES = {
  fng: {
    name: 'Fear and Greed Index',
    data: [
      { value: '40', value_classification: 'Fear', timestamp: '1551157200', time_until_update: '68499' },
    ],
    metadata: { error: null },
  },
  fundingRate: [
    {
      symbol: 'BTCUSDT',
      fundingRate: '-0.03750000',
      fundingTime: 1570608000000,
      markPrice: '34287.54619963',
    },
    { symbol: 'BTCUSDT', fundingRate: '0.00010000', fundingTime: 1570636800000, markPrice: '34287.54619963' },
  ],
  openInterestHist: [
    {
      symbol: 'BTCUSDT',
      sumOpenInterest: '20403.63700000',
      sumOpenInterestValue: '150570784.07809979',
      timestamp: 1583127900000,
    },
  ],
  globalLongShortAccountRatio: [
    {
      symbol: 'BTCUSDT',
      longShortRatio: '0.1960',
      longAccount: '0.6622',
      shortAccount: '0.3378',
      timestamp: '1583139600000',
    },
  ],
} as const;

export interface FngRow {
  /** Epoch seconds (00:00 UTC of the day, or 05:00 in the old history). */
  timestamp: number;
  value: number;
  classification?: string;
}
export interface FundingRow {
  fundingTime: number;
  fundingRate: string;
  markPrice: string;
}
export interface StatRow {
  timestamp: number;
  a: string;
  b: string;
}

export interface SentimentServerOptions {
  fng?: readonly FngRow[];
  funding?: Record<string, readonly FundingRow[]>;
  openInterest?: Record<string, readonly StatRow[]>;
  longShort?: Record<string, readonly StatRow[]>;
  now?: () => number;
}

export type SentimentFault = (FaultSpec | { kind: 'fng-error'; message?: string } | { kind: 'bad-row' }) &
  FaultQueueing;

export interface SentimentServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  injectFault(fault: SentimentFault): void;
  clearFaults(): void;
  setFng(rows: readonly FngRow[]): void;
  setFunding(symbol: string, rows: readonly FundingRow[]): void;
  close(): Promise<void>;
}

/** alternative.me's classification bands. */
export function fngClassification(v: number): string {
  if (v <= 24) return 'Extreme Fear';
  if (v <= 46) return 'Fear';
  if (v <= 54) return 'Neutral';
  if (v <= 75) return 'Greed';
  return 'Extreme Greed';
}

function rng(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/** Deterministic synthetic daily index values (a bounded random walk), `days` days from `startDay`. */
export function generateFng({
  startDay,
  days,
  seed = 7,
}: {
  startDay: number;
  days: number;
  seed?: number;
}): FngRow[] {
  const rand = rng(seed);
  let v = 50;
  const out: FngRow[] = [];
  for (let i = 0; i < days; i++) {
    v = Math.max(1, Math.min(99, Math.round(v + (rand() - 0.5) * 12)));
    out.push({ timestamp: (startDay + i * DAY_MS) / 1000, value: v });
  }
  return out;
}

/** Deterministic synthetic funding rates every 8 h from `start` (aligned by the caller). */
export function generateFunding({
  start,
  count,
  seed = 11,
}: {
  start: number;
  count: number;
  seed?: number;
}): FundingRow[] {
  const rand = rng(seed);
  const out: FundingRow[] = [];
  for (let i = 0; i < count; i++) {
    const rate = 0.0001 + (rand() - 0.45) * 0.0004;
    out.push({
      fundingTime: start + i * 8 * HOUR_MS,
      fundingRate: rate.toFixed(8),
      markPrice: (30000 + rand() * 1000).toFixed(8),
    });
  }
  return out;
}

/** Deterministic hourly statistics (open interest or long/short) from `start`. */
export function generateStats({
  start,
  count,
  base,
  seed = 13,
}: {
  start: number;
  count: number;
  base: number;
  seed?: number;
}): StatRow[] {
  const rand = rng(seed);
  const out: StatRow[] = [];
  let v = base;
  for (let i = 0; i < count; i++) {
    v = v * (1 + (rand() - 0.5) * 0.02);
    out.push({ timestamp: start + i * HOUR_MS, a: v.toFixed(8), b: (0.4 + rand() * 0.2).toFixed(4) });
  }
  return out;
}

export async function startSentimentServer(opts: SentimentServerOptions = {}): Promise<SentimentServer> {
  const now = opts.now ?? Date.now;
  let fng = [...(opts.fng ?? [])].sort((a, b) => a.timestamp - b.timestamp);
  const funding = new Map(
    Object.entries(opts.funding ?? {}).map(([k, v]) => [
      k,
      [...v].sort((a, b) => a.fundingTime - b.fundingTime),
    ]),
  );
  const oi = new Map(Object.entries(opts.openInterest ?? {}));
  const ls = new Map(Object.entries(opts.longShort ?? {}));
  const knownSymbol = (s: string) => funding.has(s) || oi.has(s) || ls.has(s);

  function fngAnswer(q: URLSearchParams, res: ServerResponse, rec: RecordedRequest, badRow: boolean) {
    const limitText = q.get('limit') ?? '1';
    if (!/^\d+$/.test(limitText))
      return send(res, 200, { name: 'Fear and Greed Index', data: [], metadata: { error: 'Invalid limit' } });
    const limit = Number(limitText);
    const nowMs = now();
    const started = fng.filter((r) => r.timestamp * 1000 <= nowMs).reverse();
    const rows = limit === 0 ? started : started.slice(0, limit);
    rec.rows = rows.length;
    const data: Record<string, string>[] = rows.map((r, i) => ({
      value: String(r.value),
      value_classification: r.classification ?? fngClassification(r.value),
      timestamp: String(r.timestamp),
      ...(i === 0
        ? { time_until_update: String(Math.max(0, Math.floor((r.timestamp * 1000 + DAY_MS - nowMs) / 1000))) }
        : {}),
    }));
    if (badRow && data.length) data[data.length - 1] = { ...data[data.length - 1]!, value: 'n/a' };
    return send(res, 200, { name: 'Fear and Greed Index', data, metadata: { error: null } });
  }

  function range(q: URLSearchParams, defaultLimit: number, maxLimit: number) {
    const limitText = q.get('limit');
    const limit = Math.min(limitText === null ? defaultLimit : Number(limitText), maxLimit);
    const start = q.get('startTime');
    const end = q.get('endTime');
    return {
      limit,
      keep: (t: number) => (start === null || t >= Number(start)) && (end === null || t <= Number(end)),
      fromStart: start !== null,
    };
  }

  function fundingAnswer(q: URLSearchParams, res: ServerResponse, rec: RecordedRequest, badRow: boolean) {
    const symbol = q.get('symbol');
    if (!symbol || !knownSymbol(symbol)) return send(res, 400, BINANCE_ERRORS.invalidSymbol);
    const { limit, keep, fromStart } = range(q, 100, 1000);
    const nowMs = now();
    const all = (funding.get(symbol) ?? []).filter((r) => r.fundingTime <= nowMs && keep(r.fundingTime));
    const rows = fromStart ? all.slice(0, limit) : all.slice(Math.max(0, all.length - limit));
    rec.rows = rows.length;
    const body: Record<string, unknown>[] = rows.map((r) => ({
      symbol,
      fundingRate: r.fundingRate,
      fundingTime: r.fundingTime,
      markPrice: r.markPrice,
    }));
    if (badRow && body.length) body[0] = { ...body[0], fundingRate: 'NaN%' };
    return send(res, 200, body);
  }

  function statsAnswer(
    kind: 'oi' | 'ls',
    q: URLSearchParams,
    res: ServerResponse,
    rec: RecordedRequest,
    badRow: boolean,
  ) {
    const symbol = q.get('symbol');
    const period = q.get('period');
    if (!period || !(period in STATS_PERIODS))
      return send(res, 400, { code: -1120, msg: 'Invalid interval.' });
    if (!symbol || !knownSymbol(symbol)) return send(res, 400, BINANCE_ERRORS.invalidSymbol);
    const { limit, keep, fromStart } = range(q, 30, 500);
    const nowMs = now();
    const all = ((kind === 'oi' ? oi : ls).get(symbol) ?? []).filter(
      (r) => r.timestamp <= nowMs && r.timestamp >= nowMs - STATS_WINDOW_MS && keep(r.timestamp),
    );
    const rows = fromStart ? all.slice(0, limit) : all.slice(Math.max(0, all.length - limit));
    rec.rows = rows.length;
    const body: Record<string, unknown>[] = rows.map((r) =>
      kind === 'oi'
        ? {
            symbol,
            sumOpenInterest: r.a,
            sumOpenInterestValue: (Number(r.a) * 30000).toFixed(8),
            timestamp: r.timestamp,
          }
        : {
            symbol,
            longShortRatio: (Number(r.b) / (1 - Number(r.b))).toFixed(4),
            longAccount: r.b,
            shortAccount: (1 - Number(r.b)).toFixed(4),
            timestamp: String(r.timestamp),
          },
    );
    if (badRow && body.length) body[0] = { symbol };
    return send(res, 200, body);
  }

  const server = await startProtocolServer<SentimentFault>((req, res, url, rec, fault) => {
    const path = url.pathname;
    const q = url.searchParams;
    const badRow = fault?.kind === 'bad-row';
    if (fault?.kind === 'fng-error') {
      return send(res, 200, {
        name: 'Fear and Greed Index',
        data: [],
        metadata: { error: fault.message ?? 'Service error' },
      });
    } else if (fault && !badRow) {
      const answered = answerFault(
        req,
        res,
        fault,
        path === '/fng/'
          ? '{"name":"Fear and Greed Index","data":[{"value":"4'
          : '[{"symbol":"BTCUSDT","fundingRate":"0.0001',
      );
      if (answered !== undefined) return answered;
    }
    switch (path) {
      case '/fng/':
        return fngAnswer(q, res, rec, badRow);
      case '/fapi/v1/fundingRate':
        return fundingAnswer(q, res, rec, badRow);
      case '/futures/data/openInterestHist':
        return statsAnswer('oi', q, res, rec, badRow);
      case '/futures/data/globalLongShortAccountRatio':
        return statsAnswer('ls', q, res, rec, badRow);
      default:
        return send(res, 404, '');
    }
  });

  return {
    url: server.url,
    requests: server.requests,
    requestsTo: server.requestsTo,
    injectFault: server.injectFault,
    clearFaults: server.clearFaults,
    setFng: (rows) => {
      fng = [...rows].sort((a, b) => a.timestamp - b.timestamp);
    },
    setFunding: (symbol, rows) => {
      funding.set(
        symbol,
        [...rows].sort((a, b) => a.fundingTime - b.fundingTime),
      );
    },
    close: server.close,
  };
}
