/**
 * Each strategy version's results since it was in force: the closed outcomes of a run whose entry
 * decision ran under that version (the outcome's entry context records the version id), reduced to the
 * same figures as everywhere else (shared/outcomes/stats.ts).
 */
import type { DbOrTx } from '../db/client';
import { listOutcomes } from '../outcomes/repository';
import { type OutcomeStats, outcomeStats } from '../outcomes/stats';
import type { TradeOutcome } from '../outcomes/types';

export type VersionResults = Pick<OutcomeStats, 'winRate' | 'meanPnlPct' | 'payoffRatio' | 'totalPnlUsdt'> & {
  trades: number;
};

/** Pure: outcomes grouped by the strategy version their entry ran under. */
export function resultsByVersion(outcomes: readonly TradeOutcome[]): Map<string, VersionResults> {
  const groups = new Map<string, TradeOutcome[]>();
  for (const o of outcomes) {
    const v = o.context.strategyVersion;
    if (!v) continue;
    const list = groups.get(v) ?? [];
    list.push(o);
    groups.set(v, list);
  }
  const out = new Map<string, VersionResults>();
  for (const [v, list] of groups) {
    const s = outcomeStats(list);
    out.set(v, {
      trades: s.count,
      winRate: s.winRate,
      meanPnlPct: s.meanPnlPct,
      payoffRatio: s.payoffRatio,
      totalPnlUsdt: s.totalPnlUsdt,
    });
  }
  return out;
}

export const NO_RESULTS: VersionResults = {
  trades: 0,
  winRate: null,
  meanPnlPct: null,
  payoffRatio: null,
  totalPnlUsdt: 0,
};

export async function strategyVersionResults(
  db: DbOrTx,
  runId: string,
): Promise<Map<string, VersionResults>> {
  return resultsByVersion(await listOutcomes(db, { runId }));
}
