/**
 * Test and benchmark helper: read one of the team's Binance CSV files (plain or .gz, with the header
 * `open_time,open,high,low,close,volume,close_time,…`) into Candles, without the database. Not used by
 * product code. `BINANCE_DATA_DIR` is where tests and benches look (the team folder, never copied).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { Candle } from '../market/types';

/** ../shared/data/binance resolved from the repository root. */
export const BINANCE_DATA_DIR = resolve(
  fileURLToPath(new URL('../..', import.meta.url)),
  '../shared/data/binance',
);

export function binanceDataFile(name: string): string {
  return resolve(BINANCE_DATA_DIR, name);
}
export function hasBinanceData(name = '.'): boolean {
  return existsSync(binanceDataFile(name));
}

/**
 * A real-data suite's name: as given when the file is there, with the reason appended when it is not,
 * so a skipped suite says why (`describe.skipIf(!hasBinanceData(f))(realDataSuiteName(name, f), …)`).
 */
export function realDataSuiteName(name: string, file = '.'): string {
  return hasBinanceData(file)
    ? name
    : `${name} (skipped: ${file === '.' ? '' : `${file} in `}../shared/data/binance not present)`;
}

export function parseBinanceCsv(text: string): Candle[] {
  const lines = text.split('\n');
  const out: Candle[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const f = line.split(',');
    if (f.length < 7) throw new Error(`line ${i + 1}: expected at least 7 columns, got ${f.length}`);
    out.push({
      openTime: Number(f[0]),
      open: Number(f[1]),
      high: Number(f[2]),
      low: Number(f[3]),
      close: Number(f[4]),
      volume: Number(f[5]),
      closeTime: Number(f[6]),
    });
  }
  return out;
}

export function readBinanceCsv(path: string): Candle[] {
  const buf = readFileSync(path);
  const text = path.endsWith('.gz') ? gunzipSync(buf).toString('utf8') : buf.toString('utf8');
  return parseBinanceCsv(text);
}
