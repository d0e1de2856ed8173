/**
 * The learning cycle's input, computed in code: the outcomes closed in the lookback window reduced to
 * compact numbers (win rate, payoff, mean PnL %) by regime, sentiment bucket, researcher-confidence
 * bucket, consensus tally, exit reason and prompt version, how often the trader's stop-loss and
 * take-profit were hit, and for every bucket the number of trades behind it. The models see only this;
 * they never see raw trades, and the evidence a proposal rests on is counted here, not taken from them.
 * Pure: no host, no database.
 */
import { confidenceBucket, type OutcomeStats, outcomeStats } from '../outcomes/stats';
import type { TradeOutcome } from '../outcomes/types';

export { confidenceBucket };

/** The figures of one bucket: count, wins, win rate, mean PnL %, payoff ratio (shared/outcomes/stats.ts). */
export type BucketStats = OutcomeStats;

export const SUMMARY_DIMENSIONS = [
  'regime',
  'sentiment',
  'confidence',
  'consensus',
  'exitReason',
  'promptVersion',
] as const;
export type SummaryDimension = (typeof SUMMARY_DIMENSIONS)[number];

export interface LearningSummary {
  window: { from: number; to: number };
  trades: number;
  overall: BucketStats;
  /** dimension -> bucket -> figures. promptVersion buckets are `agent:version`. */
  by: Record<SummaryDimension, Record<string, BucketStats>>;
  stops: {
    /** Outcomes whose entry had a trader stop-loss / take-profit. */
    withStopLoss: number;
    withTakeProfit: number;
    stopLossHits: number;
    takeProfitHits: number;
    /** Hits over outcomes with one set; null when none was set. */
    stopLossHitRate: number | null;
    takeProfitHitRate: number | null;
  };
}

const r4 = (x: number | null) => (x === null ? null : Number(x.toFixed(4)));

/** outcomeStats, rounded for the prompt (4 decimals). */
export function stats(outcomes: readonly TradeOutcome[]): BucketStats {
  const s = outcomeStats(outcomes);
  return {
    ...s,
    winRate: r4(s.winRate),
    meanPnlPct: r4(s.meanPnlPct),
    payoffRatio: r4(s.payoffRatio),
    totalPnlUsdt: r4(s.totalPnlUsdt) ?? 0,
  };
}

/** Sentiment score (-1..1) buckets: negative below -0.2, positive above 0.2. */
export function sentimentBucket(score: number | null): string {
  if (score === null || !Number.isFinite(score)) return 'unknown';
  if (score < -0.2) return 'negative';
  if (score > 0.2) return 'positive';
  return 'neutral';
}

function regimeBucket(o: TradeOutcome): string {
  const r = o.context.regime;
  return r.detector?.regime ?? (r.technical ? r.technical.toUpperCase() : 'unknown');
}

function consensusBucket(o: TradeOutcome): string {
  const c = o.context.consensus;
  if (!c) return 'none';
  const agreeing = c.agreed ? c.votes.filter((v) => v.vote === c.agreed).length : 0;
  return `${c.agreed ?? 'no_consensus'} ${agreeing}/${c.voted}`;
}

function group(
  outcomes: readonly TradeOutcome[],
  keys: (o: TradeOutcome) => string[],
): Record<string, BucketStats> {
  const m = new Map<string, TradeOutcome[]>();
  for (const o of outcomes)
    for (const k of keys(o)) {
      const list = m.get(k);
      if (list) list.push(o);
      else m.set(k, [o]);
    }
  return Object.fromEntries([...m.keys()].sort().map((k) => [k, stats(m.get(k)!)]));
}

/**
 * Summarize the outcomes closed in [from, to). Outcomes outside the window are ignored here as well as
 * by the query that read them, so a summary can never include a trade closed at or after its time.
 */
export function summarizeOutcomes(
  all: readonly TradeOutcome[],
  window: { from: number; to: number },
): LearningSummary {
  const outcomes = all
    .filter((o) => o.exitTime >= window.from && o.exitTime < window.to)
    .sort((a, b) => a.exitTime - b.exitTime || a.id.localeCompare(b.id));
  const withStop = outcomes.filter((o) => o.context.trader.stopLossPct !== null);
  const withTarget = outcomes.filter((o) => o.context.trader.takeProfitPct !== null);
  const slHits = withStop.filter((o) => o.exitReason === 'stop_loss').length;
  const tpHits = withTarget.filter((o) => o.exitReason === 'take_profit').length;
  return {
    window,
    trades: outcomes.length,
    overall: stats(outcomes),
    by: {
      regime: group(outcomes, (o) => [regimeBucket(o)]),
      sentiment: group(outcomes, (o) => [sentimentBucket(o.context.sentimentScore)]),
      confidence: group(outcomes, (o) => [confidenceBucket(o.context.researcher.confidence)]),
      consensus: group(outcomes, (o) => [consensusBucket(o)]),
      exitReason: group(outcomes, (o) => [o.exitReason]),
      promptVersion: group(outcomes, (o) =>
        Object.entries(o.context.promptVersions).map(([agent, v]) => `${agent}:${v}`),
      ),
    },
    stops: {
      withStopLoss: withStop.length,
      withTakeProfit: withTarget.length,
      stopLossHits: slHits,
      takeProfitHits: tpHits,
      stopLossHitRate: withStop.length ? r4(slHits / withStop.length) : null,
      takeProfitHitRate: withTarget.length ? r4(tpHits / withTarget.length) : null,
    },
  };
}

/** The trades behind one bucket of the summary (0 when the bucket does not exist). */
export function evidenceOf(summary: LearningSummary, dimension: string, bucket: string): number {
  if (dimension === 'overall') return summary.overall.count;
  const d = summary.by[dimension as SummaryDimension];
  return d?.[bucket]?.count ?? 0;
}
