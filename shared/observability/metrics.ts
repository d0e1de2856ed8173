/**
 * The operational metrics the core emits, through a port, so the core stays host-free: on AWS the
 * adapter writes them as CloudWatch embedded-metric-format lines with Powertools' Metrics
 * (functions/aws/observability.ts), locally they go nowhere (or to a recorder in tests).
 *
 * Each method is called once, where the thing happens:
 * - `decisionFinished`: a decision reached its terminal status (finalize, no-trade, snapshot failure),
 *   counted by status and class (decided, abstained, failed; shared/pipeline/decision-class.ts);
 * - `modelCall`: every agent call the LLM client logged (ok, repaired, abstained, error, budget refusal,
 *   cache hits included), with its tokens, dollars and latency, by agent and model;
 * - `budgetRefused`: the daily token or dollar budget refused a call (also a `modelCall` with status
 *   budget_exceeded);
 * - `backtestFinished` / `studyFinished`: a run ended (succeeded or failed), with its wall time from
 *   creation to the end.
 * A metrics adapter must never fail the work it measures: it swallows its own errors.
 */

export interface ModelCallMetric {
  agent: string;
  model: string;
  /** ok | repaired | abstained | error | budget_exceeded */
  status: string;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  latencyMs: number;
  cacheHit: boolean;
}

export interface MetricsPort {
  decisionFinished(e: { status: string; decisionClass: string | null; mode: string }): void;
  modelCall(e: ModelCallMetric): void;
  budgetRefused(e: { agent: string; model: string }): void;
  backtestFinished(e: { status: string; durationMs: number; decisions: number }): void;
  studyFinished(e: { status: string; durationMs: number; cells: number }): void;
}

/** The CloudWatch namespace when METRICS_NAMESPACE is not set (the stack's dashboard reads the same). */
export const DEFAULT_METRICS_NAMESPACE = 'AgentTradingFirm';

/**
 * Metric names and dimensions, held once: the AWS adapter writes them, the CDK dashboard reads them.
 */
export const METRIC = {
  decisions: 'Decisions',
  modelCalls: 'ModelCalls',
  modelErrors: 'ModelErrors',
  tokensIn: 'TokensIn',
  tokensOut: 'TokensOut',
  costUsd: 'CostUsd',
  modelLatency: 'ModelLatency',
  cacheHits: 'CacheHits',
  budgetRefusals: 'BudgetRefusals',
  backtestDuration: 'BacktestDuration',
  studyDuration: 'StudyDuration',
} as const;

export const NO_METRICS: MetricsPort = {
  decisionFinished() {},
  modelCall() {},
  budgetRefused() {},
  backtestFinished() {},
  studyFinished() {},
};

export type RecordedMetric =
  | { kind: 'decisionFinished'; status: string; decisionClass: string | null; mode: string }
  | ({ kind: 'modelCall' } & ModelCallMetric)
  | { kind: 'budgetRefused'; agent: string; model: string }
  | { kind: 'backtestFinished'; status: string; durationMs: number; decisions: number }
  | { kind: 'studyFinished'; status: string; durationMs: number; cells: number };

/** A port that keeps what it is told (tests; the local host's debug view). */
export function recordingMetrics(): MetricsPort & { events: RecordedMetric[] } {
  const events: RecordedMetric[] = [];
  return {
    events,
    decisionFinished: (e) => events.push({ kind: 'decisionFinished', ...e }),
    modelCall: (e) => events.push({ kind: 'modelCall', ...e }),
    budgetRefused: (e) => events.push({ kind: 'budgetRefused', ...e }),
    backtestFinished: (e) => events.push({ kind: 'backtestFinished', ...e }),
    studyFinished: (e) => events.push({ kind: 'studyFinished', ...e }),
  };
}
