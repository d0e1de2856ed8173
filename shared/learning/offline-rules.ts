/**
 * The offline provider's learning agents: deterministic rules over the same summary the models get, so
 * the loop runs end to end with no key. Every note says it is rules.
 *
 * learning: a bucket with at least minEvidence trades is a winning pattern when its win rate is >= 0.6
 * and its mean PnL > 0, a losing one when its win rate is <= 0.4 and its mean PnL < 0 (plus the overall
 * figures under the same test). Largest evidence first, at most 12.
 *
 * strategy_builder, in this order (one proposal per parameter):
 * 1. losing trades at a researcher confidence at or just above the gate (the bucket starting at the
 *    current researcherMinConfidence, rounded down to 0.1) -> raise researcherMinConfidence by 0.05;
 * 2. overall losing -> lower kellyFraction by 0.1 and maxPositionSizePct by 1 (LOW risk: both shrink);
 * 3. overall winning with payoff >= 1.5 -> raise kellyFraction by 0.05 (MEDIUM risk: it grows);
 * 4. stop-loss hit on more than half the trades that set one, and stop-loss exits losing -> widen
 *    defaultStopLossPct by 1 (MEDIUM risk);
 * 5. a losing regime -> a lesson for the researcher naming the regime and its figures (MEDIUM).
 * Confidence = min(95, 50 + 3 x evidence); priority HIGH when evidence >= 2 x minEvidence, else MEDIUM.
 */
import type {
  LearningInput,
  LearningOutput,
  Pattern,
  ProposalDraft,
  StrategyBuilderInput,
  StrategyBuilderOutput,
} from './agents';
import { type BucketStats, confidenceBucket, SUMMARY_DIMENSIONS } from './summary';

const MAX_PATTERNS = 12;
const r2 = (x: number) => Number(x.toFixed(2));

function classify(s: BucketStats, minEvidence: number): Pattern['kind'] | null {
  if (s.count < minEvidence || s.winRate === null || s.meanPnlPct === null) return null;
  if (s.winRate >= 0.6 && s.meanPnlPct > 0) return 'winning';
  if (s.winRate <= 0.4 && s.meanPnlPct < 0) return 'losing';
  return null;
}

const patternName = (dimension: string, bucket: string, kind: string) =>
  `${kind} ${dimension}${bucket ? ` ${bucket}` : ''}`;

export function learningRules(input: LearningInput): LearningOutput {
  const { summary, minEvidence } = input;
  const found: Pattern[] = [];
  const add = (dimension: string, bucket: string, s: BucketStats) => {
    const kind = classify(s, minEvidence);
    if (!kind) return;
    found.push({
      name: patternName(dimension, bucket, kind),
      kind,
      dimension,
      bucket,
      evidence: s.count,
      win_rate: s.winRate,
      mean_pnl_pct: s.meanPnlPct,
      note: `rules: ${s.count} trades, win rate ${r2((s.winRate ?? 0) * 100)}%, mean PnL ${r2(s.meanPnlPct ?? 0)}%`,
    });
  };
  add('overall', '', summary.overall);
  for (const d of SUMMARY_DIMENSIONS) for (const [b, s] of Object.entries(summary.by[d])) add(d, b, s);
  found.sort((a, b) => b.evidence - a.evidence || a.name.localeCompare(b.name));
  const patterns = found.slice(0, MAX_PATTERNS);
  return {
    patterns,
    summary_note: `rules (offline provider): ${summary.trades} trades, ${patterns.length} patterns with at least ${minEvidence} trades each`,
  };
}

export function strategyBuilderRules(input: StrategyBuilderInput): StrategyBuilderOutput {
  const { summary, patterns, minEvidence, strategy } = input;
  const params = strategy.params;
  const proposals: ProposalDraft[] = [];
  const confidence = (evidence: number) => Math.min(95, 50 + 3 * evidence);
  const priority = (evidence: number): ProposalDraft['priority'] =>
    evidence >= 2 * minEvidence ? 'HIGH' : 'MEDIUM';
  const find = (dimension: string, bucket: string, kind: Pattern['kind']) =>
    patterns.find((p) => p.dimension === dimension && p.bucket === bucket && p.kind === kind);
  const propose = (p: Omit<ProposalDraft, 'kind' | 'agent' | 'patterns'> & { pattern: Pattern }) => {
    const { pattern, ...rest } = p;
    proposals.push({ kind: 'parameter', agent: null, ...rest, patterns: [pattern.name] });
  };

  // 1. Losing trades just above the gate: raise the gate.
  const gateBucket = confidenceBucket(params.researcherMinConfidence);
  const nearGate = find('confidence', gateBucket, 'losing');
  if (nearGate && params.researcherMinConfidence + 0.05 <= 0.9)
    propose({
      parameter: 'researcherMinConfidence',
      new_value: String(r2(params.researcherMinConfidence + 0.05)),
      confidence: confidence(nearGate.evidence),
      risk_level: 'LOW',
      priority: priority(nearGate.evidence),
      reasoning: `rules: trades at researcher confidence ${gateBucket}, just above the gate ${params.researcherMinConfidence}, lost (${nearGate.evidence} trades, win rate ${r2((nearGate.win_rate ?? 0) * 100)}%)`,
      pattern: nearGate,
    });

  const overallLosing = find('overall', '', 'losing');
  const overallWinning = find('overall', '', 'winning');
  // 2. Losing overall: size down.
  if (overallLosing) {
    if (params.kellyFraction - 0.1 >= 0)
      propose({
        parameter: 'kellyFraction',
        new_value: String(r2(params.kellyFraction - 0.1)),
        confidence: confidence(overallLosing.evidence),
        risk_level: 'LOW',
        priority: priority(overallLosing.evidence),
        reasoning: `rules: the book lost overall (${overallLosing.evidence} trades, mean PnL ${overallLosing.mean_pnl_pct}%): smaller Kelly fraction`,
        pattern: overallLosing,
      });
    if (params.maxPositionSizePct - 1 >= 0.5)
      propose({
        parameter: 'maxPositionSizePct',
        new_value: String(r2(params.maxPositionSizePct - 1)),
        confidence: confidence(overallLosing.evidence),
        risk_level: 'LOW',
        priority: priority(overallLosing.evidence),
        reasoning: `rules: the book lost overall (${overallLosing.evidence} trades): a smaller position cap`,
        pattern: overallLosing,
      });
  } else if (
    overallWinning &&
    (summary.overall.payoffRatio ?? 0) >= 1.5 &&
    params.kellyFraction + 0.05 <= 1
  ) {
    // 3. Winning with a good payoff: size up a little (a riskier change: never auto-applied by these rules).
    propose({
      parameter: 'kellyFraction',
      new_value: String(r2(params.kellyFraction + 0.05)),
      confidence: confidence(overallWinning.evidence),
      risk_level: 'MEDIUM',
      priority: priority(overallWinning.evidence),
      reasoning: `rules: the book won (${overallWinning.evidence} trades, payoff ${summary.overall.payoffRatio}): a slightly larger Kelly fraction`,
      pattern: overallWinning,
    });
  }

  // 4. Stops hit too often and losing: widen the default stop.
  const stopLosing = find('exitReason', 'stop_loss', 'losing');
  if (stopLosing && (summary.stops.stopLossHitRate ?? 0) > 0.5 && params.defaultStopLossPct + 1 <= 20)
    propose({
      parameter: 'defaultStopLossPct',
      new_value: String(r2(params.defaultStopLossPct + 1)),
      confidence: confidence(stopLosing.evidence),
      risk_level: 'MEDIUM',
      priority: priority(stopLosing.evidence),
      reasoning: `rules: stop-losses hit on ${r2((summary.stops.stopLossHitRate ?? 0) * 100)}% of the trades that set one: a wider default stop`,
      pattern: stopLosing,
    });

  // 5. A losing regime: a lesson for the researcher.
  const regime = patterns.find((p) => p.dimension === 'regime' && p.kind === 'losing');
  if (regime)
    proposals.push({
      kind: 'lesson',
      parameter: null,
      agent: 'researcher',
      new_value: `Past trades in regime ${regime.bucket} lost (${regime.evidence} trades, win rate ${r2((regime.win_rate ?? 0) * 100)}%, mean PnL ${regime.mean_pnl_pct}%): ask for stronger evidence before a bullish thesis in ${regime.bucket}.`,
      confidence: confidence(regime.evidence),
      risk_level: 'MEDIUM',
      priority: 'MEDIUM',
      reasoning: `rules: a losing regime pattern (${regime.name})`,
      patterns: [regime.name],
    });
  return { proposals: proposals.slice(0, 6) };
}
