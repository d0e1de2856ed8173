/**
 * Route group "market": `GET /health`, `GET /market/symbols`, `GET /market/{symbol}/latest`,
 * `GET /market/{symbol}/candles` (a past period, e.g. a backtest's range, at most 1000 bars),
 * `GET /market/{symbol}/sentiment` (the sentiment series and the analyst's summary now).
 *
 * `latest` reads through the candle repository (cache first, Binance for the missing bars only) and
 * computes indicators over enough history to be warm: the last `limit` candles are returned, but the
 * indicator values come from a series that starts WARMUP_BARS earlier. An indicator whose own warm-up
 * is not covered is null, never a value computed on too little data.
 *
 * Answers are cached per (symbol, timeframe, limit, last closed bar): closed bars never change, so an
 * answer stays right until the next bar closes, when the key changes by itself. Reading 1,600 bars and
 * computing the indicators costs ~100 ms on PGlite; a chart polling the endpoint should not pay it each
 * time. A hole that Binance fills later shows up at the next bar close. The cache is per handler
 * instance (per Lambda execution environment) and bounded.
 *
 * No closed candles at all (nothing cached, nothing from Binance) is a 422 INSUFFICIENT_DATA saying so
 * and what to do, for `latest` and `candles` alike: a 200 with price 0 and no candles read as a real
 * price of zero (the dashboard showed "last 0.00000000"). A failed answer is not cached, so an import
 * or a fixed BINANCE_BASE_URL shows on the next request.
 */
import {
  type CandlesResponse,
  candlesQuerySchema,
  type LatestResponse,
  latestQuerySchema,
  MAX_CANDLES_PER_REQUEST,
  parseDateInput,
  type SentimentResponse,
  sentimentQuerySchema,
  symbolsResponseSchema,
} from '../../shared/api/contract';
import { symbolParamSchema } from '../../shared/api/routes';
import type { Settings } from '../../shared/config/settings';
import { computeIndicators, WARMUP_BARS, WARMUP_BY_INDICATOR } from '../../shared/indicators/compute';
import type { CandleRepository } from '../../shared/market/candle-source';
import { assertSymbol, lastClosedOpenTime } from '../../shared/market/candle-store';
import {
  type Candle,
  filtersFor,
  type Gap,
  TIMEFRAME_MS,
  TIMEFRAMES,
  type Timeframe,
} from '../../shared/market/types';
import { detectRegime } from '../../shared/regime/detector';
import type { SentimentReader } from '../../shared/sentiment/reader';
import type { SentimentStore } from '../../shared/sentiment/store';
import { SENTIMENT_SERIES, SERIES_LABEL } from '../../shared/sentiment/types';
import { AppError } from '../../shared/util/errors';
import { createRouteGroup, type HttpOptions, json, parseQuery, parseWith } from './http';

export interface MarketHandlerDeps {
  container: {
    settings: Settings;
    candles: CandleRepository;
    deps: { now(): number };
    /** The sentiment cache and reader (GET /market/{symbol}/sentiment); absent: the route answers 501. */
    sentimentStore?: SentimentStore;
    sentiment?: SentimentReader;
  };
}

const DAY_MS = 86_400_000;
/** Cached "latest" answers kept per handler; the oldest is dropped beyond this. */
export const LATEST_CACHE_ENTRIES = 64;
const PRICE_DECIMALS = 8;

/** Notes shown beside a symbol when our data for it has known caveats (../shared/data SOURCES.md). */
const DATA_NOTES: Record<string, string> = {
  SOLUSDT: 'SOLUSDT full-schema history starts in 2024; older bars are OHLCV only.',
};

export function gapDto(g: Gap) {
  return {
    after: new Date(g.afterOpenTime).toISOString(),
    next: new Date(g.nextOpenTime).toISOString(),
    missingBars: g.missingBars,
  };
}

/** A candle as the API shows it (OHLCV keyed by its open time). */
function candleDto(c: Candle) {
  return { time: c.openTime, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
}

const isoMinute = (ms: number) => new Date(ms).toISOString().replace(':00.000Z', 'Z');

/**
 * The 422 for a symbol and timeframe with no closed candle in [startMs, endMs] (open times): neither the
 * candle cache nor Binance had one. Says where to get them: an archive import or a reachable Binance.
 */
export function noClosedCandlesError(
  settings: Pick<Settings, 'BINANCE_BASE_URL'>,
  symbol: string,
  timeframe: Timeframe,
  range: { startMs: number; endMs: number; latest: boolean },
): AppError {
  const span = `${isoMinute(range.startMs)} to ${isoMinute(range.endMs)}`;
  return new AppError(
    'INSUFFICIENT_DATA',
    `No closed ${symbol} ${timeframe} candles ${range.latest ? 'yet' : `from ${span}`}: none are stored ` +
      `${range.latest ? `for ${span} ` : ''}and Binance returned none. Import an archive ` +
      `(npm run cli -- import ${symbol}-${timeframe}.csv.gz, files from data.binance.vision) or check that ` +
      `BINANCE_BASE_URL (${settings.BINANCE_BASE_URL}) reaches Binance and serves this symbol.`,
    {
      symbol,
      timeframe,
      start: new Date(range.startMs).toISOString(),
      end: new Date(range.endMs).toISOString(),
    },
  );
}

function round(x: number, d = PRICE_DECIMALS): number {
  return Number(x.toFixed(d));
}

/** The detector's reading at the last closed bar (the candles here all closed before now). */
function regimeAt(candles: readonly Candle[], timeframe: Timeframe) {
  const r = detectRegime(candles, timeframe);
  return r.ok ? r.reading : null;
}

export async function latestMarket(
  container: MarketHandlerDeps['container'],
  symbol: string,
  timeframe: Timeframe,
  limit: number,
): Promise<LatestResponse> {
  assertSymbol(symbol, container.settings.SYMBOLS);
  const now = container.deps.now();
  const interval = TIMEFRAME_MS[timeframe];
  const bars = limit + WARMUP_BARS;
  const endMs = lastClosedOpenTime(now, interval);
  const startMs = endMs - (bars - 1) * interval;
  const { candles, gaps } = await container.candles.getCandles({ symbol, timeframe, startMs, endMs });
  const last = candles.at(-1);
  if (!last)
    throw noClosedCandlesError(container.settings, symbol, timeframe, { startMs, endMs, latest: true });
  const series = computeIndicators(candles, timeframe);
  const i = candles.length - 1;
  const warm = (name: keyof typeof WARMUP_BY_INDICATOR) => i + 1 >= WARMUP_BY_INDICATOR[name];
  const at = (col: (number | null)[], name: keyof typeof WARMUP_BY_INDICATOR) => {
    const v = col[i];
    return warm(name) && v != null && Number.isFinite(v) ? round(v) : null;
  };
  const dayAgo = candles.findLast(
    (c) => c.openTime <= last.openTime - DAY_MS + 1 && c.openTime >= last.openTime - DAY_MS - interval,
  );
  const shown = candles.slice(-limit);
  const shownStart = shown[0]?.openTime ?? last.openTime;
  return {
    symbol,
    timeframe,
    price: last.close,
    changePct24h: dayAgo ? round(((last.close - dayAgo.close) / dayAgo.close) * 100, 4) : null,
    asOf: new Date(last.closeTime + 1).toISOString(),
    candles: shown.map(candleDto),
    indicators: {
      rsi14: at(series.rsi14, 'rsi14'),
      macd: at(series.macd, 'macd'),
      macdSignal: at(series.macdSignal, 'macd'),
      macdHistogram: at(series.macdHistogram, 'macd'),
      ema20: at(series.ema20, 'ema20'),
      ema50: at(series.ema50, 'ema50'),
      ema200: at(series.ema200, 'ema200'),
      atr14: at(series.atr14, 'atr14'),
      bbUpper: at(series.bbUpper, 'bollinger'),
      bbMiddle: at(series.bbMiddle, 'bollinger'),
      bbLower: at(series.bbLower, 'bollinger'),
      volatility: at(series.realizedVol, 'realizedVol'),
    },
    regime: regimeAt(candles, timeframe),
    // Only the holes inside the shown window matter to a chart; older ones only thin the warm-up.
    gaps: gaps.filter((g) => g.nextOpenTime >= shownStart).map(gapDto),
  };
}

/**
 * The closed candles of [start, end] (open times, inclusive): end defaults to the most bars allowed from
 * start and is clipped to the last closed bar. Read through the candle repository like `latest`.
 */
export async function candlesInRange(
  container: MarketHandlerDeps['container'],
  symbol: string,
  q: { timeframe: Timeframe; start: string; end?: string | undefined },
): Promise<CandlesResponse> {
  assertSymbol(symbol, container.settings.SYMBOLS);
  const interval = TIMEFRAME_MS[q.timeframe];
  const startMs = parseDateInput(q.start);
  const wanted =
    q.end === undefined ? startMs + (MAX_CANDLES_PER_REQUEST - 1) * interval : parseDateInput(q.end);
  const endMs = Math.min(wanted, lastClosedOpenTime(container.deps.now(), interval));
  if (endMs < startMs) {
    // The bar opening at start has not closed yet: nothing to serve until it does.
    throw new AppError(
      'INSUFFICIENT_DATA',
      `No closed ${symbol} ${q.timeframe} candles from ${isoMinute(startMs)} yet: the first bar of the range ` +
        `closes at ${isoMinute(startMs + interval)}. Choose an earlier start.`,
      { field: 'start', symbol, timeframe: q.timeframe, start: new Date(startMs).toISOString() },
    );
  }
  const { candles, gaps } = await container.candles.getCandles({
    symbol,
    timeframe: q.timeframe,
    startMs,
    endMs,
  });
  if (candles.length === 0)
    throw noClosedCandlesError(container.settings, symbol, q.timeframe, { startMs, endMs, latest: false });
  return {
    symbol,
    timeframe: q.timeframe,
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
    candles: candles.map(candleDto),
    gaps: gaps.map(gapDto),
  };
}

/**
 * The sentiment series over the span of the last `limit` bars of `timeframe` (at least a day, so the
 * daily index always has a value), read through the cache like the analyst reads them, and the summary
 * the analyst would get now. A source that fails is reported in its entry and in `summary.missing`.
 */
export async function sentimentMarket(
  container: MarketHandlerDeps['container'],
  symbol: string,
  q: { timeframe: Timeframe; limit: number },
): Promise<SentimentResponse> {
  assertSymbol(symbol, container.settings.SYMBOLS);
  const { sentimentStore: store, sentiment: reader } = container;
  if (!store || !reader)
    throw new AppError('NOT_IMPLEMENTED', 'market sentiment is not configured on this host');
  const now = container.deps.now();
  const interval = TIMEFRAME_MS[q.timeframe];
  const endMs = now - 1;
  const startMs = Math.max(
    0,
    Math.min(lastClosedOpenTime(now, interval) - (q.limit - 1) * interval, now - 2 * DAY_MS),
  );
  const configured = SENTIMENT_SERIES.filter((s) => reader.sources.includes(s));
  const [summary, ...reads] = await Promise.all([
    reader.summaryAt(symbol, now),
    ...configured.map((s) =>
      store.getSeries(s, symbol, startMs, endMs).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, error: e instanceof Error ? e.message : String(e) }),
      ),
    ),
  ]);
  const series: SentimentResponse['series'] = {};
  configured.forEach((s, i) => {
    const read = reads[i]!;
    series[s] = {
      label: SERIES_LABEL[s],
      points: read.ok
        ? read.r.points.map((p) => ({
            time: p.time,
            knownAt: p.knownAt,
            value: Number(p.value),
            value2: p.value2 === null ? null : Number(p.value2),
            label: p.label,
          }))
        : [],
      gaps: read.ok
        ? read.r.gaps.map((g) => ({
            after: new Date(g.afterTime).toISOString(),
            next: new Date(g.nextTime).toISOString(),
            missingPoints: g.missingPoints,
          }))
        : [],
      error: read.ok ? null : read.error,
    };
  });
  return {
    symbol,
    timeframe: q.timeframe,
    asOf: new Date(now).toISOString(),
    sources: [...reader.sources],
    summary: {
      fearGreed: summary.fearGreed ?? null,
      funding: summary.funding ?? null,
      openInterest: summary.openInterest ?? null,
      longShort: summary.longShort ?? null,
      missing: { ...summary.missing },
    },
    series,
  };
}

export function createMarketHandler({ container }: MarketHandlerDeps, options: HttpOptions = {}) {
  const cache = new Map<string, Promise<LatestResponse>>();
  const cachedLatest = (symbol: string, timeframe: Timeframe, limit: number) => {
    assertSymbol(symbol, container.settings.SYMBOLS);
    const lastClosed = lastClosedOpenTime(container.deps.now(), TIMEFRAME_MS[timeframe]);
    const key = `${symbol}|${timeframe}|${limit}|${lastClosed}`;
    let hit = cache.get(key);
    if (!hit) {
      hit = latestMarket(container, symbol, timeframe, limit);
      cache.set(key, hit);
      // A failure (Binance down) is not remembered: the next request tries again.
      hit.catch(() => cache.delete(key));
      while (cache.size > LATEST_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    }
    return hit;
  };
  return createRouteGroup(
    'market',
    [
      { method: 'GET', path: '/health', handler: async () => json(200, { status: 'ok' }) },
      {
        method: 'GET',
        path: '/market/symbols',
        handler: async () =>
          json(
            200,
            symbolsResponseSchema.parse({
              symbols: container.settings.SYMBOLS.map((symbol) => {
                const f = filtersFor(symbol);
                return {
                  symbol,
                  baseAsset: f.baseAsset,
                  quoteAsset: f.quoteAsset,
                  dataNote: DATA_NOTES[symbol] ?? null,
                };
              }),
              timeframes: [...TIMEFRAMES],
            }),
          ),
      },
      {
        method: 'GET',
        path: '/market/{symbol}/latest',
        handler: async (req) => {
          const { symbol } = parseWith(symbolParamSchema, req.pathParams, 'path');
          const q = parseQuery(req, latestQuerySchema);
          return json(200, await cachedLatest(symbol, q.timeframe, q.limit));
        },
      },
      {
        method: 'GET',
        path: '/market/{symbol}/sentiment',
        handler: async (req) => {
          const { symbol } = parseWith(symbolParamSchema, req.pathParams, 'path');
          const q = parseQuery(req, sentimentQuerySchema);
          return json(200, await sentimentMarket(container, symbol, q));
        },
      },
      {
        method: 'GET',
        path: '/market/{symbol}/candles',
        handler: async (req) => {
          const { symbol } = parseWith(symbolParamSchema, req.pathParams, 'path');
          const q = parseQuery(req, candlesQuerySchema);
          return json(200, await candlesInRange(container, symbol, q));
        },
      },
    ],
    options,
  );
}
