/**
 * `GET /analyses`: recent analyses (live and backtest_step; a backtest's own decisions are listed with
 * the backtest), newest first, keyset-paginated. Each item is the pipeline's own AnalysisDto, picked
 * down to the list fields, so the list and the detail can never disagree.
 */
import { and, desc, eq, lt, ne, or, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { decisions } from '../db/schema';
import { getAnalysis } from '../pipeline/analysis';
import type { PipelineDeps } from '../pipeline/deps';
import type { analysesListSchema } from './contract';
import { decodeCursor, encodeCursor } from './cursor';

export type AnalysesPage = z.infer<typeof analysesListSchema>;

export async function listAnalyses(
  deps: PipelineDeps,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
): Promise<AnalysesPage> {
  const key = decodeCursor(cursor);
  const created = sql`date_trunc('milliseconds', ${decisions.createdAt})`;
  const rows = await deps.db
    .select({ id: decisions.id, createdAt: decisions.createdAt })
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
  const items = await Promise.all(
    page.map(async (r) => {
      const a = await getAnalysis(deps, r.id);
      return {
        id: a.id,
        status: a.status,
        symbol: a.symbol,
        timeframe: a.timeframe,
        mode: a.mode,
        decisionTime: a.decisionTime,
        provider: a.provider,
        final: a.final,
        cost: a.cost,
        createdAt: a.createdAt,
      };
    }),
  );
  const last = page.at(-1);
  return {
    items,
    nextCursor:
      rows.length > limit && last ? encodeCursor({ timeMs: last.createdAt.getTime(), id: last.id }) : null,
  };
}
