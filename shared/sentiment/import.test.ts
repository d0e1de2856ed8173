import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DOCUMENTED_SAMPLES } from '../../test/helpers/sentiment-server';
import { testDrivers, useTestDatabase } from '../db/testing';
import { importSentimentFile } from './import';
import { createSentimentReader } from './reader';
import { createSentimentStore, readSentimentPoints } from './store';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const NOW = Date.UTC(2025, 0, 1);
const dir = mkdtempSync(join(tmpdir(), 'sentiment-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string | Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe.each(testDrivers())('sentiment import (%s)', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  it('imports the saved F&G answer and CSV idempotently, with gaps, and the offline view reads them', async () => {
    const days = Array.from({ length: 40 }, (_, i) => Date.UTC(2024, 10, 1) + i * 86_400_000).filter(
      (_, i) => i !== 20,
    );
    const json = write(
      'fng.json',
      JSON.stringify({
        name: 'Fear and Greed Index',
        data: days.reverse().map((d, i) => ({
          value: String(30 + (i % 40)),
          value_classification: 'Fear',
          timestamp: String(d / 1000),
        })),
        metadata: { error: null },
      }),
    );
    const r = await importSentimentFile(t.db, json, { symbols: SYMBOLS, now: NOW });
    expect(r).toMatchObject({ series: 'fng', symbol: '*', format: 'json', rowsRead: 39, inserted: 39 });
    expect(r.gaps).toEqual([expect.objectContaining({ missingPoints: 1 })]);
    const again = await importSentimentFile(t.db, json, { symbols: SYMBOLS, now: NOW });
    expect(again).toMatchObject({ inserted: 0, skipped: 39 });

    const csv = write('fng.csv', 'timestamp,value,value_classification\n1730332800,55,Neutral\n');
    expect(await importSentimentFile(t.db, csv, { symbols: SYMBOLS, now: NOW })).toMatchObject({
      inserted: 1,
    });

    // Offline: a store without clients serves the imported values point in time.
    const store = createSentimentStore({ db: t.db, symbols: SYMBOLS, now: () => NOW });
    const s = await createSentimentReader(store, ['fng']).summaryAt('BTCUSDT', Date.UTC(2024, 11, 5, 8));
    expect(s.fearGreed?.ageDays).toBe(0);
    expect(s.missing).toEqual({});
  });

  it('imports Binance funding JSON, the CSV and the bulk-archive CSV (symbol from the file name)', async () => {
    const json = write('funding.json', JSON.stringify(DOCUMENTED_SAMPLES.fundingRate));
    expect(await importSentimentFile(t.db, json, { symbols: SYMBOLS, now: NOW })).toMatchObject({
      series: 'funding',
      symbol: 'BTCUSDT',
      inserted: 2,
    });
    const archive = write(
      'ETHUSDT-fundingRate-2024-01.csv.gz',
      gzipSync(
        'calc_time,funding_interval_hours,last_funding_rate\n1704067200000,8,0.00037409\n1704096000000,8,0.00031100\n',
      ),
    );
    expect(await importSentimentFile(t.db, archive, { symbols: SYMBOLS, now: NOW })).toMatchObject({
      symbol: 'ETHUSDT',
      inserted: 2,
    });
    const rows = await readSentimentPoints(t.db, 'funding', 'ETHUSDT', 0, NOW);
    expect(rows.map((p) => p.value)).toEqual(['0.00037409', '0.00031100']);
  });

  it('stops at a malformed row with its line, writes nothing of that file, and refuses a truncated JSON', async () => {
    const bad = write(
      'bad.csv',
      'symbol,fundingTime,fundingRate,markPrice\nBTCUSDT,1704067200000,0.0001,1\nBTCUSDT,1704096000000,abc,1\n',
    );
    await expect(importSentimentFile(t.db, bad, { symbols: SYMBOLS, now: NOW })).rejects.toThrow(
      /line 3 is malformed/,
    );
    expect(await readSentimentPoints(t.db, 'funding', 'BTCUSDT', 0, NOW)).toEqual([]);
    const cut = write('cut.json', '{"name":"Fear and Greed Index","data":[{"value":"4');
    await expect(importSentimentFile(t.db, cut, { symbols: SYMBOLS, now: NOW })).rejects.toThrow(
      /not valid JSON/,
    );
    await expect(importSentimentFile(t.db, join(dir, 'nope.json'), { symbols: SYMBOLS })).rejects.toThrow(
      /does not exist/,
    );
  });
});
