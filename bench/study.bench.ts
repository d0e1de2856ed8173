/**
 * Studies through the local Study state machine (definitions from the file cache; synthesis is not
 * timed), on the real Binance 4h data in memory, PGlite in memory:
 * 1. 3 symbols x 4 windows x 2 variants, 50 decisions per backtest, offline provider, baselines
 *    included: wall time from POST-equivalent (createStudy) to the report, and decisions per second
 *    (goal: >= 100/s on these 2 cores).
 * 2. The same machinery with the local OpenAI-protocol server answering every call in 500 ms and the
 *    backtest Map at concurrency 10 (cells 4 at once, so 10 x min(4, cells) decisions in flight): a
 *    smaller study (1 symbol x 2 windows x 1 variant x 20 decisions, response cache off) against the
 *    ideal ceil(decisions / in flight) x critical path (4 calls: analysts in parallel, researcher,
 *    trader, risk).
 *    Goal: within 25%. Three independent runs (each its own database, machines, client and candle
 *    source), each printed, the goal read on their median; the first run of the process is printed
 *    apart (colder JIT and connections).
 * PGlite runs where the local host runs it (PGLITE_THREAD: its own worker thread by default).
 * (The 40-decision backtest at Map concurrency 10 against 1 is in bench/api.bench.ts.)
 */
import { resolve } from 'node:path';
import { loadLocalWorkflows } from '../functions/local/stepfunctions-runtime';
import { openDatabase } from '../shared/db/client';
import { readBinanceCsv } from '../shared/indicators/testing';
import { createLLMClient } from '../shared/llm/client';
import type { PipelineDeps } from '../shared/pipeline/deps';
import { memoryCandleSource, testSettings } from '../shared/pipeline/testing';
import { createStudy, getStudy } from '../shared/studies';
import { startOpenAIServer } from '../test/helpers/openai-server';
import type { BenchContext, Figures } from './main';

export const name = 'study';
export const description =
  'a study through the local Study machine: 3 symbols x 4 windows x 2 variants x 50 decisions offline; and at 500 ms/call, Map concurrency 10';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'] as const;
const NOW = Date.parse('2026-01-01T00:00:00Z');
const CALL_LATENCY_MS = 500;
const LLM500_RUNS = 3;
const CRITICAL_PATH_CALLS = 4;
const round = (x: number, d = 2) => Number(x.toFixed(d));
/** PGlite where the local host runs it (PGLITE_THREAD, default: its own worker thread). */
const HOST_THREAD = testSettings().PGLITE_THREAD;

async function runOne(deps: PipelineDeps, request: unknown, concurrency: number) {
  const w = await loadLocalWorkflows({ deps, concurrency, retryDelayMs: 0 });
  try {
    const t0 = performance.now();
    const created = await createStudy(deps, request);
    const exec = await w.awaitExecution((await w.startStudy({ studyId: created.studyId })).executionId);
    const ms = performance.now() - t0;
    const study = await getStudy(deps, created.studyId);
    return { ms, created, exec, study };
  } finally {
    await w.close();
  }
}

export async function run(ctx: BenchContext): Promise<Figures> {
  if (!ctx.dataDir) return { skipped: 'no ../shared/data/binance' };
  const data = Object.fromEntries(
    SYMBOLS.map((s) => [s, { '4h': readBinanceCsv(resolve(ctx.dataDir as string, `${s}-4h.csv`)) }]),
  );
  const candles = memoryCandleSource(data);
  const figures: Figures = {};

  // ---- 1. offline
  {
    const database = await openDatabase({ dataDir: 'memory://', thread: HOST_THREAD });
    try {
      await database.migrate();
      const settings = testSettings({ LOG_LEVEL: 'silent' });
      const deps: PipelineDeps = {
        db: database.db,
        settings,
        llm: createLLMClient({ db: database.db, settings, now: () => NOW }),
        candles,
        now: () => NOW,
        // As the local host's container sets it (later points' market read while the model answers).
        readAhead: true,
      };
      const r = await runOne(
        deps,
        {
          name: 'bench offline',
          symbols: [...SYMBOLS],
          windows: { start_date: '2025-01-01', end_date: '2025-12-31', window_days: 90, step_days: 90 },
          timeframe: '4h',
          max_decisions: 50,
          variants: [
            { label: 'plain', options: {} },
            { label: 'blind', options: { blind: true } },
          ],
        },
        settings.BACKTEST_MAP_CONCURRENCY,
      );
      figures.offline_status = r.study.status;
      figures.offline_cells = r.created.cells;
      figures.offline_decisions = r.created.decisions;
      figures.offline_wall_s = round(r.ms / 1000);
      figures.offline_decisions_per_s = round(r.created.decisions / (r.ms / 1000), 1);
    } finally {
      await database.close();
    }
  }

  // ---- 2. 500 ms per call, Map concurrency 10: LLM500_RUNS independent runs (each its own database,
  // state machines, client and candle source, so no memo carries over), reported one by one and as the
  // median, which the goal is read on.
  const server = await startOpenAIServer({ latencyMs: CALL_LATENCY_MS });
  try {
    const walls: number[] = [];
    let last: Awaited<ReturnType<typeof runOne>> | undefined;
    for (let run = 0; run < LLM500_RUNS; run++) {
      const database = await openDatabase({ dataDir: 'memory://', thread: HOST_THREAD });
      try {
        await database.migrate();
        const settings = testSettings({
          LOG_LEVEL: 'silent',
          LLM_PROVIDER: 'openai',
          LLM_BASE_URL: server.url,
          LLM_API_KEY: 'bench',
          LLM_CACHE: 'false',
        });
        const deps: PipelineDeps = {
          db: database.db,
          settings,
          llm: createLLMClient({ db: database.db, settings, now: Date.now }),
          candles: memoryCandleSource(data),
          now: () => NOW,
          readAhead: true,
        };
        last = await runOne(
          deps,
          {
            name: `bench 500 ms #${run + 1}`,
            symbols: ['BTCUSDT'],
            windows: [
              { start_date: '2025-02-01', end_date: '2025-04-01' },
              { start_date: '2025-06-01', end_date: '2025-08-01' },
            ],
            timeframe: '4h',
            max_decisions: 20,
            variants: [{ label: 'plain', options: {} }],
            baselines: [],
          },
          10,
        );
        if (last.study.status !== 'succeeded')
          throw new Error(`study ${last.created.studyId} ended ${last.study.status}`);
        walls.push(last.ms);
      } finally {
        await database.close();
      }
    }
    const r = last!;
    // Cells run 4 at once (STUDY_CELL_CONCURRENCY), each backtest's Map 10 at once.
    const inFlight = 10 * Math.min(4, r.created.variantCells);
    const ideal = Math.ceil(r.created.decisions / inFlight) * CRITICAL_PATH_CALLS * CALL_LATENCY_MS;
    const median = [...walls].sort((x, y) => x - y)[Math.floor(walls.length / 2)]!;
    figures.llm500_decisions_in_flight = inFlight;
    figures.llm500_status = r.study.status;
    figures.llm500_decisions = r.created.decisions;
    figures.llm500_calls_per_run = server.count / LLM500_RUNS;
    figures.llm500_runs_wall_s = walls.map((w) => round(w / 1000)).join(' ');
    figures.llm500_wall_s_median = round(median / 1000);
    figures.llm500_ideal_s = round(ideal / 1000);
    figures.llm500_over_ideal_pct_median = round((median / ideal - 1) * 100, 1);
    figures.llm500_over_ideal_pct_first_run = round((walls[0]! / ideal - 1) * 100, 1);
  } finally {
    await server.close();
  }
  return figures;
}
