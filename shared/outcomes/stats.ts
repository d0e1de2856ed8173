/**
 * Aggregates over outcomes, and fractional Kelly sizing from them. Pure: no host, no database.
 *
 * - A win is an outcome with pnl > 0 (net of fees); a loss, pnl <= 0 (a break-even trip paid its fees
 *   for nothing, so it counts against the record).
 * - Payoff ratio R = mean pnl % of the wins / |mean pnl % of the losses|; null without a win or a loss.
 * - Researcher-confidence buckets: < 0.5, 0.5-0.6, 0.6-0.7, 0.7-0.8, >= 0.8, and "unknown".
 * - Kelly: f* = W - (1 - W) / R over the last `lookback` outcomes closed STRICTLY before the decision
 *   time, times `fraction`, floored at 0, as % of equity (the hard limits still cap it where the order
 *   is planned). With no loss in the sample, f* = W; with no win, 0. Under `minTrades` outcomes it does
 *   not apply and says so.
 */
import type { ExitReason } from './types';

export interface OutcomeLike {
  exitTime: number;
  pnlUsdt: number | string;
  pnlPct: number | string;
  exitReason: ExitReason;
  context?: {
    regime?: { detector?: { regime: string } | null } | null;
    researcher?: { confidence: number | null } | null;
  } | null;
}

export interface OutcomeStats {
  count: number;
  wins: number;
  losses: number;
  /** Fraction 0-1; null with no outcome. */
  winRate: number | null;
  meanPnlPct: number | null;
  payoffRatio: number | null;
  totalPnlUsdt: number;
}

export interface OutcomeAggregates extends OutcomeStats {
  byRegime: Record<string, OutcomeStats>;
  byExitReason: Record<string, OutcomeStats>;
  byConfidence: Record<string, OutcomeStats>;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

export function outcomeStats(list: readonly OutcomeLike[]): OutcomeStats {
  const winPcts: number[] = [];
  const lossPcts: number[] = [];
  let total = 0;
  for (const o of list) {
    const pnl = Number(o.pnlUsdt);
    total += pnl;
    (pnl > 0 ? winPcts : lossPcts).push(Number(o.pnlPct));
  }
  const all = [...winPcts, ...lossPcts];
  const w = mean(winPcts);
  const l = mean(lossPcts);
  return {
    count: list.length,
    wins: winPcts.length,
    losses: lossPcts.length,
    winRate: list.length ? winPcts.length / list.length : null,
    meanPnlPct: mean(all),
    payoffRatio: w !== null && l !== null && l < 0 ? w / -l : null,
    totalPnlUsdt: total,
  };
}

export const CONFIDENCE_BUCKETS = ['<0.5', '0.5-0.6', '0.6-0.7', '0.7-0.8', '>=0.8', 'unknown'] as const;

export function confidenceBucket(c: number | null | undefined): (typeof CONFIDENCE_BUCKETS)[number] {
  if (c === null || c === undefined || !Number.isFinite(c)) return 'unknown';
  if (c < 0.5) return '<0.5';
  if (c < 0.6) return '0.5-0.6';
  if (c < 0.7) return '0.6-0.7';
  if (c < 0.8) return '0.7-0.8';
  return '>=0.8';
}

function groupStats(
  list: readonly OutcomeLike[],
  key: (o: OutcomeLike) => string,
): Record<string, OutcomeStats> {
  const groups = new Map<string, OutcomeLike[]>();
  for (const o of list) {
    const k = key(o);
    const g = groups.get(k);
    if (g) g.push(o);
    else groups.set(k, [o]);
  }
  return Object.fromEntries([...groups.entries()].sort().map(([k, g]) => [k, outcomeStats(g)]));
}

export function aggregateOutcomes(list: readonly OutcomeLike[]): OutcomeAggregates {
  return {
    ...outcomeStats(list),
    byRegime: groupStats(list, (o) => o.context?.regime?.detector?.regime ?? 'unknown'),
    byExitReason: groupStats(list, (o) => o.exitReason),
    byConfidence: groupStats(list, (o) => confidenceBucket(o.context?.researcher?.confidence)),
  };
}

export interface KellyOptions {
  lookback: number;
  fraction: number;
  minTrades: number;
}

export interface KellyResult {
  applies: boolean;
  /** Outcomes used (closed strictly before the decision time, the last `lookback`). */
  n: number;
  winRate: number | null;
  payoffRatio: number | null;
  /** Full Kelly fraction f* (can be negative); null when it does not apply. */
  fStar: number | null;
  fraction: number;
  /** max(0, f* x fraction) x 100: % of equity; null when it does not apply. */
  sizePct: number | null;
  reason: string;
}

/**
 * Kelly from the outcomes closed strictly before `decisionTime` (any order in; the last `lookback` by
 * exit time are used).
 */
export function kellyAt(
  outcomes: readonly OutcomeLike[],
  decisionTime: number,
  opts: KellyOptions,
): KellyResult {
  const before = outcomes.filter((o) => o.exitTime < decisionTime);
  before.sort((a, b) => a.exitTime - b.exitTime);
  return kellyFrom(before.slice(-opts.lookback), opts);
}

/** Kelly from a sample already chosen (the caller guarantees walk-forward). */
export function kellyFrom(sample: readonly OutcomeLike[], opts: KellyOptions): KellyResult {
  const s = outcomeStats(sample);
  if (s.count < opts.minTrades) {
    return {
      applies: false,
      n: s.count,
      winRate: s.winRate,
      payoffRatio: s.payoffRatio,
      fStar: null,
      fraction: opts.fraction,
      sizePct: null,
      reason: `Kelly not applied: ${s.count} outcome(s) closed before the decision, fewer than KELLY_MIN_TRADES ${opts.minTrades}`,
    };
  }
  const w = s.winRate as number;
  const fStar = s.wins === 0 ? -1 : s.losses === 0 ? w : w - (1 - w) / (s.payoffRatio as number);
  const sizePct = Math.max(0, fStar * opts.fraction) * 100;
  const r = s.payoffRatio === null ? (s.losses === 0 ? 'no loss' : 'no win') : s.payoffRatio.toFixed(3);
  return {
    applies: true,
    n: s.count,
    winRate: w,
    payoffRatio: s.payoffRatio,
    fStar,
    fraction: opts.fraction,
    sizePct,
    reason: `Kelly over ${s.count} outcome(s): W ${w.toFixed(3)}, R ${r}, f* ${fStar.toFixed(4)} x ${opts.fraction} = ${sizePct.toFixed(2)}% of equity`,
  };
}
