/**
 * The API end to end on the local host (real HTTP, PGlite in memory, the local Binance server with the
 * team's real candles, the local state machines):
 * 1. With the local OpenAI-protocol server answering every call in 500 ms: `POST /analyze` through the
 *    analysis state machine (analysts in parallel, so the critical path is 4 calls, ~2.0 s; goal within
 *    10%), and a 40-decision backtest with Map concurrency 10 beside the same backtest at concurrency 1
 *    (goal >= 7x faster). The response cache is off so both runs really call the model.
 * 2. With the offline provider: a 500-decision backtest's wall time, and requests per second on
 *    `GET /market/{symbol}/latest` (a bounded loop on loopback: 2,000 requests, 20 at a time).
 */
import { type Harness, pollUntil, startHarness } from '../test/api/harness';
import { startOpenAIServer } from '../test/helpers/openai-server';
import type { BenchContext, Figures } from './main';

export const name = 'api';
export const description =
  'POST /analyze and backtests through the local state machines; GET latest throughput';

const CALL_LATENCY_MS = 500;
const CRITICAL_PATH_CALLS = 4;
const TIMED_ANALYSES = 3;
const LLM_BACKTEST_DECISIONS = 40;
const OFFLINE_BACKTEST_DECISIONS = 500;
const LATEST_REQUESTS = 2_000;
const LATEST_CONCURRENCY = 20;
const round = (x: number, d = 2) => Number(x.toFixed(d));

async function timedBacktest(
  h: Harness,
  body: Record<string, unknown>,
): Promise<{ ms: number; status: string }> {
  const t0 = performance.now();
  const r = await h.post('/backtest', body);
  if (r.status !== 202) throw new Error(`POST /backtest answered ${r.status}: ${JSON.stringify(r.body)}`);
  const b = await pollUntil(
    h,
    r.body.poll,
    (x) => x.status === 'succeeded' || x.status === 'failed',
    600_000,
  );
  return { ms: performance.now() - t0, status: b.status };
}

export async function run(ctx: BenchContext): Promise<Figures> {
  if (!ctx.dataDir) return { skipped: '../shared/data/binance not present' };
  const figures: Figures = {};
  const llm = await startOpenAIServer({ latencyMs: CALL_LATENCY_MS });
  const env = {
    LLM_PROVIDER: 'openai',
    LLM_BASE_URL: llm.url,
    LLM_API_KEY: 'local-bench',
    LLM_CACHE: 'false',
  };
  const llmBacktest = (start: string) => ({
    symbol: 'BTCUSDT',
    start_date: start,
    end_date: '2024-06-01',
    timeframe: '4h',
    max_decisions: LLM_BACKTEST_DECISIONS,
    decision_interval: 1,
  });
  try {
    // ---- 1a. POST /analyze through the local analysis state machine
    const parallel = await startHarness({ workflows: 'stepfunctions', env, backtestConcurrency: 10 });
    try {
      const times: number[] = [];
      for (let k = 0; k < TIMED_ANALYSES; k++) {
        const t0 = performance.now();
        const r = await parallel.post('/analyze', { symbol: 'BTCUSDT', timeframe: '4h' });
        if (r.status !== 200)
          throw new Error(`POST /analyze answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
        times.push(performance.now() - t0);
      }
      const best = Math.min(...times);
      const path = CALL_LATENCY_MS * CRITICAL_PATH_CALLS;
      figures.analyze_ms_best = round(best, 0);
      figures.analyze_ms_mean = round(times.reduce((a, b) => a + b, 0) / times.length, 0);
      figures.analyze_critical_path_ms = path;
      figures.analyze_overhead_pct = round(((best - path) / path) * 100, 1);
      figures.analyze_within_10pct = best <= path * 1.1;

      // ---- 1b. 40 decisions, Map concurrency 10
      const p = await timedBacktest(parallel, llmBacktest('2024-01-01'));
      figures.backtest40_concurrency10_ms = round(p.ms, 0);
      figures.backtest40_concurrency10_status = p.status;
    } finally {
      await parallel.close();
    }
    // ---- 1c. the same backtest, Map concurrency 1
    const sequential = await startHarness({ workflows: 'stepfunctions', env, backtestConcurrency: 1 });
    try {
      const s = await timedBacktest(sequential, llmBacktest('2024-01-01'));
      figures.backtest40_concurrency1_ms = round(s.ms, 0);
      figures.backtest40_concurrency1_status = s.status;
      figures.backtest40_speedup = round(s.ms / (figures.backtest40_concurrency10_ms as number), 2);
    } finally {
      await sequential.close();
    }
  } finally {
    await llm.close();
  }

  // ---- 2. offline: a 500-decision backtest, and GET latest throughput
  const offline = await startHarness({ workflows: 'stepfunctions' });
  try {
    const b = await timedBacktest(offline, {
      symbol: 'BTCUSDT',
      start_date: '2023-06-01',
      end_date: '2024-01-01',
      timeframe: '4h',
      max_decisions: OFFLINE_BACKTEST_DECISIONS,
      decision_interval: 1,
    });
    figures.backtest500_offline_ms = round(b.ms, 0);
    figures.backtest500_offline_status = b.status;

    const path = '/market/BTCUSDT/latest?timeframe=4h&limit=200';
    await offline.get(path); // the first call fills the candle cache
    let next = 0;
    let failures = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: LATEST_CONCURRENCY }, async () => {
        while (next < LATEST_REQUESTS) {
          next++;
          try {
            const r = await offline.raw('GET', path);
            await r.arrayBuffer();
            if (r.status !== 200) failures++;
          } catch {
            failures++;
          }
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    figures.latest_requests = LATEST_REQUESTS;
    figures.latest_failures = failures;
    figures.latest_rps = round(LATEST_REQUESTS / seconds, 0);
  } finally {
    await offline.close();
  }
  return figures;
}
