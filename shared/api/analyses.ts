/**
 * `GET /analyses`: recent analyses (live and backtest_step; a backtest's own decisions are listed with
 * the backtest), newest first, keyset-paginated.
 *
 * One query per page: the list fields straight from the `decisions` row (the final decision is read
 * out of `execution` in SQL, so the agents' outputs never leave the database) and the call counts from
 * `agent_logs` as correlated subqueries on its decision index. The fields mean exactly what
 * `getAnalysis` (shared/pipeline/analysis.ts, through `analysisDto`) says they mean for one analysis; a test holds the two
 * to the same answer.
 */
import { and, desc, eq, lt, ne, or, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { decodeCursor, encodeCursor } from '../db/cursor';
import { agentLogs, decisions } from '../db/schema';
import { type AnalysisView, getAnalysis } from '../pipeline/analysis';
import type { PipelineDeps } from '../pipeline/deps';
import { type AnalysisDto, analysesListSchema, analysisSchema } from './contract';

/**
 * One decision in the API contract's shape: the pipeline's view with its times as ISO-8601 strings,
 * checked against the schema (a stored record that no longer fits it is an error here, not a surprise
 * in a client).
 */
export function analysisDto(v: AnalysisView): AnalysisDto {
  return analysisSchema.parse({
    ...v,
    decisionTime: v.decisionTime.toISOString(),
    createdAt: v.createdAt.toISOString(),
    completedAt: v.completedAt ? v.completedAt.toISOString() : null,
  });
}

export async function analysisResponse(deps: PipelineDeps, decisionId: string): Promise<AnalysisDto> {
  return analysisDto(await getAnalysis(deps, decisionId));
}

export type AnalysesPage = z.infer<typeof analysesListSchema>;
type Item = AnalysesPage['items'][number];

export async function listAnalyses(
  deps: Pick<PipelineDeps, 'db'>,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
): Promise<AnalysesPage> {
  const key = decodeCursor(cursor);
  const created = sql`date_trunc('milliseconds', ${decisions.createdAt})`;
  const rows = await deps.db
    .select({
      id: decisions.id,
      status: decisions.status,
      symbol: decisions.symbol,
      timeframe: decisions.timeframe,
      mode: decisions.mode,
      decisionTime: decisions.decisionTime,
      provider: decisions.provider,
      final: sql<Item['final']>`${decisions.execution} -> 'final'`,
      tokensIn: decisions.tokensIn,
      tokensOut: decisions.tokensOut,
      costUsd: decisions.costUsd,
      latencyMs: decisions.latencyMs,
      createdAt: decisions.createdAt,
      // Same definitions as getAnalysis: billed calls exclude cache hits and budget refusals. Written
      // with an alias because drizzle leaves column names unqualified in a single-table select, and an
      // unqualified "id" inside the subquery would mean agent_logs.id.
      calls:
        sql<number>`(select count(*) from ${agentLogs} l where l.decision_id = ${decisions}.id and not l.cache_hit and l.status <> 'budget_exceeded')`.mapWith(
          Number,
        ),
      cacheHits:
        sql<number>`(select count(*) from ${agentLogs} l where l.decision_id = ${decisions}.id and l.cache_hit)`.mapWith(
          Number,
        ),
    })
    .from(decisions)
    .where(
      and(
        ne(decisions.mode, 'backtest'),
        key
          ? or(
              lt(created, new Date(key.timeMs)),
              and(eq(created, new Date(key.timeMs)), lt(decisions.id, key.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(created), desc(decisions.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const items: Item[] = page.map((r) => ({
    id: r.id,
    status: r.status,
    symbol: r.symbol,
    timeframe: r.timeframe,
    mode: r.mode,
    decisionTime: r.decisionTime.toISOString(),
    provider: r.provider === 'openai' ? 'openai' : 'offline',
    final: r.final ?? null,
    cost: {
      calls: r.calls,
      cacheHits: r.cacheHits,
      tokensIn: r.tokensIn,
      tokensOut: r.tokensOut,
      costUsd: Number(r.costUsd),
      latencyMs: r.latencyMs,
    },
    createdAt: r.createdAt.toISOString(),
  }));
  const last = page.at(-1);
  return analysesListSchema.parse({
    items,
    nextCursor:
      rows.length > limit && last ? encodeCursor({ timeMs: last.createdAt.getTime(), id: last.id }) : null,
  });
}
