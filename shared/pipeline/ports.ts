/**
 * The workflow port: how the API starts the analysis and backtest state machines without knowing the
 * host. Adapters (functions/): local (aws-local-stepfunctions running the synthesized definitions)
 * and AWS (Step Functions StartExecution).
 */
export interface WorkflowStarter {
  startAnalysis(i: { decisionId: string }): Promise<{ executionId: string }>;
  startBacktest(i: { backtestId: string }): Promise<{ executionId: string }>;
  /** The Study state machine (optional: a host without it answers 501 on POST /studies). */
  startStudy?(i: { studyId: string }): Promise<{ executionId: string }>;
  /** The Learning state machine (optional: a host without it answers 501 on POST /learning/cycles). */
  startLearning?(i: { cycleId: string }): Promise<{ executionId: string }>;
}
