/**
 * The cost report behind `GET /costs` and `npm run cli -- costs`: today's (UTC) LLM tokens and USD
 * against the daily budget, by agent and by model, and what the response cache saved.
 *
 * Decisions:
 * - The budget figures come from the atomic token ledger (shared/llm/budget.ts), the per-agent figures
 *   from `agent_logs` (one row per model call, cache hits and refusals included). They are two views of
 *   the same calls; the ledger is the one the budget is enforced on.
 * - A cache hit is logged with zero tokens and zero cost (it spent nothing); what the answers cost when
 *   they were first bought is in `llm_cache`. Today's savings are today's hits per model times the mean
 *   stored tokens and cost of that model's cached answers: the log row does not keep the cache key, so
 *   the per-model mean is the closest honest figure.
 */
import { and, gte, lt, sql } from 'drizzle-orm';
import type { Settings } from '../config/settings';
import { selectedProvider } from '../config/settings';
import type { DbOrTx } from '../db/client';
import { agentLogs, llmCache } from '../db/schema';
import { createTokenBudget, utcDay } from '../llm/budget';
import { type MODEL_PRICES, OFFLINE_MODEL, priceFor } from '../llm/prices';
import { dailyMetrics } from '../spend/daily';
import type { CostsDto, DailyCostsDto } from './contract';

const DAY_MS = 86_400_000;
const USD_DECIMALS = 6;

function roundUsd(x: number): number {
  return Number(x.toFixed(USD_DECIMALS));
}

/** `GET /costs/daily`: the last `days` UTC days of per-agent metrics (shared/spend/daily.ts), as the API shows them. */
export async function getDailyCosts(
  db: DbOrTx,
  settings: Settings,
  nowMs: number,
  days: number,
): Promise<DailyCostsDto> {
  const series = await dailyMetrics(db, { days, nowMs });
  const agents = [...new Set(series.flatMap((d) => d.byAgent.map((a) => a.agent)))].sort();
  return {
    days,
    provider: selectedProvider(settings),
    usdBudget: settings.DAILY_USD_BUDGET ?? null,
    tokenBudget: settings.DAILY_TOKEN_BUDGET,
    agents,
    series: series.map((d) => ({
      ...d,
      costUsd: roundUsd(d.costUsd),
      byAgent: d.byAgent.map((a) => ({
        ...a,
        costUsd: roundUsd(a.costUsd),
        latencyMeanMs: a.latencyMeanMs === null ? null : Math.round(a.latencyMeanMs),
        latencyP95Ms: a.latencyP95Ms === null ? null : Math.round(a.latencyP95Ms),
      })),
    })),
  };
}

export async function getCosts(db: DbOrTx, settings: Settings, nowMs: number): Promise<CostsDto> {
  const day = utcDay(nowMs);
  const dayStart = new Date(`${day}T00:00:00.000Z`);
  const dayEnd = new Date(dayStart.getTime() + DAY_MS);
  const budget = await createTokenBudget(db, {
    dailyTokens: settings.DAILY_TOKEN_BUDGET,
    dailyUsd: settings.DAILY_USD_BUDGET ?? null,
    now: () => nowMs,
  }).status(day);

  const rows = await db
    .select({
      agent: agentLogs.agent,
      model: agentLogs.model,
      tier: agentLogs.tier,
      calls: sql<number>`count(*)::int`,
      cacheHits: sql<number>`count(*) filter (where ${agentLogs.cacheHit})::int`,
      tokensIn: sql<number>`coalesce(sum(${agentLogs.tokensIn}) filter (where not ${agentLogs.cacheHit}), 0)::int`,
      tokensOut: sql<number>`coalesce(sum(${agentLogs.tokensOut}) filter (where not ${agentLogs.cacheHit}), 0)::int`,
      costUsd: sql<string>`coalesce(sum(${agentLogs.costUsd}), 0)::text`,
    })
    .from(agentLogs)
    .where(and(gte(agentLogs.timestamp, dayStart), lt(agentLogs.timestamp, dayEnd)))
    .groupBy(agentLogs.agent, agentLogs.model, agentLogs.tier)
    .orderBy(agentLogs.agent, agentLogs.model);

  const byAgent = rows.map((r) => ({
    agent: r.agent,
    model: r.model,
    tier: r.tier,
    calls: Number(r.calls),
    cacheHits: Number(r.cacheHits),
    tokensIn: Number(r.tokensIn),
    tokensOut: Number(r.tokensOut),
    costUsd: roundUsd(Number(r.costUsd)),
  }));

  const cached = await db
    .select({
      model: llmCache.model,
      tokens: sql<string>`avg(${llmCache.tokensIn} + ${llmCache.tokensOut})::text`,
      cost: sql<string>`avg(${llmCache.costUsd})::text`,
    })
    .from(llmCache)
    .groupBy(llmCache.model);
  const cachedMean = new Map(
    cached.map((c) => [c.model, { tokens: Number(c.tokens), cost: Number(c.cost) }]),
  );

  const models = new Map<string, { calls: number; tokensIn: number; tokensOut: number; costUsd: number }>();
  let hits = 0;
  let tokensSaved = 0;
  let usdSaved = 0;
  for (const r of rows) {
    const m = models.get(r.model) ?? { calls: 0, tokensIn: 0, tokensOut: 0, costUsd: 0 };
    m.calls += Number(r.calls);
    m.tokensIn += Number(r.tokensIn);
    m.tokensOut += Number(r.tokensOut);
    m.costUsd += Number(r.costUsd);
    models.set(r.model, m);
    hits += Number(r.cacheHits);
    const mean = cachedMean.get(r.model);
    if (mean) {
      tokensSaved += Math.round(Number(r.cacheHits) * mean.tokens);
      usdSaved += Number(r.cacheHits) * mean.cost;
    }
  }

  const configured = [settings.CHEAP_MODEL, settings.STRONG_MODEL, ...models.keys()].filter(
    (m) => m !== OFFLINE_MODEL,
  );
  const prices = [...new Set(configured)]
    .map((m) => priceFor(m))
    .filter((p): p is (typeof MODEL_PRICES)[number] => p !== undefined)
    .map((p) => ({
      model: p.model,
      inputPerMTok: p.inputPerMTok,
      outputPerMTok: p.outputPerMTok,
      asOf: p.asOf,
    }));

  const totalUsd = byAgent.reduce((s, a) => s + a.costUsd, 0);
  return {
    day,
    provider: selectedProvider(settings),
    budget: {
      tokens: budget.budget,
      used: budget.used,
      reserved: budget.reserved,
      remaining: Math.max(0, budget.remaining),
      refusedCalls: budget.refused,
    },
    usdBudget: budget.usd
      ? {
          usd: budget.usd.budget,
          used: roundUsd(budget.usd.used),
          reserved: roundUsd(budget.usd.reserved),
          remaining: roundUsd(budget.usd.remaining),
        }
      : null,
    costUsd: roundUsd(Math.max(totalUsd, budget.costUsd)),
    byAgent,
    byModel: [...models.entries()].map(([model, m]) => ({ model, ...m, costUsd: roundUsd(m.costUsd) })),
    cache: { hits, tokensSaved, usdSaved: roundUsd(usdSaved) },
    prices,
  };
}
