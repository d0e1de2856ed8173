/**
 * The candle cache: the `candles` table (drizzle, PGlite or PostgreSQL) in front of a `KlineSource`.
 *
 * Decisions:
 * - Ranges are open-time ranges, inclusive at both ends, like Binance's startTime/endTime.
 * - Only closed bars exist here: a range is clipped to the last bar that closed before `now`.
 * - With a source, only the *missing* grid slots are fetched (computed as sub-ranges), never the whole
 *   range again; rows go in with ON CONFLICT DO NOTHING so racing callers and re-fetches are harmless.
 *   A real exchange hole (an outage) stays missing and is asked for again on the next call: the cost
 *   is one small request, and it keeps the cache free of a second "known empty" bookkeeping table.
 * - Gaps are reported with the candles, never filled. Besides holes inside the series, the edges of a
 *   request count too: a range that starts before the first stored bar reports that leading hole
 *   (its `afterOpenTime` is the grid slot just before the range), so a caller never mistakes a short
 *   series for a complete one.
 * - Prices are stored as Binance's exact decimal strings (numeric) and turned into floats on the way out.
 * - Bulk writes pass each column as one array literal to `unnest`: one round trip per few thousand rows
 *   on both drivers, no per-row parameters (see shared/market/import.ts for the figures).
 */
import { type SQL, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { resultRows } from '../db/rows';
import { AppError } from '../util/errors';
import type { KlineSource } from './binance';
import { detectGaps, gapBetween } from './gaps';
import { klineToCandle } from './kline';
import {
  type Candle,
  type Gap,
  isTimeframe,
  type Kline,
  TIMEFRAME_MS,
  TIMEFRAMES,
  type Timeframe,
} from './types';

export { detectGaps } from './gaps';

export interface CandleRange {
  candles: Candle[];
  gaps: Gap[];
}

export interface CandleStore {
  /** Closed candles with startMs <= openTime <= endMs, ascending, plus the gaps in that range. */
  getCandles(symbol: string, timeframe: Timeframe, startMs: number, endMs: number): Promise<CandleRange>;
  /** The last `limit` closed candles stored at `nowMs` (after fetching the missing ones when a source is set). */
  latestCandles(symbol: string, timeframe: Timeframe, limit: number, nowMs: number): Promise<CandleRange>;
}

export interface CandleStoreOptions {
  db: DbOrTx;
  /** Where missing bars come from; without one the store serves what the database has. */
  source?: KlineSource;
  /** Supported symbols (settings SYMBOLS); others are UNKNOWN_SYMBOL. */
  symbols: readonly string[];
  now?: () => number;
  /** Upper bound on the bars one request may span (guards memory and the upstream). */
  maxBars?: number;
}

/** A year of minutes is ~525k bars; 200k keeps one request within a Lambda's memory comfortably. */
export const DEFAULT_MAX_BARS = 200_000;
export const LATEST_MAX_LIMIT = 1000;
/** Rows per INSERT: 11 array literals of this many values stay well under a megabyte each. */
export const INSERT_BATCH_ROWS = 5_000;

export interface TimeRange {
  startTime: number;
  endTime: number;
}

export function assertSymbol(symbol: string, symbols: readonly string[]): void {
  if (!symbols.includes(symbol)) {
    throw new AppError(
      'UNKNOWN_SYMBOL',
      `symbol: ${JSON.stringify(symbol)} is not supported (supported: ${symbols.join(', ')})`,
      { symbol, supported: [...symbols] },
    );
  }
}

export function assertTimeframe(timeframe: string): asserts timeframe is Timeframe {
  if (!isTimeframe(timeframe)) {
    throw new AppError(
      'UNSUPPORTED_TIMEFRAME',
      `timeframe: ${JSON.stringify(timeframe)} is not supported (supported: ${TIMEFRAMES.join(', ')})`,
      { timeframe, supported: [...TIMEFRAMES] },
    );
  }
}

function assertEpoch(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AppError('VALIDATION_ERROR', `${name}: must be a non-negative integer epoch in ms`, {
      [name]: value,
    });
  }
}

/** Open time of the last bar that has closed at `nowMs` (its closeTime = open + interval - 1 < now). */
export function lastClosedOpenTime(nowMs: number, intervalMs: number): number {
  return Math.floor(nowMs / intervalMs) * intervalMs - intervalMs;
}

/**
 * Runs of grid slots in [startMs, endMs] with no stored bar, as inclusive open-time ranges.
 * `present` must be sorted ascending.
 */
export function missingRanges(
  present: readonly number[],
  startMs: number,
  endMs: number,
  intervalMs: number,
): TimeRange[] {
  const first = Math.ceil(startMs / intervalMs) * intervalMs;
  const last = Math.floor(endMs / intervalMs) * intervalMs;
  const have = new Set(present);
  const out: TimeRange[] = [];
  let runStart: number | undefined;
  for (let t = first; t <= last; t += intervalMs) {
    if (!have.has(t)) {
      runStart ??= t;
    } else if (runStart !== undefined) {
      out.push({ startTime: runStart, endTime: t - intervalMs });
      runStart = undefined;
    }
  }
  if (runStart !== undefined) out.push({ startTime: runStart, endTime: last });
  return out;
}

/** Gaps of a range: interior holes plus holes at either edge of the requested grid. */
export function gapsInRange(
  candles: readonly { openTime: number }[],
  timeframe: Timeframe,
  firstSlot: number,
  lastSlot: number,
): Gap[] {
  const iv = TIMEFRAME_MS[timeframe];
  if (firstSlot > lastSlot) return [];
  const before = firstSlot - iv;
  const after = lastSlot + iv;
  if (candles.length === 0) {
    const all = gapBetween(before, after, iv);
    return all ? [all] : [];
  }
  const gaps: Gap[] = [];
  const lead = gapBetween(before, candles[0]!.openTime, iv);
  if (lead) gaps.push(lead);
  gaps.push(...detectGaps(candles, timeframe));
  const trail = gapBetween(candles[candles.length - 1]!.openTime, after, iv);
  if (trail) gaps.push(trail);
  return gaps;
}

const msToTs = (ms: number) => sql`('epoch'::timestamptz + ${ms}::float8 * interval '1 millisecond')`;

/**
 * Stored klines as ONE text value (string_agg, formatted by PostgreSQL, ascending) split here. A
 * decision's 1,440-bar window was 1,440 protocol rows of 11 fields each, parsed one field at a time by
 * the driver (about 15 ms on PGlite); one value is a few milliseconds. Epoch ms are float8 (exact below
 * 2^53), prices numeric's exact text; an empty field is a SQL NULL (no value is ever an empty string).
 * `from` is the rows to read: the table with a WHERE, or a subquery.
 */
async function readKlineText(db: DbOrTx, from: SQL): Promise<Kline[]> {
  const result = await db.execute(
    sql`SELECT string_agg(concat_ws(',', (extract(epoch from "timestamp") * 1000)::float8, open, high, low,
        close, volume, (extract(epoch from close_time) * 1000)::float8, coalesce(quote_volume::text, ''),
        coalesce(trades::text, ''), coalesce(taker_buy_base::text, ''), coalesce(taker_buy_quote::text, '')),
        ';' ORDER BY "timestamp") AS bars FROM ${from}`,
  );
  const bars = resultRows(result)[0]?.bars;
  if (typeof bars !== 'string' || bars === '') return [];
  const opt = (v: string | undefined) => (v === undefined || v === '' ? null : v);
  return bars.split(';').map((line) => {
    const f = line.split(',');
    return {
      openTime: Number(f[0]),
      open: f[1]!,
      high: f[2]!,
      low: f[3]!,
      close: f[4]!,
      volume: f[5]!,
      closeTime: Number(f[6]),
      quoteVolume: opt(f[7]),
      trades: opt(f[8]) === null ? null : Number(f[8]),
      takerBuyBase: opt(f[9]),
      takerBuyQuote: opt(f[10]),
    };
  });
}

/** Stored klines with startMs <= openTime <= endMs, ascending, exact strings. */
export function readKlines(
  db: DbOrTx,
  symbol: string,
  timeframe: Timeframe,
  startMs: number,
  endMs: number,
): Promise<Kline[]> {
  return readKlineText(
    db,
    sql`candles WHERE symbol = ${symbol} AND timeframe = ${timeframe}
      AND "timestamp" >= ${msToTs(startMs)} AND "timestamp" <= ${msToTs(endMs)}`,
  );
}

/** The last `limit` stored klines with openTime <= endMs, ascending. */
export function readLatestKlines(
  db: DbOrTx,
  symbol: string,
  timeframe: Timeframe,
  endMs: number,
  limit: number,
): Promise<Kline[]> {
  return readKlineText(
    db,
    sql`(SELECT * FROM candles WHERE symbol = ${symbol} AND timeframe = ${timeframe}
      AND "timestamp" <= ${msToTs(endMs)} ORDER BY "timestamp" DESC LIMIT ${limit}) AS latest`,
  );
}

/** A Postgres array literal of plain numbers/decimals (values are validated, so no quoting is needed). */
function arrayLiteral(values: readonly (string | number | null)[]): string {
  let s = '{';
  for (let i = 0; i < values.length; i++) {
    if (i) s += ',';
    const v = values[i];
    s += v === null || v === undefined ? 'NULL' : v;
  }
  return `${s}}`;
}

/**
 * Insert klines, skipping bars already stored (ON CONFLICT DO NOTHING). Returns how many were new.
 * Values must already be validated decimal strings (kline.ts): they go into array literals unquoted.
 */
export async function insertKlines(
  db: DbOrTx,
  symbol: string,
  timeframe: Timeframe,
  klines: readonly Kline[],
  source: 'binance' | 'archive',
): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < klines.length; i += INSERT_BATCH_ROWS) {
    const batch = klines.slice(i, i + INSERT_BATCH_ROWS);
    const col = <T extends string | number | null>(pick: (k: Kline) => T) => arrayLiteral(batch.map(pick));
    const result = await db.execute(sql`WITH ins AS (
      INSERT INTO candles (symbol, timeframe, "timestamp", open, high, low, close, volume, close_time,
        quote_volume, trades, taker_buy_base, taker_buy_quote, source)
      SELECT ${symbol}, ${timeframe}, 'epoch'::timestamptz + t.ot * interval '1 millisecond', t.o, t.h, t.l, t.c,
        t.v, 'epoch'::timestamptz + t.ct * interval '1 millisecond', t.qv, t.n, t.tbb, t.tbq, ${source}
      FROM unnest(${col((k) => k.openTime)}::float8[], ${col((k) => k.open)}::numeric[],
        ${col((k) => k.high)}::numeric[], ${col((k) => k.low)}::numeric[], ${col((k) => k.close)}::numeric[],
        ${col((k) => k.volume)}::numeric[], ${col((k) => k.closeTime)}::float8[],
        ${col((k) => k.quoteVolume)}::numeric[], ${col((k) => k.trades)}::int[],
        ${col((k) => k.takerBuyBase)}::numeric[], ${col((k) => k.takerBuyQuote)}::numeric[])
        AS t(ot, o, h, l, c, v, ct, qv, n, tbb, tbq)
      ON CONFLICT DO NOTHING
      RETURNING 1
    ) SELECT count(*)::int AS inserted FROM ins`);
    inserted += Number(resultRows(result)[0]?.inserted ?? 0);
  }
  return inserted;
}

export function createCandleStore(opts: CandleStoreOptions): CandleStore {
  const { db, source, symbols } = opts;
  const now = opts.now ?? Date.now;
  const maxBars = opts.maxBars ?? DEFAULT_MAX_BARS;

  /** Validate and clip a request to the grid of closed bars; undefined when it holds no closed slot. */
  function slots(symbol: string, timeframe: string, startMs: number, endMs: number, nowMs: number) {
    assertSymbol(symbol, symbols);
    assertTimeframe(timeframe);
    assertEpoch('startMs', startMs);
    assertEpoch('endMs', endMs);
    if (startMs > endMs) {
      throw new AppError('VALIDATION_ERROR', 'startMs: must not be after endMs', { startMs, endMs });
    }
    const iv = TIMEFRAME_MS[timeframe];
    const firstSlot = Math.ceil(startMs / iv) * iv;
    const lastSlot = Math.min(Math.floor(endMs / iv) * iv, lastClosedOpenTime(nowMs, iv));
    const bars = Math.floor((lastSlot - firstSlot) / iv) + 1;
    if (bars > maxBars) {
      throw new AppError(
        'VALIDATION_ERROR',
        `startMs/endMs: the range spans ${bars} ${timeframe} bars; at most ${maxBars} per request`,
        { bars, maxBars },
      );
    }
    return { timeframe, iv, firstSlot, lastSlot };
  }

  async function fillMissing(symbol: string, timeframe: Timeframe, firstSlot: number, lastSlot: number) {
    if (!source || firstSlot > lastSlot) return;
    const stored = await readKlines(db, symbol, timeframe, firstSlot, lastSlot);
    const ranges = missingRanges(
      stored.map((k) => k.openTime),
      firstSlot,
      lastSlot,
      TIMEFRAME_MS[timeframe],
    );
    await fetchRanges(symbol, timeframe, ranges);
  }

  /** Fetch missing ranges from the source and store them; true when any bar was stored. */
  async function fetchRanges(symbol: string, timeframe: Timeframe, ranges: readonly TimeRange[]) {
    if (!source) return false;
    let stored = false;
    for (const r of ranges) {
      const klines = await source.fetchKlines({ symbol, timeframe, ...r });
      if (klines.length) {
        await insertKlines(db, symbol, timeframe, klines, 'binance');
        stored = true;
      }
    }
    return stored;
  }

  return {
    async getCandles(symbol, timeframe, startMs, endMs) {
      const s = slots(symbol, timeframe, startMs, endMs, now());
      if (s.firstSlot > s.lastSlot) return { candles: [], gaps: [] };
      // Read by the caller's bounds, not the grid: misaligned archive bars (opening at :28) belong too.
      // The read covers every grid slot of the range, so it also says which slots are missing: only
      // when some are (and a source can fill them) is anything fetched and the range read again. The
      // common case, a range already stored, is one read.
      const read = () => readKlines(db, symbol, s.timeframe, startMs, Math.min(endMs, s.lastSlot));
      let klines = await read();
      if (source) {
        const missing = missingRanges(
          klines.map((k) => k.openTime),
          s.firstSlot,
          s.lastSlot,
          s.iv,
        );
        if (missing.length > 0 && (await fetchRanges(symbol, s.timeframe, missing))) klines = await read();
      }
      const candles = klines.map(klineToCandle);
      return { candles, gaps: gapsInRange(candles, s.timeframe, s.firstSlot, s.lastSlot) };
    },

    async latestCandles(symbol, timeframe, limit, nowMs) {
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > LATEST_MAX_LIMIT) {
        throw new AppError('VALIDATION_ERROR', `limit: must be an integer from 1 to ${LATEST_MAX_LIMIT}`, {
          limit,
        });
      }
      assertSymbol(symbol, symbols);
      assertTimeframe(timeframe);
      assertEpoch('nowMs', nowMs);
      const iv = TIMEFRAME_MS[timeframe];
      const lastSlot = lastClosedOpenTime(Math.min(nowMs, now()), iv);
      const firstSlot = Math.max(0, lastSlot - (limit - 1) * iv);
      await fillMissing(symbol, timeframe, firstSlot, lastSlot);
      const candles = (await readLatestKlines(db, symbol, timeframe, lastSlot, limit)).map(klineToCandle);
      return { candles, gaps: detectGaps(candles, timeframe) };
    },
  };
}
