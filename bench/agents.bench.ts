/**
 * The agent firm's cost and speed.
 * 1. Tokens and cost: 100 decisions on real BTCUSDT 1h data with the offline provider, whose prompts
 *    are the real prompts: gpt-tokenizer counts what each call would have sent (messages + JSON schema)
 *    and received. Figures: LLM calls per decision, input/output tokens per decision (all decisions,
 *    and full 6-call decisions) at p50 and p95, and USD per decision at the default models' prices.
 *    Goals (AGENTS.md): <= 6 calls, <= 4,000 input and <= 1,200 output tokens for a full decision.
 * 2. Time: a few decisions against the local OpenAI-protocol server answering every call in 500 ms.
 *    The analysts run in parallel, so the critical path is 4 calls (~2.0 s); goal within 10% of it.
 */
import { resolve } from 'node:path';
import { AGENT_TIER, type AgentName } from '../shared/agents/schemas';
import { openDatabase } from '../shared/db/client';
import { agentLogs } from '../shared/db/schema';
import { readBinanceCsv } from '../shared/indicators/testing';
import { createLLMClient, ROLE_MAX_TOKENS } from '../shared/llm/client';
import { costUsd } from '../shared/llm/prices';
import { getAnalysis, runAnalysis } from '../shared/pipeline/analysis';
import type { PipelineDeps } from '../shared/pipeline/deps';
import { memoryCandleSource, testSettings } from '../shared/pipeline/testing';
import { startOpenAIServer } from '../test/helpers/openai-server';
import type { BenchContext, Figures } from './main';

export const name = 'agents';
export const description =
  'tokens, calls and cost per decision (offline prompts, real data); time per decision at 500 ms/call';

const FILE = 'BTCUSDT-1h.csv.gz';
const DECISIONS = 100;
const TIMED_DECISIONS = 5;
const CALL_LATENCY_MS = 500;
const CRITICAL_PATH_CALLS = 4;
const FIRST_DECISION = Date.parse('2023-01-02T00:00:00Z');
const DAY_MS = 86_400_000;
const NOW = Date.parse('2025-12-31T00:00:00Z');

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const round = (x: number, d = 2) => Number(x.toFixed(d));

export async function run(ctx: BenchContext): Promise<Figures> {
  if (!ctx.dataDir) return { skipped: '../shared/data/binance not present' };
  const btc = readBinanceCsv(resolve(ctx.dataDir, FILE));
  const candles = memoryCandleSource({ BTCUSDT: { '1h': btc } });
  const figures: Figures = {};

  // ---- 1. tokens and cost, offline
  const database = await openDatabase({ dataDir: 'memory://' });
  try {
    await database.migrate();
    const db = database.db;
    const settings = testSettings();
    const deps: PipelineDeps = {
      db,
      settings,
      llm: createLLMClient({ db, settings, now: () => NOW }),
      candles,
      now: () => NOW,
    };
    const defaults = testSettings({ LLM_PROVIDER: 'openai', LLM_API_KEY: 'x' });
    const modelOf = (a: AgentName) =>
      AGENT_TIER[a] === 'cheap' ? defaults.CHEAP_MODEL : defaults.STRONG_MODEL;
    const calls: number[] = [];
    const tin: number[] = [];
    const tout: number[] = [];
    const usd: number[] = [];
    const fullIn: number[] = [];
    const fullOut: number[] = [];
    const statuses: Record<string, number> = {};
    const started = performance.now();
    for (let i = 0; i < DECISIONS; i++) {
      const a = await runAnalysis(deps, {
        symbol: 'BTCUSDT',
        timeframe: '1h',
        mode: 'backtest_step',
        timestamp: FIRST_DECISION + i * 7 * DAY_MS,
      });
      statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      let cost = 0;
      for (const r of Object.values(a.agents)) {
        if (!r || r.tokensIn === 0) continue;
        cost +=
          costUsd(modelOf(r.agent), {
            promptTokens: r.tokensIn,
            completionTokens: r.tokensOut,
            cachedTokens: 0,
          }) ?? 0;
      }
      calls.push(a.cost.calls);
      tin.push(a.cost.tokensIn);
      tout.push(a.cost.tokensOut);
      usd.push(cost);
      if (a.cost.calls === 6) {
        fullIn.push(a.cost.tokensIn);
        fullOut.push(a.cost.tokensOut);
      }
    }
    const offlineMs = performance.now() - started;
    const logs = await db.select().from(agentLogs);
    figures.decisions = DECISIONS;
    figures.statuses = Object.entries(statuses)
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    figures.llm_calls_per_decision_max = Math.max(...calls);
    figures.llm_calls_per_decision_mean = round(calls.reduce((s, x) => s + x, 0) / calls.length);
    figures.agent_log_rows = logs.length;
    figures.input_tokens_p50 = pct(tin, 50);
    figures.input_tokens_p95 = pct(tin, 95);
    figures.output_tokens_p50 = pct(tout, 50);
    figures.output_tokens_p95 = pct(tout, 95);
    figures.full_decisions = fullIn.length;
    figures.full_decision_input_tokens_p50 = pct(fullIn, 50);
    figures.full_decision_input_tokens_p95 = pct(fullIn, 95);
    figures.full_decision_output_tokens_p50 = pct(fullOut, 50);
    figures.full_decision_output_tokens_p95 = pct(fullOut, 95);
    figures.output_token_caps_sum = Object.values(ROLE_MAX_TOKENS).reduce((s, x) => s + x, 0);
    figures.models = `${defaults.CHEAP_MODEL} (analysts), ${defaults.STRONG_MODEL} (researcher, trader, risk)`;
    figures.usd_per_decision_p50 = round(pct(usd, 50), 5);
    figures.usd_per_decision_p95 = round(pct(usd, 95), 5);
    figures.offline_ms_per_decision = round(offlineMs / DECISIONS, 1);
  } finally {
    await database.close();
  }

  // ---- 2. time per decision against the OpenAI-protocol server
  const server = await startOpenAIServer({ latencyMs: CALL_LATENCY_MS });
  const db2 = await openDatabase({ dataDir: 'memory://' });
  try {
    await db2.migrate();
    const settings = testSettings({
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: server.url,
      LLM_API_KEY: 'bench',
      LLM_CACHE: 'false',
    });
    const deps: PipelineDeps = {
      db: db2.db,
      settings,
      llm: createLLMClient({ db: db2.db, settings, now: Date.now }),
      candles,
      now: () => NOW,
    };
    const times: number[] = [];
    for (let i = 0; i < TIMED_DECISIONS; i++) {
      const t0 = performance.now();
      const a = await runAnalysis(deps, {
        symbol: 'BTCUSDT',
        timeframe: '1h',
        mode: 'backtest_step',
        timestamp: FIRST_DECISION + i * DAY_MS,
      });
      times.push(performance.now() - t0);
      if (a.status !== 'completed') throw new Error(`timed decision ended ${a.status}`);
      await getAnalysis(deps, a.id);
    }
    const critical = CRITICAL_PATH_CALLS * CALL_LATENCY_MS;
    figures.server_latency_ms_per_call = CALL_LATENCY_MS;
    figures.server_calls = server.count;
    figures.timed_decisions = TIMED_DECISIONS;
    figures.seconds_per_decision_p50 = round(pct(times, 50) / 1000, 3);
    figures.seconds_per_decision_max = round(Math.max(...times) / 1000, 3);
    figures.critical_path_seconds = critical / 1000;
    figures.overhead_vs_critical_path_pct = round((pct(times, 50) / critical - 1) * 100, 1);
  } finally {
    await db2.close();
    await server.close();
  }
  return figures;
}
