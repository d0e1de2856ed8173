import { resolve } from 'node:path';
import '../shared/polyfills';
import { openDatabase } from '../shared/db/client';
import { readBinanceCsv } from '../shared/indicators/testing';
import { createLLMClient } from '../shared/llm/client';
import { createBacktest, runBacktest } from '../shared/pipeline/backtest';
import type { PipelineDeps } from '../shared/pipeline/deps';
import { memoryCandleSource, testSettings } from '../shared/pipeline/testing';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const candles = memoryCandleSource({
  BTCUSDT: { '4h': readBinanceCsv(resolve('/work/shared/data/binance', 'BTCUSDT-4h.csv')) },
});
const database = await openDatabase({ dataDir: 'memory://' });
await database.migrate();
for (const q of (process.env.PRE ?? '').split(';').filter(Boolean)) await database.raw.pglite!.exec(q);
const stats = new Map<string, { n: number; ms: number }>();
const pg = database.raw.pglite as any;
let inflight = 0;
let busySince = 0;
let busyMs = 0;
const orig = pg.query.bind(pg);
pg.query = async (q: string, ...rest: unknown[]) => {
  const t = performance.now();
  if (inflight++ === 0) busySince = t;
  try {
    return await orig(q, ...rest);
  } finally {
    if (--inflight === 0) busyMs += performance.now() - busySince;
    const k = q.replace(/\s+/g, ' ').slice(0, 90);
    const e = stats.get(k) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += performance.now() - t;
    stats.set(k, e);
  }
};
const settings = testSettings({ LOG_LEVEL: 'silent' });
const deps: PipelineDeps = {
  db: database.db,
  settings,
  llm: createLLMClient({ db: database.db, settings, now: () => NOW }),
  candles,
  now: () => NOW,
};
const { backtestId } = await createBacktest(deps, {
  symbol: 'BTCUSDT',
  start_date: '2025-01-01',
  end_date: '2025-06-01',
  timeframe: '4h',
  max_decisions: 200,
});
stats.clear();
busyMs = 0;
const t0 = performance.now();
const r = await runBacktest(deps, backtestId, { concurrency: 1 });
const ms = performance.now() - t0;
console.log(r.status, (ms / 200).toFixed(2), 'ms/decision wall');
let tot = 0;
for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  tot += v.ms;
  console.log(
    String(v.n).padStart(6),
    ((v.ms / v.n) * 1000).toFixed(0).padStart(6),
    'us',
    (v.ms / 200).toFixed(2).padStart(6),
    'ms/dec',
    k,
  );
}
console.log('db busy ms/decision', (busyMs / 200).toFixed(2));
console.log('db ms/decision', ([...stats.values()].reduce((a, v) => a + v.ms, 0) / 200).toFixed(2));
await database.close();
