/**
 * Sentiment files into the cache, for offline use, with the candle importer's conventions
 * (shared/market/import.ts): a missing file is NOT_FOUND, a malformed row stops the import with its line
 * number (or row index for JSON) and nothing of that file is written, re-imports are idempotent
 * (ON CONFLICT DO NOTHING), the report gives rows read, inserted, the range and the gaps.
 *
 * Formats (recognised by content, `.gz` allowed):
 * - JSON saved from the APIs: the Fear & Greed answer (`{"name":"Fear and Greed Index","data":[...]}`,
 *   e.g. `curl 'https://api.alternative.me/fng/?limit=0' > fng.json`), or a Binance futures answer array
 *   (fundingRate, openInterestHist, globalLongShortAccountRatio).
 * - CSV with a header: Fear & Greed `timestamp,value,value_classification` (epoch seconds, or a `date`
 *   column YYYY-MM-DD); Binance funding `symbol,fundingTime,fundingRate[,markPrice]`; Binance's bulk
 *   archive (data.binance.vision futures/um/monthly/fundingRate) `calc_time,funding_interval_hours,
 *   last_funding_rate`, whose symbol comes from `--symbol` or the file name (BTCUSDT-fundingRate-2024-01.csv).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { DbOrTx } from '../db/client';
import { assertReadableFile } from '../market/import';
import { AppError } from '../util/errors';
import { parseFuturesRows } from './binance-futures';
import { parseFngDocument } from './fng';
import { insertSentimentPoints, sentimentGaps } from './store';
import {
  makePoint,
  SERIES_INTERVAL_MS,
  type SentimentGap,
  type SentimentPoint,
  type SentimentSeries,
} from './types';

export interface SentimentImportReport {
  file: string;
  series: SentimentSeries;
  symbol: string;
  format: 'json' | 'csv';
  rowsRead: number;
  inserted: number;
  skipped: number;
  first: number | null;
  last: number | null;
  gaps: SentimentGap[];
}

const invalid = (file: string, message: string, details: Record<string, unknown> = {}) =>
  new AppError('VALIDATION_ERROR', `${basename(file)}: ${message}`, { file, ...details });

function symbolFrom(file: string, symbol: string | undefined, symbols: readonly string[]): string {
  const s = symbol ?? /^([A-Z0-9]{5,20})-/.exec(basename(file))?.[1];
  if (!s)
    throw invalid(file, 'no symbol: pass --symbol or name the file like BTCUSDT-fundingRate-2024-01.csv');
  if (!symbols.includes(s))
    throw new AppError('UNKNOWN_SYMBOL', `symbol: ${s} is not supported (supported: ${symbols.join(', ')})`, {
      symbol: s,
    });
  return s;
}

function parseCsv(file: string, text: string, symbol: string | undefined, symbols: readonly string[]) {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  const points: SentimentPoint[] = [];
  let series: SentimentSeries;
  let sym = '*';
  if (col('value') >= 0 && (col('timestamp') >= 0 || col('date') >= 0)) series = 'fng';
  else if (col('fundingrate') >= 0 && col('fundingtime') >= 0) series = 'funding';
  else if (col('calc_time') >= 0 && col('last_funding_rate') >= 0) {
    series = 'funding';
    sym = symbolFrom(file, symbol, symbols);
  } else
    throw invalid(
      file,
      `unknown CSV header ${JSON.stringify(lines[0] ?? '')} (expected timestamp,value,value_classification; symbol,fundingTime,fundingRate,markPrice; or calc_time,funding_interval_hours,last_funding_rate)`,
    );
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const f = line.split(',').map((x) => x.trim());
    const fail = (reason: string): never => {
      throw invalid(file, `line ${i + 1} is malformed: ${reason}`, { line: i + 1 });
    };
    if (series === 'fng') {
      const ts =
        col('timestamp') >= 0
          ? Number(f[col('timestamp')]) * 1000
          : Date.parse(`${f[col('date')] ?? ''}T00:00:00Z`);
      if (!Number.isFinite(ts)) fail('timestamp is not epoch seconds nor a date');
      const cls = f[col('value_classification')] ?? f[col('classification')] ?? null;
      points.push(makePoint('fng', '*', ts, f[col('value')], null, cls || null, fail));
    } else if (col('calc_time') >= 0) {
      points.push(
        makePoint('funding', sym, Number(f[col('calc_time')]), f[col('last_funding_rate')], null, null, fail),
      );
    } else {
      const s = f[col('symbol')] ?? '';
      sym = symbol ?? s;
      if (s !== sym) fail(`symbol ${s} where ${sym} was expected`);
      const mark = col('markprice') >= 0 ? f[col('markprice')] : null;
      points.push(
        makePoint('funding', s, Number(f[col('fundingtime')]), f[col('fundingrate')], mark, null, fail),
      );
    }
  }
  if (series === 'funding') symbolFrom(file, sym, symbols);
  return { series, points };
}

function parseJson(file: string, body: unknown, symbol: string | undefined) {
  const where = basename(file);
  const rethrow = (e: unknown): never => {
    throw invalid(file, (e as Error).message.replace(/^.*? (row \d+ is malformed)/, '$1'), {});
  };
  if (!Array.isArray(body)) {
    try {
      return { series: 'fng' as const, points: parseFngDocument(body, where) };
    } catch (e) {
      return rethrow(e);
    }
  }
  const first = (body[0] ?? {}) as Record<string, unknown>;
  const series: SentimentSeries | undefined =
    'fundingRate' in first
      ? 'funding'
      : 'sumOpenInterest' in first
        ? 'open_interest'
        : 'longShortRatio' in first
          ? 'long_short'
          : undefined;
  if (!series)
    throw invalid(
      file,
      'not a Fear & Greed answer nor a Binance fundingRate, openInterestHist or long/short answer',
    );
  try {
    return { series, points: parseFuturesRows(series, body, symbol, where) };
  } catch (e) {
    return rethrow(e);
  }
}

/** Read and validate a sentiment file entirely (nothing is written when any row is bad). */
export function readSentimentFile(
  file: string,
  opts: { symbol?: string; symbols: readonly string[] },
): { series: SentimentSeries; symbol: string; format: 'json' | 'csv'; points: SentimentPoint[] } {
  assertReadableFile(file);
  const raw = readFileSync(file);
  const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  const trimmed = text.trimStart();
  let format: 'json' | 'csv' = 'csv';
  let parsed: { series: SentimentSeries; points: SentimentPoint[] };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    format = 'json';
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw invalid(file, `is not valid JSON (truncated?): ${(e as Error).message}`);
    }
    parsed = parseJson(file, body, opts.symbol);
  } else parsed = parseCsv(file, text, opts.symbol, opts.symbols);
  const symbol = parsed.points[0]?.symbol ?? (parsed.series === 'fng' ? '*' : (opts.symbol ?? ''));
  if (parsed.series !== 'fng') symbolFrom(file, symbol || undefined, opts.symbols);
  return { ...parsed, symbol, format };
}

/** Import one file in one transaction-free batch (idempotent). */
export async function importSentimentFile(
  db: DbOrTx,
  file: string,
  opts: { symbol?: string; symbols: readonly string[]; now?: number },
): Promise<SentimentImportReport> {
  const { series, symbol, format, points } = readSentimentFile(file, opts);
  const now = opts.now ?? Date.now();
  // Only final values enter the cache (the same rule as the API clients): today's index is not one.
  const final = points.filter((p) => p.knownAt <= now);
  const inserted = await insertSentimentPoints(db, final, 'import');
  const iv = SERIES_INTERVAL_MS[series];
  const first = final[0]?.time ?? null;
  const last = final.at(-1)?.time ?? null;
  return {
    file,
    series,
    symbol,
    format,
    rowsRead: points.length,
    inserted,
    skipped: final.length - inserted,
    first,
    last,
    gaps:
      first === null || last === null
        ? []
        : sentimentGaps(final, iv, Math.floor(first / iv) * iv, Math.floor(last / iv) * iv),
  };
}
