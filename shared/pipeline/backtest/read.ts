/**
 * Reading backtests: one with its result, and the keyset-paged list, as the pipeline's view of them
 * (times as Dates). shared/api/backtests.ts maps a view to the API contract's shape.
 */
import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from '../../db/cursor';
import { backtests, decisions } from '../../db/schema';
import type { BacktestResultRecord, CostEstimate, WalkForwardLearningRecord } from '../../schemas/records';
import { TERMINAL_STATUSES } from '../analysis';
import { countClasses, decisionClassOf } from '../decision-class';
import type { PipelineDeps } from '../deps';
import { type BacktestSettingsJson, settingsOf } from './settings';
import { loadRow } from './store';
import { walkForwardOf } from './walk-forward';

/** A backtest as the pipeline reads it: its request, progress, estimate, result and error. */
export interface BacktestView {
  id: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  symbol: string;
  timeframe: string;
  startDate: Date;
  endDate: Date;
  maxDecisions: number;
  decisionInterval: number;
  provider: 'openai' | 'offline';
  /** The prompt version of each decision agent for all its decisions (null: made before the registry). */
  promptVersions: Record<string, string> | null;
  /** The versions the request pinned; the others were the active ones at creation. */
  pinnedPromptVersions: Record<string, string>;
  progress: { done: number; total: number };
  estimate: CostEstimate | null;
  result: BacktestResultRecord | null;
  /** Walk-forward learning: present on a backtest whose request asked for it. */
  learning?: WalkForwardLearningRecord;
  error: { code: string; message: string } | null;
  createdAt: Date;
  finishedAt: Date | null;
}

function toView(row: typeof backtests.$inferSelect, done: number, withResult: boolean): BacktestView {
  const s = settingsOf(row);
  const result =
    withResult && row.result ? (row.result as BacktestResultRecord & { tradeListHash?: string }) : null;
  if (result) {
    delete (result as { tradeListHash?: string }).tradeListHash;
    withDecisionClasses(result, row.status);
    // Stored before unfilled decisions were reported.
    for (const d of result.decisions) d.notFilled ??= null;
  }
  return {
    id: row.id,
    status: row.status,
    symbol: row.symbol,
    timeframe: row.timeframe,
    startDate: row.startDate,
    endDate: row.endDate,
    maxDecisions: row.maxDecisions,
    decisionInterval: row.decisionInterval,
    provider: s.provider,
    promptVersions: s.promptVersions ?? null,
    // A row written before requests were stored (or by hand) has no request: nothing was pinned.
    pinnedPromptVersions: (s.request as Partial<typeof s.request> | undefined)?.prompt_versions ?? {},
    progress: { done: Math.min(done, row.progressTotal), total: row.progressTotal },
    estimate: (row.estimate as CostEstimate | null) ?? null,
    result,
    error: (row.error as { code: string; message: string } | null) ?? null,
    createdAt: row.createdAt,
    finishedAt: row.finishedAt,
  };
}

/**
 * A result stored before the decision classes existed gets them from its decisions' statuses (they had
 * no error codes there: a legacy `no_trade` reads as abstained).
 */
function withDecisionClasses(result: BacktestResultRecord, status: string) {
  if (result.decisionCounts) return;
  for (const d of result.decisions) {
    d.class ??= decisionClassOf(d.status, d.error?.code);
    d.error ??= null;
  }
  result.decisionCounts = countClasses(result.decisions.map((d) => d.class));
  result.degraded = result.decisionCounts.failed > 0;
  result.firstError = null;
  result.comparable = status === 'succeeded';
}

async function finishedCounts(deps: PipelineDeps, ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await deps.db
    .select({ id: decisions.backtestId, n: sql<number>`count(distinct ${decisions.decisionTime})::int` })
    .from(decisions)
    .where(and(inArray(decisions.backtestId, ids), inArray(decisions.status, [...TERMINAL_STATUSES])))
    .groupBy(decisions.backtestId);
  return new Map(rows.map((r) => [r.id as string, Number(r.n)]));
}

export async function getBacktest(deps: PipelineDeps, id: string): Promise<BacktestView> {
  const row = await loadRow(deps, id);
  const done =
    row.status === 'succeeded' ? row.progressTotal : ((await finishedCounts(deps, [id])).get(id) ?? 0);
  const view = toView(row, Math.max(done, row.progressDone), true);
  // A row without a stored request (written before requests were stored, or by hand) has no learning.
  const request = settingsOf(row).request as Partial<BacktestSettingsJson['request']> | undefined;
  return request?.learning ? { ...view, learning: await walkForwardOf(deps, row) } : view;
}

export async function listBacktests(
  deps: PipelineDeps,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
): Promise<{ items: Omit<BacktestView, 'result'>[]; nextCursor: string | null }> {
  const key = decodeCursor(cursor);
  const created = sql`date_trunc('milliseconds', ${backtests.createdAt})`;
  const rows = await deps.db
    .select()
    .from(backtests)
    .where(
      key
        ? or(
            lt(created, new Date(key.timeMs)),
            and(eq(created, new Date(key.timeMs)), lt(backtests.id, key.id)),
          )
        : undefined,
    )
    .orderBy(desc(created), desc(backtests.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const counts = await finishedCounts(
    deps,
    page.filter((r) => r.status !== 'succeeded').map((r) => r.id),
  );
  const items = page.map((r) => {
    const done = r.status === 'succeeded' ? r.progressTotal : (counts.get(r.id) ?? 0);
    const { result: _omit, ...rest } = toView(r, Math.max(done, r.progressDone), false);
    return rest;
  });
  const last = page.at(-1);
  return {
    items,
    nextCursor:
      rows.length > limit && last ? encodeCursor({ timeMs: last.createdAt.getTime(), id: last.id }) : null,
  };
}
