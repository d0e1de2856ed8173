import { resolve } from 'node:path';
import '../shared/polyfills';
import { loadLocalWorkflows } from '../functions/local/stepfunctions-runtime';
import { openDatabase } from '../shared/db/client';
import { readBinanceCsv } from '../shared/indicators/testing';
import { createLLMClient } from '../shared/llm/client';
import type { PipelineDeps } from '../shared/pipeline/deps';
import { memoryCandleSource, testSettings } from '../shared/pipeline/testing';
import { createStudy, getStudy } from '../shared/studies';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'] as const;
const NOW = Date.parse('2026-01-01T00:00:00Z');
const data = Object.fromEntries(
  SYMBOLS.map((s) => [s, { '4h': readBinanceCsv(resolve('/work/shared/data/binance', `${s}-4h.csv`)) }]),
);
const candles = memoryCandleSource(data);
const database = await openDatabase({ dataDir: 'memory://', thread: process.env.THREAD === '1' });
await database.migrate();
const stats = new Map<string, { n: number; ms: number }>();
const pg = (database.raw.pglite ?? { query() {}, exec() {} }) as any;
for (const m of ['query', 'exec']) {
  const orig = pg[m].bind(pg);
  pg[m] = async (q: string, ...rest: unknown[]) => {
    const t = performance.now();
    try {
      return await orig(q, ...rest);
    } finally {
      const k = q.replace(/\s+/g, ' ').slice(0, 110);
      const e = stats.get(k) ?? { n: 0, ms: 0 };
      e.n++;
      e.ms += performance.now() - t;
      stats.set(k, e);
    }
  };
}
const settings = testSettings({ LOG_LEVEL: 'silent' });
const deps: PipelineDeps = {
  db: database.db,
  settings,
  llm: createLLMClient({ db: database.db, settings, now: () => NOW }),
  candles,
  now: () => NOW,
};
const w = await loadLocalWorkflows({ deps, concurrency: settings.BACKTEST_MAP_CONCURRENCY, retryDelayMs: 0 });
const t0 = performance.now();
const c0 = process.cpuUsage();
const created = await createStudy(deps, {
  name: 'bench offline',
  symbols: [...SYMBOLS],
  windows: { start_date: '2025-01-01', end_date: '2025-12-31', window_days: 90, step_days: 90 },
  timeframe: '4h',
  max_decisions: Number(process.env.MAXD ?? 50),
  variants: [
    { label: 'plain', options: {} },
    { label: 'blind', options: { blind: true } },
  ],
});
const exec = await w.awaitExecution((await w.startStudy({ studyId: created.studyId })).executionId);
const ms = performance.now() - t0;
const study = await getStudy(deps, created.studyId);
const cpu = process.cpuUsage(c0);
console.log('cpu ms/decision', ((cpu.user + cpu.system) / 1000 / created.decisions).toFixed(2));
console.log(
  study.status,
  created.cells,
  created.decisions,
  (ms / 1000).toFixed(2),
  's',
  (created.decisions / (ms / 1000)).toFixed(1),
  '/s',
);
if (process.env.SQLSTATS)
  for (const [k, v] of [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, 40))
    console.log(
      String(v.n).padStart(7),
      v.ms.toFixed(0).padStart(7),
      'ms',
      (v.n / created.decisions).toFixed(2).padStart(6),
      k,
    );
await w.close();
await database.close();
