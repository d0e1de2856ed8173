/**
 * A simulation in the stored result's shape: metrics, thinned curves, the assumptions line for the
 * decision spacing.
 */

import type { SimulationResult } from '../../backtest';
import type { MetricsRecord } from '../../schemas/records';
import { type BacktestSettingsJson, DAY_MS, iso } from './settings';
import type { BookLine } from './store';

/** The simulator's metrics as the stored result records them (fractions stay fractions; exposure in %). */
export function toMetricsRecord(r: SimulationResult): MetricsRecord {
  const m = r.metrics;
  const dd = m.maxDrawdown;
  const t = (ms: number | null) => (ms === null ? null : iso(ms));
  return {
    totalReturn: m.totalReturn,
    cagr: m.cagr,
    maxDrawdown: dd.value,
    maxDrawdownPeak: t(dd.peakTime),
    maxDrawdownTrough: t(dd.troughTime),
    maxDrawdownRecovery: t(dd.recoveryTime),
    maxDrawdownDurationDays: dd.durationMs === null ? null : dd.durationMs / DAY_MS,
    sharpeDaily: m.sharpeDaily,
    sharpePerBar: m.sharpePerBar,
    sortino: m.sortinoDaily,
    calmar: m.calmar,
    trades: m.fills,
    roundTrips: m.trades.count,
    winRate: m.trades.winRate,
    profitFactor: m.trades.profitFactor,
    avgWin: m.trades.avgWin,
    avgLoss: m.trades.avgLoss,
    bestTrade: m.trades.best,
    worstTrade: m.trades.worst,
    exposurePct: m.exposure * 100,
    feesPaid: m.feesPaid,
    turnover: m.turnover,
    finalEquity: m.finalEquity,
  };
}

export function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = (points.length - 1) / (max - 1);
  const out: T[] = [];
  for (let k = 0; k < max; k++) out.push(points[Math.round(k * step)] as T);
  return out;
}

/** Why the interval is what it is, for the assumptions: spread over the range, or as requested. */
export function spacingNote(s: BacktestSettingsJson): string {
  const spacing = s.decisionSpacing;
  if (!spacing) return '';
  if (spacing.source === 'requested') return ' (as requested)';
  return ` (spread evenly: max(1, floor(${spacing.barsInRange} bars in range / ${s.request.max_decisions} max decisions)))`;
}
/** The book's ledger lines as the result's trades. */
export function toResultTrades(
  runId: string,
  symbol: string,
  values: readonly BookLine[],
  idBySeq: ReadonlyMap<number, string>,
) {
  return values.map((v) => ({
    id: idBySeq.get(v.seq) ?? `${runId}:${v.seq}`,
    runId,
    decisionId: v.decisionId,
    symbol,
    side: v.side,
    status: v.status,
    reason: v.reason,
    quantity: Number(v.quantity),
    price: Number(v.price),
    notional: Number(v.notional),
    fee: Number(v.fee),
    feeAsset: v.feeAsset,
    feeUsd: Number(v.feeUsd),
    realizedPnl: Number(v.realizedPnl),
    clamps: v.clamps.map((c) => ({
      rule: String(c.rule),
      requested:
        (c as { requested?: unknown }).requested === undefined
          ? null
          : Number((c as { requested?: unknown }).requested),
      allowed:
        (c as { allowed?: unknown }).allowed === undefined
          ? null
          : Number((c as { allowed?: unknown }).allowed),
      ...(typeof (c as { unit?: unknown }).unit === 'string' ? { unit: (c as { unit: string }).unit } : {}),
      reason: String((c as { reason?: unknown }).reason ?? ''),
    })),
    executedAt: v.executedAt.toISOString(),
  }));
}
