/**
 * The names that tie the state machines (cdk/workflows) to their task handlers (functions/workflow) and
 * to the local runner. A Task's payload carries `step`: the Lambda (or the local dispatcher) routes on it.
 * Pure constants: cdk/ imports this file without pulling in the core.
 */
export const AGENT_STEPS = [
  'prepareSnapshot',
  'runAnalyst',
  'markAnalystUnavailable',
  'runResearcher',
  'runTrader',
  'runRisk',
  'finalizeDecision',
  'recordNoTrade',
  'recordSnapshotFailure',
] as const;
export type AgentStep = (typeof AGENT_STEPS)[number];

export const BACKTEST_STEPS = [
  'planBacktest',
  'startBacktestDecision',
  'recordBacktestProgress',
  'simulateBacktest',
  'markBacktestFailed',
  'endBacktestSegment',
] as const;
export type BacktestStep = (typeof BACKTEST_STEPS)[number];

/** The study machine's steps, served by the backtest-steps function too (same deps, same bundle). */
export const STUDY_STEPS = [
  'planStudy',
  'startStudyCell',
  'recordStudyCell',
  'reportStudy',
  'markStudyFailed',
] as const;
export type StudyStep = (typeof STUDY_STEPS)[number];

/**
 * The Learning state machine's steps (cdk/workflows/learning.ts), served by the backtest-steps function
 * too: a walk-forward backtest runs the same ones on its own cycles.
 */
export const LEARNING_STEPS = [
  'openLearningCycle',
  'summarizeLearningCycle',
  'runLearningAgent',
  'runStrategyBuilder',
  'validateAndApplyProposals',
  'markLearningCycleFailed',
] as const;
export type LearningStep = (typeof LEARNING_STEPS)[number];

export const ANALYSTS = ['technical', 'sentiment', 'tokenomics'] as const;
export type AnalystName = (typeof ANALYSTS)[number];

/** Lambda service hiccups worth a retry before a Catch turns them into "unavailable" or "no trade". */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;
