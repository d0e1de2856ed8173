import { resolve } from 'node:path';
import '../shared/polyfills';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadLocalWorkflows } from '../functions/local/stepfunctions-runtime';
import { openDatabase } from '../shared/db/client';
import { readBinanceCsv } from '../shared/indicators/testing';
import { createLLMClient } from '../shared/llm/client';
import type { PipelineDeps } from '../shared/pipeline/deps';
import { memoryCandleSource, testSettings } from '../shared/pipeline/testing';
import { createStudy, getStudy } from '../shared/studies';
import { startOpenAIServer } from '../test/helpers/openai-server';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const candles = memoryCandleSource({
  BTCUSDT: { '4h': readBinanceCsv(resolve('/work/shared/data/binance', 'BTCUSDT-4h.csv')) },
});
const server = await startOpenAIServer({ latencyMs: 500 });
const database = await openDatabase({ dataDir: 'memory://' });
await database.migrate();
const stats = new Map<string, number>();
const pg = database.raw.pglite as any;
const orig = pg.query.bind(pg);
pg.query = (q: string, ...rest: unknown[]) => {
  const k = q.replace(/\s+/g, ' ').slice(0, 100);
  stats.set(k, (stats.get(k) ?? 0) + 1);
  return orig(q, ...rest);
};
const settings = testSettings({
  LOG_LEVEL: 'silent',
  LLM_PROVIDER: 'openai',
  LLM_BASE_URL: server.url,
  LLM_API_KEY: 'bench',
  LLM_CACHE: 'false',
  ...(process.env.LIMIT ? { LLM_MAX_CONCURRENCY: process.env.LIMIT } : {}),
});
const deps: PipelineDeps = {
  db: database.db,
  settings,
  llm: createLLMClient({ db: database.db, settings, now: Date.now }),
  candles,
  now: () => NOW,
};
const w = await loadLocalWorkflows({ deps, concurrency: 10, retryDelayMs: 0 });
const session = new Session();
session.connect();
for (let k = 0; k < Number(process.env.REPS ?? 1); k++) {
  if (k === Number(process.env.PROFREP ?? 1) && process.env.PROF) {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  stats.clear();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const created = await createStudy(deps, {
    name: 'x' + k,
    symbols: ['BTCUSDT'],
    windows: [
      { start_date: '2025-02-01', end_date: '2025-04-01' },
      { start_date: '2025-06-01', end_date: '2025-08-01' },
    ],
    timeframe: '4h',
    max_decisions: 20,
    variants: [{ label: 'plain', options: {} }],
    baselines: [],
  });
  await w.awaitExecution((await w.startStudy({ studyId: created.studyId })).executionId);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  if (k === Number(process.env.PROFREP ?? 1) && process.env.PROF) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(process.env.PROF, JSON.stringify(profile));
  }
  console.log(
    (await getStudy(deps, created.studyId)).status,
    'wall',
    (ms / 1000).toFixed(2),
    's; cpu ms/decision',
    ((cpu.user + cpu.system) / 1000 / created.decisions).toFixed(1),
  );
}

if (process.env.SQLSTATS)
  for (const [k, v] of [...stats].sort((a, b) => b[1] - a[1]).slice(0, 20))
    console.log(String(v).padStart(6), (v / 40).toFixed(2), k);
await w.close();
await database.close();
await server.close();
