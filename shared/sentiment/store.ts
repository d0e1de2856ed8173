/**
 * The sentiment cache: the `sentiment_points` table in front of the Fear & Greed and Binance futures
 * clients, with the candle store's conventions (shared/market/candle-store.ts).
 *
 * Decisions:
 * - Ranges are point-time ranges, inclusive at both ends, on each series' nominal grid
 *   (SERIES_INTERVAL_MS: a day, 8 h, 1 h); a point counts for the grid slot its time falls in (Binance
 *   stamps some funding times a few ms past the hour).
 * - Only final values exist here: a range is clipped to the last slot already known at `now`
 *   (yesterday's Fear & Greed value, the last funding time that has passed).
 * - Only the missing slots are fetched, as one span from the first missing slot to the last (the F&G
 *   API has no range query, and a span of funding rates is a page or two); rows go in with ON CONFLICT
 *   DO NOTHING so racing callers and re-fetches are harmless. A malformed answer throws in the client
 *   before anything is written.
 * - Real upstream holes (F&G skipped a few days in 2018; no funding before a perpetual's listing; the
 *   futures statistics older than 30 days) stay missing and are reported as gaps. So that a backtest
 *   does not ask for the same hole at every decision, a store remembers the spans it asked for and got
 *   answered, for slots settled at that time (known over a day before the request): upstream will not
 *   add them later. The memory is per store instance (a process, a Lambda), never persisted.
 * - Fills of one series and symbol run one at a time per store: the parallel decisions of a backtest
 *   that all miss the same span wait for the first fill and then find it cached.
 * - Gaps are reported with the points, never filled.
 * - A fetch that failed after the client's retries (the upstream unreachable or failing) or was
 *   rate-limited is not asked again for that series and symbol for FAILED_FETCH_COOLDOWN_MS of wall
 *   time: every read meanwhile fails that source with the same error at once. Without it, each decision
 *   of a backtest on a machine without internet waited out the retries again (about 1.3 s a point). A
 *   bad answer (answered at once, nothing to wait out) is asked again next time.
 */
import { and, asc, eq, gte, lte } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { sentimentPoints } from '../db/schema';
import { missingRanges, type TimeRange } from '../market/candle-store';
import { gapBetween } from '../market/gaps';
import { AppError } from '../util/errors';
import type { FuturesSource } from './binance-futures';
import type { FngSource } from './fng';
import {
  assertSentimentSeries,
  DAY_MS,
  FNG_HISTORY_START_MS,
  knownAtOf,
  SERIES_INTERVAL_MS,
  type SentimentGap,
  type SentimentPoint,
  type SentimentSeries,
  seriesSymbol,
} from './types';

export interface SentimentRange {
  points: SentimentPoint[];
  gaps: SentimentGap[];
}

export interface SentimentStoreOptions {
  db: DbOrTx;
  /** Where missing values come from; without them the store serves what was imported or cached. */
  fng?: FngSource;
  futures?: FuturesSource;
  /** Supported symbols (settings SYMBOLS); others are UNKNOWN_SYMBOL. */
  symbols: readonly string[];
  now?: () => number;
  /** Wall clock for the failed-fetch cool-down (default Date.now; `now` may be pinned to a market time). */
  clock?: () => number;
}

/** How long a failed fetch of a series is not asked again (see the header). */
export const FAILED_FETCH_COOLDOWN_MS = 60_000;

export interface SentimentStore {
  /** Points with startMs <= time <= endMs, ascending, plus the gaps in that range (fetching what is missing). */
  getSeries(series: SentimentSeries, symbol: string, startMs: number, endMs: number): Promise<SentimentRange>;
}

/** Rows per INSERT: 8 parameters a row stays far under PostgreSQL's 65,535. */
const INSERT_BATCH_ROWS = 2_000;
/** A slot known this long before a request is settled: upstream will not publish it later. */
const SETTLED_AFTER_MS = DAY_MS;

const slotOf = (time: number, iv: number) => Math.floor(time / iv) * iv;

/** The last grid slot of `series` whose value is known at `nowMs`. */
export function lastKnownSlot(series: SentimentSeries, nowMs: number): number {
  const iv = SERIES_INTERVAL_MS[series];
  let s = slotOf(nowMs, iv);
  while (knownAtOf(series, s) > nowMs) s -= iv;
  return s;
}

/** Gaps of a range on the grid: interior holes plus holes at either edge (like candle ranges). */
export function sentimentGaps(
  points: readonly { time: number }[],
  iv: number,
  firstSlot: number,
  lastSlot: number,
): SentimentGap[] {
  if (firstSlot > lastSlot) return [];
  const slots = [...new Set(points.map((p) => slotOf(p.time, iv)))];
  const edges = [firstSlot - iv, ...slots, lastSlot + iv];
  const out: SentimentGap[] = [];
  for (let i = 1; i < edges.length; i++) {
    const g = gapBetween(edges[i - 1]!, edges[i]!, iv);
    if (g) out.push({ afterTime: g.afterOpenTime, nextTime: g.nextOpenTime, missingPoints: g.missingBars });
  }
  return out;
}

export async function readSentimentPoints(
  db: DbOrTx,
  series: SentimentSeries,
  symbol: string,
  startMs: number,
  endMs: number,
): Promise<SentimentPoint[]> {
  const rows = await db
    .select()
    .from(sentimentPoints)
    .where(
      and(
        eq(sentimentPoints.series, series),
        eq(sentimentPoints.symbol, seriesSymbol(series, symbol)),
        gte(sentimentPoints.time, new Date(startMs)),
        lte(sentimentPoints.time, new Date(endMs)),
      ),
    )
    .orderBy(asc(sentimentPoints.time));
  return rows.map((r) => ({
    series,
    symbol: r.symbol,
    time: r.time.getTime(),
    knownAt: r.knownAt.getTime(),
    value: r.value,
    value2: r.value2,
    label: r.label,
  }));
}

/** Insert points, skipping those already stored. Returns how many were new. */
export async function insertSentimentPoints(
  db: DbOrTx,
  points: readonly SentimentPoint[],
  source: 'api' | 'import',
): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < points.length; i += INSERT_BATCH_ROWS) {
    const batch = points.slice(i, i + INSERT_BATCH_ROWS);
    const rows = await db
      .insert(sentimentPoints)
      .values(
        batch.map((p) => ({
          series: p.series,
          symbol: p.symbol,
          time: new Date(p.time),
          knownAt: new Date(p.knownAt),
          value: p.value,
          value2: p.value2,
          label: p.label,
          source,
        })),
      )
      .onConflictDoNothing()
      .returning({ series: sentimentPoints.series });
    inserted += rows.length;
  }
  return inserted;
}

/** An error the client met only after waiting: its retries ran out, or the upstream rate-limited us. */
function waitedOut(e: unknown): boolean {
  if (!(e instanceof AppError)) return false;
  if (e.code === 'UPSTREAM_SENTIMENT_RATE_LIMITED') return true;
  const attempts = e.details?.attempts;
  return typeof attempts === 'number' && attempts > 1;
}

export function createSentimentStore(opts: SentimentStoreOptions): SentimentStore {
  const { db, symbols } = opts;
  const now = opts.now ?? Date.now;
  const clock = opts.clock ?? Date.now;
  /** The last failed fetch per series and symbol, until when it is not asked again, and its error. */
  const failed = new Map<string, { until: number; error: unknown }>();
  /** Spans asked upstream and answered, per series and symbol, for their settled slots (see header). */
  const asked = new Map<string, TimeRange[]>();
  /** One fill per series and symbol at a time: a backtest's parallel decisions ask upstream once, not N times. */
  const locks = new Map<string, Promise<unknown>>();
  async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (locks.get(key) ?? Promise.resolve()).catch(() => undefined).then(fn);
    locks.set(key, run);
    try {
      return await run;
    } finally {
      if (locks.get(key) === run) locks.delete(key);
    }
  }

  async function fetchSpan(series: SentimentSeries, symbol: string, r: TimeRange): Promise<SentimentPoint[]> {
    const req = { symbol, startTime: r.startTime, endTime: r.endTime };
    switch (series) {
      case 'fng':
        return opts.fng ? opts.fng.fetchFng(req) : [];
      case 'funding':
        return opts.futures ? opts.futures.fetchFunding(req) : [];
      case 'open_interest':
        return opts.futures ? opts.futures.fetchOpenInterest(req) : [];
      case 'long_short':
        return opts.futures ? opts.futures.fetchLongShortRatio(req) : [];
    }
  }

  const hasSource = (series: SentimentSeries) => (series === 'fng' ? !!opts.fng : !!opts.futures);

  /** Fetch the missing slots of [firstSlot, lastSlot], asking for nothing after `endMs`. */
  async function fillMissing(
    series: SentimentSeries,
    symbol: string,
    firstSlot: number,
    lastSlot: number,
    endMs: number,
  ) {
    if (!hasSource(series) || firstSlot > lastSlot) return;
    const iv = SERIES_INTERVAL_MS[series];
    const key = `${series}|${seriesSymbol(series, symbol)}`;
    const stored = await readSentimentPoints(db, series, symbol, firstSlot, lastSlot + iv - 1);
    const present = new Set(stored.map((p) => slotOf(p.time, iv)));
    for (const a of asked.get(key) ?? [])
      for (let t = Math.max(a.startTime, firstSlot); t <= Math.min(a.endTime, lastSlot); t += iv)
        present.add(t);
    const missing = missingRanges(
      [...present].sort((x, y) => x - y),
      firstSlot,
      lastSlot,
      iv,
    );
    if (missing.length === 0) return;
    // Never past the caller's end: a backtest decision asks for nothing at or after its own time.
    const span = {
      startTime: missing[0]!.startTime,
      endTime: Math.min(missing.at(-1)!.endTime + iv - 1, endMs),
    };
    const recent = failed.get(key);
    if (recent && clock() < recent.until) throw recent.error;
    const requestedAt = now();
    let points: SentimentPoint[];
    try {
      points = await fetchSpan(series, symbol, span);
    } catch (e) {
      if (waitedOut(e)) failed.set(key, { until: clock() + FAILED_FETCH_COOLDOWN_MS, error: e });
      throw e;
    }
    failed.delete(key);
    if (points.length) await insertSentimentPoints(db, points, 'api');
    // Remembered: whole slots inside the span, settled when it was asked.
    const settledEnd = Math.min(
      slotOf(span.endTime + 1, iv) - iv,
      lastKnownSlot(series, requestedAt - SETTLED_AFTER_MS),
    );
    if (settledEnd >= span.startTime) {
      const list = asked.get(key) ?? [];
      list.push({ startTime: span.startTime, endTime: settledEnd });
      asked.set(key, list);
    }
  }

  return {
    async getSeries(series, symbol, startMs, endMs) {
      assertSentimentSeries(series);
      if (!symbols.includes(symbol))
        throw new AppError(
          'UNKNOWN_SYMBOL',
          `symbol: ${JSON.stringify(symbol)} is not supported (supported: ${symbols.join(', ')})`,
          { symbol, supported: [...symbols] },
        );
      if (!Number.isSafeInteger(startMs) || !Number.isSafeInteger(endMs) || startMs < 0 || startMs > endMs)
        throw new AppError('VALIDATION_ERROR', 'startMs/endMs: need epoch ms with startMs <= endMs', {
          startMs,
          endMs,
        });
      const iv = SERIES_INTERVAL_MS[series];
      const firstSlot = Math.ceil(startMs / iv) * iv;
      const lastSlot = Math.min(slotOf(endMs, iv), lastKnownSlot(series, now()));
      if (firstSlot > lastSlot) return { points: [], gaps: [] };
      // Nothing exists upstream before the index began: never ask for it.
      const fetchFrom = series === 'fng' ? Math.max(firstSlot, FNG_HISTORY_START_MS) : firstSlot;
      await serialized(`${series}|${seriesSymbol(series, symbol)}`, () =>
        fillMissing(series, symbol, fetchFrom, lastSlot, endMs),
      );
      const points = await readSentimentPoints(
        db,
        series,
        symbol,
        startMs,
        Math.min(endMs, lastSlot + iv - 1),
      );
      return { points, gaps: sentimentGaps(points, iv, firstSlot, lastSlot) };
    },
  };
}
