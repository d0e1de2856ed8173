/**
 * The backtest's rows: loading it, counting its progress, marking it failed, and reading its recorded
 * decisions in the shape the simulator takes. SQL lives here, not in the steps.
 *
 * - Progress = decision points whose decision reached a final status. It is recounted from the
 *   decisions table in ONE UPDATE (atomic, and idempotent under Step Functions retries), and read the
 *   same way, so it is right whether the chain ran as states or in-process.
 */
import { eq, inArray, sql } from 'drizzle-orm';
import type { SimulationResult, TimedDecision } from '../../backtest';
import { resultRows } from '../../db/rows';
import { agentLogs, backtests, decisions, runs, trades } from '../../db/schema';
import { AppError } from '../../util/errors';
import type { PipelineDeps } from '../deps';

export async function loadRow(deps: PipelineDeps, backtestId: string) {
  const [row] = await deps.db.select().from(backtests).where(eq(backtests.id, backtestId));
  if (!row)
    throw new AppError('NOT_FOUND', `backtest ${backtestId} not found`, { field: 'id', id: backtestId });
  return row;
}

/** Decision statuses that count as a failed decision (the firm could not decide). */
export const FAILED_DECISION_STATUSES = ['failed', 'budget_exceeded'] as const;

/**
 * Recount finished decision points into progress_done (one atomic, idempotent UPDATE). Given the
 * decision a decision point just finished, also say whether it failed: the backtest machine fails that
 * point's child execution, which the decision Map counts against its tolerated failure percentage.
 */
export async function recordBacktestProgress(
  deps: PipelineDeps,
  { backtestId, decisionId }: { backtestId: string; decisionId?: string },
): Promise<{ decisionFailed: boolean }> {
  const recount = sql`
    UPDATE backtests SET progress_done = (
      SELECT count(*)::int FROM decisions
      WHERE backtest_id = ${backtestId} AND status IN ('completed', 'no_trade', 'budget_exceeded', 'failed')
    ) WHERE id = ${backtestId}`;
  if (!decisionId) {
    await deps.db.execute(recount);
    return { decisionFailed: false };
  }
  // One statement: the recount, and the decision's status beside it.
  const result = await deps.db.execute(
    sql`WITH recount AS (${recount}) SELECT status FROM decisions WHERE id = ${decisionId}`,
  );
  const status = String(resultRows(result)[0]?.status ?? '');
  return { decisionFailed: (FAILED_DECISION_STATUSES as readonly string[]).includes(status) };
}

export async function markBacktestFailed(
  deps: PipelineDeps,
  { backtestId, error }: { backtestId: string; error: { code: string; message: string } },
): Promise<{ backtestId: string; status: 'failed' }> {
  await recordBacktestProgress(deps, { backtestId });
  const [row] = await deps.db
    .update(backtests)
    .set({
      status: 'failed',
      error: { code: error.code, message: error.message },
      finishedAt: new Date(deps.now()),
    })
    .where(eq(backtests.id, backtestId))
    .returning({ createdAt: backtests.createdAt, decisions: backtests.progressDone });
  if (row)
    deps.metrics?.backtestFinished({
      status: 'failed',
      durationMs: Math.max(0, deps.now() - row.createdAt.getTime()),
      decisions: row.decisions,
    });
  return { backtestId, status: 'failed' };
}
export interface BacktestDecisionRow {
  id: string;
  decisionTime: number;
  status: string;
  error: { code: string; message: string } | null;
  action: 'BUY' | 'SELL' | 'HOLD' | null;
  sizePct: number | null;
  stopLossPct: number | null;
  takeProfitPct: number | null;
  /** KELLY_FRACTION of the strategy version the decision ran under (null: the run's sizing setting). */
  kellyFraction: number | null;
}

/**
 * The recorded decisions of a backtest, in time order, with a BUY's stop/take-profit: the trader's, or
 * where it gave none the default of the decision's strategy version (recorded on the final decision).
 */
export async function loadBacktestDecisions(
  deps: PipelineDeps,
  backtestId: string,
): Promise<BacktestDecisionRow[]> {
  const rows = await deps.db
    .select({
      id: decisions.id,
      decisionTime: decisions.decisionTime,
      status: decisions.status,
      error: decisions.error,
      action: decisions.finalAction,
      sizePct: decisions.finalSizePct,
      outputs: decisions.outputs,
      execution: decisions.execution,
      snapshot: decisions.snapshot,
    })
    .from(decisions)
    .where(eq(decisions.backtestId, backtestId))
    // Two rows for one point: a retried point, or a late writer of a stopped run (a child execution whose
    // step was still running when the Map Run stopped, inserting after the NOT_RUN row). The ended one
    // counts (then the earliest): a late row still running is not the point's decision.
    .orderBy(
      decisions.decisionTime,
      sql`(${decisions.status} IN ('completed', 'no_trade', 'budget_exceeded', 'failed')) DESC`,
      decisions.createdAt,
      decisions.id,
    );
  const seen = new Set<number>();
  const out: BacktestDecisionRow[] = [];
  for (const r of rows) {
    const t = r.decisionTime.getTime();
    if (seen.has(t)) continue; // a second row for the point (see the order above)
    seen.add(t);
    const trader = (r.outputs as Record<string, { output?: Record<string, unknown> | null } | undefined>)
      ?.trader?.output;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);
    const stops = (r.execution as { final?: { stops?: Record<string, unknown> } | null } | null)?.final
      ?.stops;
    const fraction = (r.snapshot as { strategy?: { params?: { kellyFraction?: unknown } } } | null)?.strategy
      ?.params?.kellyFraction;
    out.push({
      id: r.id,
      decisionTime: t,
      status: r.status,
      error: (r.error as { code: string; message: string } | null) ?? null,
      action: r.action,
      sizePct: r.sizePct === null ? null : Number(r.sizePct),
      stopLossPct: r.action === 'BUY' ? (num(trader?.stop_loss_pct) ?? num(stops?.stopLossPct)) : null,
      takeProfitPct: r.action === 'BUY' ? (num(trader?.take_profit_pct) ?? num(stops?.takeProfitPct)) : null,
      kellyFraction: typeof fraction === 'number' && fraction >= 0 && fraction <= 1 ? fraction : null,
    });
  }
  return out;
}

/**
 * Decisions as the simulator takes them. A decision without a final action (failed: the firm made no
 * choice) is a no-op at its bar, which the simulator spells HOLD of size 0: the position simply stays,
 * and the equity curve still starts at the first decision point. This is mechanics only: the result
 * lists that decision as `failed`, never as a HOLD, and its metrics say how many failed.
 */
export function toTimedDecisions(rows: readonly BacktestDecisionRow[]): TimedDecision[] {
  return rows.map((r) => ({
    decisionTime: r.decisionTime,
    action: r.action ?? 'HOLD',
    sizePct: r.action === null || r.action === 'HOLD' ? 0 : Math.min(100, Math.max(0, r.sizePct ?? 0)),
    ...(r.stopLossPct !== null ? { stopLossPct: r.stopLossPct } : {}),
    ...(r.takeProfitPct !== null ? { takeProfitPct: r.takeProfitPct } : {}),
    ...(r.kellyFraction !== null && r.kellyFraction !== undefined ? { kellyFraction: r.kellyFraction } : {}),
    decisionId: r.id,
  }));
}

type Tx = Parameters<Parameters<PipelineDeps['db']['transaction']>[0]>[0];

/**
 * Replace a backtest's own book (ledger, cash, positions) with a simulation's fills and rejections.
 * A rerun of the simulate step replaces the ledger instead of appending to it.
 */
export async function writeSimulatedBook(
  tx: Tx,
  { runId, symbol, result, now }: { runId: string; symbol: string; result: SimulationResult; now: number },
) {
  const baseAsset = symbol.replace(/USDT$/, '');
  await tx.delete(trades).where(eq(trades.runId, runId));
  let seq = 0;
  const lines = [
    ...result.fills.map((f) => ({ kind: 'fill' as const, at: f.executedAt, f })),
    ...result.rejections.map((r) => ({ kind: 'reject' as const, at: r.executedAt, r })),
  ].sort((a, b) => a.at - b.at);
  const values = lines.map((l) =>
    l.kind === 'fill'
      ? {
          runId,
          seq: ++seq,
          decisionId: l.f.decisionId,
          symbol,
          side: l.f.side,
          status: 'filled' as const,
          reason: l.f.reason,
          quantity: l.f.quantity,
          price: l.f.price,
          referencePrice: l.f.referencePrice,
          notional: l.f.notional,
          fee: l.f.fee,
          feeAsset: l.f.feeAsset,
          feeUsd: l.f.feeUsd,
          realizedPnl: l.f.realizedPnl,
          clamps: l.f.clamps,
          executedAt: new Date(l.f.executedAt),
        }
      : {
          runId,
          seq: ++seq,
          decisionId: l.r.decisionId,
          symbol,
          side: l.r.side,
          status: 'rejected' as const,
          reason: l.r.reason,
          quantity: '0',
          price: '0',
          referencePrice: '0',
          notional: '0',
          fee: '0',
          feeAsset: l.r.side === 'BUY' ? baseAsset : 'USDT',
          feeUsd: '0',
          realizedPnl: '0',
          clamps: l.r.clamps,
          executedAt: new Date(l.r.executedAt),
        },
  );
  const inserted = values.length
    ? await tx.insert(trades).values(values).returning({ id: trades.id, seq: trades.seq })
    : [];
  const idBySeq = new Map(inserted.map((t) => [t.seq, t.id]));
  const book = result.finalBook;
  await tx
    .update(runs)
    .set({
      cash: book.cash,
      feesPaid: book.feesPaid,
      realizedPnl: book.realizedPnl,
      version: sql`${runs.version} + 1`,
      updatedAt: new Date(now),
    })
    .where(eq(runs.id, runId));
  await tx.execute(sql`DELETE FROM positions WHERE run_id = ${runId}`);
  for (const p of book.positions) {
    await tx.execute(sql`
      INSERT INTO positions (run_id, symbol, quantity, avg_entry_price, cost_basis, realized_pnl, fees_paid)
      VALUES (${runId}, ${p.symbol}, ${p.quantity}, ${p.avgEntryPrice}, ${p.costBasis}, ${p.realizedPnl}, ${p.feesPaid})`);
  }
  return { values, idBySeq };
}

export type BookLine = Awaited<ReturnType<typeof writeSimulatedBook>>['values'][number];

/** LLM spend of a run, from its decisions (tokens and cost) and the call log (calls, cache hits). */
export async function loadBacktestSpend(deps: PipelineDeps, backtestId: string, ids: readonly string[]) {
  // LLM spend of the run, from the decisions (tokens and cost) and the call log (calls, cache hits).
  const [spend] = await deps.db
    .select({
      tokensIn: sql<number>`coalesce(sum(${decisions.tokensIn}), 0)::int`,
      tokensOut: sql<number>`coalesce(sum(${decisions.tokensOut}), 0)::int`,
      costUsd: sql<string>`coalesce(sum(${decisions.costUsd}), 0)::text`,
      latencyMs: sql<number>`coalesce(sum(${decisions.latencyMs}), 0)::int`,
    })
    .from(decisions)
    .where(eq(decisions.backtestId, backtestId));
  const [calls] = ids.length
    ? await deps.db
        .select({
          calls: sql<number>`count(*)::int`,
          cacheHits: sql<number>`count(*) filter (where ${agentLogs.cacheHit})::int`,
          models: sql<string[]>`array_agg(distinct ${agentLogs.model})`,
        })
        .from(agentLogs)
        .where(inArray(agentLogs.decisionId, [...ids]))
    : [{ calls: 0, cacheHits: 0, models: [] as string[] }];
  return { spend, calls };
}
