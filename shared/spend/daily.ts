/**
 * Daily metrics per agent and per UTC day (seed 003's `agent_daily_metrics`): calls, tokens in/out,
 * USD, mean and p95 latency, errors, abstentions, cache hits and budget refusals.
 *
 * Decisions:
 * - Computed from `agent_logs` (one row per model call, written by the LLM client) with one grouped
 *   query, not kept in a table of its own: a second table would be a second truth that could drift from
 *   the log (a crashed process between the two writes), and the log is indexed by time, so 30 days are
 *   one range scan.
 * - `calls` counts what reached the provider (cache hits and refusals are counted apart); latency is
 *   over those calls only, since a cache hit's few milliseconds would flatter the model's latency. p95
 *   is PostgreSQL's percentile_cont(0.95) (interpolated), on PGlite and the server alike.
 * - Days are UTC calendar days, like the budgets; every day of the window is present, with zeros when
 *   nothing ran, so a chart's x axis is the calendar and not the activity.
 * - Each day carries the dollar budget that was in force that day (from the budget ledger), or null.
 */
import { and, gte, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { agentLogs, tokenLedger } from '../db/schema';

const DAY_MS = 86_400_000;

export interface AgentDayMetrics {
  agent: string;
  calls: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  latencyMeanMs: number | null;
  latencyP95Ms: number | null;
  errors: number;
  abstentions: number;
  cacheHits: number;
  refused: number;
}

export interface DayMetrics {
  day: string;
  /** The dollar budget in force that day (DAILY_USD_BUDGET when the ledger row was written), or null. */
  usdBudget: number | null;
  costUsd: number;
  calls: number;
  tokensIn: number;
  tokensOut: number;
  byAgent: AgentDayMetrics[];
}

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The last `days` UTC days up to and including the day of `nowMs`, oldest first. */
export async function dailyMetrics(db: DbOrTx, opts: { days: number; nowMs: number }): Promise<DayMetrics[]> {
  const today = Date.parse(`${dayOf(opts.nowMs)}T00:00:00.000Z`);
  const from = new Date(today - (opts.days - 1) * DAY_MS);
  const to = new Date(today + DAY_MS);
  const reached = sql`not ${agentLogs.cacheHit} and ${agentLogs.status} <> 'budget_exceeded'`;
  const rows = await db
    .select({
      day: sql<string>`to_char(${agentLogs.timestamp} at time zone 'UTC', 'YYYY-MM-DD')`,
      agent: agentLogs.agent,
      calls: sql<number>`(count(*) filter (where ${reached}))::int`,
      tokensIn: sql<number>`coalesce(sum(${agentLogs.tokensIn}), 0)::int`,
      tokensOut: sql<number>`coalesce(sum(${agentLogs.tokensOut}), 0)::int`,
      costUsd: sql<string>`coalesce(sum(${agentLogs.costUsd}), 0)::text`,
      latencyMean: sql<string | null>`(avg(${agentLogs.latencyMs}) filter (where ${reached}))::text`,
      latencyP95: sql<
        string | null
      >`(percentile_cont(0.95) within group (order by ${agentLogs.latencyMs}) filter (where ${reached}))::text`,
      errors: sql<number>`(count(*) filter (where ${agentLogs.status} = 'error'))::int`,
      abstentions: sql<number>`(count(*) filter (where ${agentLogs.status} = 'abstained'))::int`,
      cacheHits: sql<number>`(count(*) filter (where ${agentLogs.cacheHit}))::int`,
      refused: sql<number>`(count(*) filter (where ${agentLogs.status} = 'budget_exceeded'))::int`,
    })
    .from(agentLogs)
    .where(and(gte(agentLogs.timestamp, from), lt(agentLogs.timestamp, to)))
    .groupBy(sql`1`, agentLogs.agent)
    .orderBy(sql`1`, agentLogs.agent);
  const ledger = await db
    .select({ day: tokenLedger.day, usdBudget: tokenLedger.usdBudget })
    .from(tokenLedger)
    .where(and(gte(tokenLedger.day, dayOf(from.getTime())), lt(tokenLedger.day, dayOf(to.getTime()))));
  const budgets = new Map(ledger.map((l) => [l.day, l.usdBudget === null ? null : Number(l.usdBudget)]));

  const days: DayMetrics[] = [];
  const byDay = new Map<string, DayMetrics>();
  for (let t = from.getTime(); t < to.getTime(); t += DAY_MS) {
    const d: DayMetrics = {
      day: dayOf(t),
      usdBudget: budgets.get(dayOf(t)) ?? null,
      costUsd: 0,
      calls: 0,
      tokensIn: 0,
      tokensOut: 0,
      byAgent: [],
    };
    days.push(d);
    byDay.set(d.day, d);
  }
  const num = (s: string | null) => (s === null ? null : Number(s));
  for (const r of rows) {
    const d = byDay.get(r.day);
    if (!d) continue;
    const m: AgentDayMetrics = {
      agent: r.agent,
      calls: Number(r.calls),
      tokensIn: Number(r.tokensIn),
      tokensOut: Number(r.tokensOut),
      costUsd: Number(r.costUsd),
      latencyMeanMs: num(r.latencyMean),
      latencyP95Ms: num(r.latencyP95),
      errors: Number(r.errors),
      abstentions: Number(r.abstentions),
      cacheHits: Number(r.cacheHits),
      refused: Number(r.refused),
    };
    d.byAgent.push(m);
    d.costUsd += m.costUsd;
    d.calls += m.calls;
    d.tokensIn += m.tokensIn;
    d.tokensOut += m.tokensOut;
  }
  return days;
}
