import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKlines } from '../../test/helpers/binance-server';
import { testDrivers, useTestDatabase } from '../db/testing';
import { BINANCE_DATA_DIR, realDataSuiteName } from '../indicators/testing';
import { AppError } from '../util/errors';
import { readKlines } from './candle-store';
import { importKlineFile, inferFromFileName, resolveImportTarget } from './import';
import { klineToWire } from './kline';
import type { Kline } from './types';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const DATA = BINANCE_DATA_DIR;
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
const T2025 = Date.UTC(2025, 0, 1);
const FIXTURE = generateKlines({ timeframe: '1h', start: T2025, count: 48, startPrice: 3_300, seed: 11 });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'import-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function csvLine(k: Kline, micro = false): string {
  const row = klineToWire(k);
  if (micro) {
    row[0] = k.openTime * 1000;
    row[6] = k.closeTime * 1000 + 999;
  }
  return row.join(',');
}

function writeFixture(name: string, lines: string[], gzip = false): string {
  const path = join(dir, name);
  const text = `${lines.join('\n')}\n`;
  writeFileSync(path, gzip ? gzipSync(text) : text);
  return path;
}

async function importError(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('file names', () => {
  it('infers symbol and timeframe from the archive naming schemes', () => {
    expect(inferFromFileName('/x/BTCUSDT-1h.csv.gz')).toEqual({ symbol: 'BTCUSDT', timeframe: '1h' });
    expect(inferFromFileName('BTCUSDT-1h-2024-01.csv')).toEqual({ symbol: 'BTCUSDT', timeframe: '1h' });
    expect(inferFromFileName('SOLUSDT-1d-ohlcv.csv')).toEqual({ symbol: 'SOLUSDT', timeframe: '1d' });
    expect(inferFromFileName('prices.csv')).toEqual({});
  });

  it('lets explicit options win and validates the result', () => {
    expect(resolveImportTarget('prices.csv', { symbol: 'ETHUSDT', timeframe: '4h' })).toEqual({
      symbol: 'ETHUSDT',
      timeframe: '4h',
    });
    expect(resolveImportTarget('BTCUSDT-1h.csv', { timeframe: '1d' })).toEqual({
      symbol: 'BTCUSDT',
      timeframe: '1d',
    });
    expect(() => resolveImportTarget('prices.csv')).toThrow(/symbol: cannot infer/);
    expect(() => resolveImportTarget('prices.csv', { symbol: 'BTCUSDT' })).toThrow(/timeframe: cannot infer/);
    expect(() => resolveImportTarget('BTCUSDT-3m.csv')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_TIMEFRAME' }),
    );
    expect(() => resolveImportTarget('DOGEUSDT-1h.csv', { symbols: SYMBOLS })).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_SYMBOL' }),
    );
    expect(() => resolveImportTarget('x.csv', { symbol: 'btc', timeframe: '1h' })).toThrow(/upper-case/);
  });
});

describe.each(testDrivers())('import on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());
  const count = async (symbol: string, timeframe: string) => {
    const r = await t.db.execute(
      sql`SELECT count(*)::int AS n FROM candles WHERE symbol = ${symbol} AND timeframe = ${timeframe}`,
    );
    return Number((r as unknown as { rows: { n: number }[] }).rows[0]!.n);
  };

  it('imports a header-less 12-column file with millisecond times', async () => {
    const file = writeFixture(
      'ETHUSDT-1h-2025-01.csv',
      FIXTURE.map((k) => csvLine(k)),
    );
    const report = await importKlineFile(t.db, file, { symbols: SYMBOLS });
    expect(report).toMatchObject({
      symbol: 'ETHUSDT',
      timeframe: '1h',
      header: false,
      format: 'full',
      timestampUnit: 'ms',
      rowsRead: 48,
      inserted: 48,
      skipped: 0,
      gaps: [],
      firstOpenTime: T2025,
      lastOpenTime: T2025 + 47 * HOUR,
    });
    expect(await readKlines(t.db, 'ETHUSDT', '1h', T2025, T2025 + 47 * HOUR)).toEqual(FIXTURE);
  });

  it('imports a gzipped microsecond file, converting to ms, and reports its gaps', async () => {
    const rows = FIXTURE.filter((_, i) => i < 10 || i >= 13);
    const file = writeFixture(
      'BTCUSDT-1h-2025-01.csv.gz',
      rows.map((k) => csvLine(k, true)),
      true,
    );
    const report = await importKlineFile(t.db, file);
    expect(report).toMatchObject({
      timestampUnit: 'us',
      rowsRead: 45,
      inserted: 45,
      gaps: [{ afterOpenTime: T2025 + 9 * HOUR, nextOpenTime: T2025 + 13 * HOUR, missingBars: 3 }],
      missingBars: 3,
    });
    expect(await readKlines(t.db, 'BTCUSDT', '1h', T2025, T2025 + 47 * HOUR)).toEqual(rows);
  });

  it('re-importing is idempotent: every row is skipped', async () => {
    const file = writeFixture(
      'SOLUSDT-1h-dup.csv',
      FIXTURE.map((k) => csvLine(k)),
    );
    await importKlineFile(t.db, file);
    const again = await importKlineFile(t.db, file);
    expect(again).toMatchObject({ rowsRead: 48, inserted: 0, skipped: 48 });
    expect(await count('SOLUSDT', '1h')).toBe(48);
  });

  it('stops at a malformed line, names it, and changes nothing', async () => {
    const lines = ['open_time,open,high,low,close,volume', ...FIXTURE.slice(0, 6).map((k) => csvLine(k))];
    lines[4] = lines[4]!.replace(/^(\d+),([^,]+),([^,]+)/, '$1,$2,abc');
    const file = writeFixture('BTCUSDT-1h-bad.csv', lines);
    const err = await importError(importKlineFile(t.db, file));
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.message).toContain(':5: high is not a non-negative decimal');
    expect(err.details).toMatchObject({ line: 5 });
    expect(await count('BTCUSDT', '1h')).toBe(0);
  });

  it('rejects a row with the wrong number of columns, a backwards time and a wrong timeframe', async () => {
    const short = writeFixture('BTCUSDT-1h-short.csv', [csvLine(FIXTURE[0]!), '1735693200000,1,2,0.5,1.5']);
    expect((await importError(importKlineFile(t.db, short))).message).toMatch(/:2: expected 12 columns/);

    const backwards = writeFixture('BTCUSDT-1h-back.csv', [csvLine(FIXTURE[1]!), csvLine(FIXTURE[0]!)]);
    expect((await importError(importKlineFile(t.db, backwards))).message).toMatch(
      /:2: open_time .* does not increase/,
    );

    const daily = generateKlines({ timeframe: '1d', start: T2025, count: 3 });
    const wrongTf = writeFixture(
      'BTCUSDT-1d-x.csv',
      daily.map((k) => csvLine(k)),
    );
    expect((await importError(importKlineFile(t.db, wrongTf, { timeframe: '1h' }))).message).toMatch(
      /:1: bar spans 86400000 ms, longer than 1h/,
    );
    expect(await count('BTCUSDT', '1h')).toBe(0);
  });

  it('reports a missing file as NOT_FOUND', async () => {
    const err = await importError(importKlineFile(t.db, join(dir, 'BTCUSDT-1h-nope.csv')));
    expect(err.code).toBe('NOT_FOUND');
    // Existence is checked before the name is read: a name without symbol or timeframe is still NOT_FOUND.
    const unnamed = await importError(importKlineFile(t.db, join(dir, 'nonexistent.csv')));
    expect(unnamed.code).toBe('NOT_FOUND');
    expect(unnamed.message).toBe(`file: ${join(dir, 'nonexistent.csv')} does not exist or is not a file`);
  });

  describe.skipIf(!existsSync(DATA))(realDataSuiteName('real archive files'), () => {
    it('imports all 70,008 rows of BTCUSDT-1h.csv.gz, then re-imports nothing', async () => {
      const file = resolve(DATA, 'BTCUSDT-1h.csv.gz');
      const report = await importKlineFile(t.db, file, { symbols: SYMBOLS });
      expect(report).toMatchObject({
        symbol: 'BTCUSDT',
        timeframe: '1h',
        header: true,
        format: 'full',
        rowsRead: 70_008,
        inserted: 70_008,
        skipped: 0,
        firstOpenTime: 1514764800000,
        lastOpenTime: 1767222000000,
      });
      expect(report.gaps).toHaveLength(27);
      expect(await count('BTCUSDT', '1h')).toBe(70_008);
      // The well-known spot archive row, byte for byte.
      const [row] = await readKlines(t.db, 'BTCUSDT', '1h', Date.UTC(2022, 0, 1), Date.UTC(2022, 0, 1));
      expect(row).toMatchObject({
        open: '46216.93000000',
        high: '46731.39000000',
        low: '46208.37000000',
        close: '46656.13000000',
        closeTime: Date.UTC(2022, 0, 1) + HOUR - 1,
      });
      // The truncated outage bar keeps its real close time (12:39:41.646).
      const [outage] = await readKlines(
        t.db,
        'BTCUSDT',
        '1h',
        Date.UTC(2023, 2, 24, 12),
        Date.UTC(2023, 2, 24, 12),
      );
      expect(outage!.closeTime).toBe(Date.UTC(2023, 2, 24, 12, 39, 41, 646));

      const again = await importKlineFile(t.db, file);
      expect(again).toMatchObject({ rowsRead: 70_008, inserted: 0, skipped: 70_008 });
      expect(await count('BTCUSDT', '1h')).toBe(70_008);
    });

    it('imports the 6-column OHLCV file with regular close times and null extras', async () => {
      const report = await importKlineFile(t.db, resolve(DATA, 'SOLUSDT-1d-ohlcv.csv'));
      expect(report).toMatchObject({
        symbol: 'SOLUSDT',
        timeframe: '1d',
        format: 'ohlcv',
        header: true,
        rowsRead: 1_969,
        inserted: 1_969,
        gaps: [],
        firstOpenTime: 1597104000000,
      });
      const [first] = await readKlines(t.db, 'SOLUSDT', '1d', 1597104000000, 1597104000000);
      expect(first).toEqual({
        openTime: 1597104000000,
        open: '2.85000000',
        high: '3.52080000',
        low: '2.84330000',
        close: '3.29850000',
        volume: '1552384.78000000',
        closeTime: 1597104000000 + DAY - 1,
        quoteVolume: null,
        trades: null,
        takerBuyBase: null,
        takerBuyQuote: null,
      });
    });
  });
});
