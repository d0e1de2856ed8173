/**
 * Importer for Binance's bulk kline archives (data.binance.vision) and the team's CSV extracts.
 *
 * Accepted input, detected per file rather than configured:
 * - plain or gzip (sniffed from the magic bytes, not trusted from the extension);
 * - with or without a header row (a first line whose first field is not an integer);
 * - 12 columns (archive, with `ignore`), 11 (archive without it) or 6 (OHLCV only);
 * - millisecond or microsecond timestamps, per row (spot archives switched to µs on 2025-01-01, so a
 *   concatenation of months can hold both).
 * Symbol and timeframe come from the file name (`BTCUSDT-1h.csv.gz`, `BTCUSDT-1h-2024-01.csv`,
 * `SOLUSDT-1d-ohlcv.csv`) unless given explicitly; explicit values win.
 *
 * Decisions:
 * - Streamed (readline over gunzip): memory stays flat whatever the file size.
 * - One transaction per file, batches of `INSERT_BATCH_ROWS` through `unnest` array literals with
 *   ON CONFLICT DO NOTHING: re-importing is idempotent and reports the duplicates as skipped, and a
 *   malformed row rolls the whole file back, so a bad file changes nothing.
 * - A malformed row stops the import with its line number; rows are never skipped silently.
 * - Open times must strictly increase (a shuffled file is a broken file); gaps are counted and returned.
 * - A full row spanning more than one interval means the timeframe is wrong (a 1d file imported as 1h):
 *   refused, since every later computation would be off.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Db } from '../db/client';
import { AppError } from '../util/errors';
import { assertSymbol, assertTimeframe, INSERT_BATCH_ROWS, insertKlines } from './candle-store';
import { GapTracker } from './gaps';
import { parseKlineFields } from './kline';
import { type Gap, type Kline, TIMEFRAME_MS, type Timeframe } from './types';

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const FILE_NAME = /^([A-Za-z0-9]{2,20})-(\d+[smhdwM])(?:-[^.]*)?\.csv(?:\.gz)?$/;
const SYMBOL_FORMAT = /^[A-Z0-9]{5,20}$/;
const MICROSECOND_THRESHOLD = 1e14;

export interface ImportTarget {
  symbol: string;
  timeframe: Timeframe;
}

export interface ImportOptions {
  symbol?: string;
  timeframe?: string;
  /** When given, the symbol must be one of these (settings SYMBOLS). */
  symbols?: readonly string[];
}

export interface ImportReport {
  file: string;
  symbol: string;
  timeframe: Timeframe;
  format: 'full' | 'ohlcv';
  header: boolean;
  timestampUnit: 'ms' | 'us' | 'mixed';
  rowsRead: number;
  inserted: number;
  /** Rows already stored (duplicates): re-importing a file skips every row. */
  skipped: number;
  gaps: Gap[];
  missingBars: number;
  firstOpenTime: number | null;
  lastOpenTime: number | null;
  elapsedMs: number;
}

export interface ParsedLine {
  line: number;
  kline: Kline;
  microseconds: boolean;
}

export interface FileShape {
  header: boolean;
  columns: number | undefined;
}

/** Symbol and timeframe as the file name states them (either may be missing). */
export function inferFromFileName(file: string): { symbol?: string; timeframe?: string } {
  const m = FILE_NAME.exec(basename(file));
  if (!m) return {};
  return { symbol: m[1]!.toUpperCase(), timeframe: m[2]! };
}

/** Explicit options win over the file name; the result is validated. */
export function resolveImportTarget(file: string, opts: ImportOptions = {}): ImportTarget {
  const inferred = inferFromFileName(file);
  const symbol = opts.symbol ?? inferred.symbol;
  const timeframe = opts.timeframe ?? inferred.timeframe;
  if (!symbol) {
    throw new AppError(
      'VALIDATION_ERROR',
      `symbol: cannot infer it from the file name ${JSON.stringify(basename(file))}; pass --symbol`,
      { file },
    );
  }
  if (!SYMBOL_FORMAT.test(symbol)) {
    throw new AppError(
      'VALIDATION_ERROR',
      `symbol: ${JSON.stringify(symbol)} must be upper-case like BTCUSDT`,
      {
        symbol,
      },
    );
  }
  if (!timeframe) {
    throw new AppError(
      'VALIDATION_ERROR',
      `timeframe: cannot infer it from the file name ${JSON.stringify(basename(file))}; pass --timeframe`,
      { file },
    );
  }
  assertTimeframe(timeframe);
  if (opts.symbols) assertSymbol(symbol, opts.symbols);
  return { symbol, timeframe };
}

function formatError(file: string, line: number, reason: string): AppError {
  return new AppError('VALIDATION_ERROR', `${file}:${line}: ${reason}`, { file, line });
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === GZIP_MAGIC[0] && buf[1] === GZIP_MAGIC[1];
  } finally {
    await fh.close();
  }
}

/**
 * NOT_FOUND unless `file` exists and is a regular file. Checked before the name is read, so a mistyped
 * path says "does not exist" rather than "cannot infer the symbol from the file name".
 */
export function assertReadableFile(file: string): void {
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new AppError('NOT_FOUND', `file: ${file} does not exist or is not a file`, { file });
  }
}

/**
 * Stream the klines of a file with their line numbers. Throws VALIDATION_ERROR naming the line for the
 * first malformed row. `shape` is filled in as the file is read (header seen, column count).
 */
export async function* readKlineFile(
  file: string,
  timeframe: Timeframe,
  shape: FileShape = { header: false, columns: undefined },
): AsyncGenerator<ParsedLine> {
  assertReadableFile(file);
  const intervalMs = TIMEFRAME_MS[timeframe];
  let input: Readable = createReadStream(file);
  if (await isGzip(file)) input = input.pipe(createGunzip());
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  let prevOpenTime: number | undefined;
  try {
    for await (const raw of lines) {
      lineNo++;
      const text = raw.trim();
      if (text === '') continue;
      const fields = text.split(',');
      if (lineNo === 1 && !/^\d+$/.test(fields[0]!.trim())) {
        shape.header = true;
        continue;
      }
      if (shape.columns === undefined) shape.columns = fields.length;
      else if (fields.length !== shape.columns) {
        throw formatError(
          file,
          lineNo,
          `expected ${shape.columns} columns like the rows before, got ${fields.length}`,
        );
      }
      const parsed = parseKlineFields(fields, timeframe);
      if (!parsed.ok) throw formatError(file, lineNo, parsed.reason);
      const k = parsed.kline;
      if (prevOpenTime !== undefined && k.openTime <= prevOpenTime) {
        throw formatError(
          file,
          lineNo,
          `open_time ${k.openTime} does not increase (previous ${prevOpenTime})`,
        );
      }
      if (fields.length !== 6 && k.closeTime - k.openTime + 1 > intervalMs) {
        throw formatError(
          file,
          lineNo,
          `bar spans ${k.closeTime - k.openTime + 1} ms, longer than ${timeframe}; is the timeframe right?`,
        );
      }
      prevOpenTime = k.openTime;
      yield { line: lineNo, kline: k, microseconds: Number(fields[0]) > MICROSECOND_THRESHOLD };
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new AppError(
      'VALIDATION_ERROR',
      `${file}: cannot be read (${err.code ?? err.message})`,
      { file },
      {
        cause: e,
      },
    );
  } finally {
    lines.close();
    input.destroy();
  }
}

/** Import one archive file into `candles`. All or nothing: a bad row rolls the file back. */
export async function importKlineFile(db: Db, file: string, opts: ImportOptions = {}): Promise<ImportReport> {
  const started = performance.now();
  assertReadableFile(file);
  const { symbol, timeframe } = resolveImportTarget(file, opts);
  const shape: FileShape = { header: false, columns: undefined };
  const gapTracker = new GapTracker(TIMEFRAME_MS[timeframe]);
  let rowsRead = 0;
  let inserted = 0;
  let firstOpenTime: number | null = null;
  let lastOpenTime: number | null = null;
  let sawMs = false;
  let sawUs = false;

  await db.transaction(async (tx) => {
    let batch: Kline[] = [];
    for await (const { kline, microseconds } of readKlineFile(file, timeframe, shape)) {
      rowsRead++;
      firstOpenTime ??= kline.openTime;
      lastOpenTime = kline.openTime;
      if (microseconds) sawUs = true;
      else sawMs = true;
      gapTracker.push(kline.openTime);
      batch.push(kline);
      if (batch.length >= INSERT_BATCH_ROWS) {
        inserted += await insertKlines(tx, symbol, timeframe, batch, 'archive');
        batch = [];
      }
    }
    if (batch.length) inserted += await insertKlines(tx, symbol, timeframe, batch, 'archive');
  });

  return {
    file,
    symbol,
    timeframe,
    format: shape.columns === 6 ? 'ohlcv' : 'full',
    header: shape.header,
    timestampUnit: sawUs && sawMs ? 'mixed' : sawUs ? 'us' : 'ms',
    rowsRead,
    inserted,
    skipped: rowsRead - inserted,
    gaps: gapTracker.gaps,
    missingBars: gapTracker.gaps.reduce((n, g) => n + g.missingBars, 0),
    firstOpenTime,
    lastOpenTime,
    elapsedMs: Math.round(performance.now() - started),
  };
}
