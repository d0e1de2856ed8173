/**
 * The task handlers' step functions, bound to the real pipeline: the agents' steps
 * (shared/pipeline/analysis.ts) and the backtest steps (shared/pipeline/backtest.ts). Nothing is wrapped
 * or reimplemented; tests pass other bindings only to inject faults they cannot otherwise cause.
 */

import {
  createLearningCycle,
  markLearningCycleFailed,
  runLearningAgent,
  runStrategyBuilder,
  summarizeLearningCycle,
  validateAndApplyProposals,
} from '../../shared/learning/cycle';
import {
  endBacktestSegment,
  markBacktestFailed,
  planBacktest,
  recordBacktestProgress,
  simulateBacktest,
  startBacktestDecision,
} from '../../shared/pipeline/backtest';
import {
  finalizeDecision,
  markAnalystUnavailable,
  prepareSnapshot,
  recordNoTrade,
  recordSnapshotFailure,
  runAnalyst,
  runResearcher,
  runRisk,
  runTrader,
} from '../../shared/pipeline/steps';
import {
  markStudyFailed,
  planStudy,
  recordStudyCell,
  reportStudy,
  startStudyCell,
} from '../../shared/studies';
import type { AgentStepFns, BacktestStepFns, LearningStepFns, StudyStepFns } from './tasks';

export const agentStepFns: AgentStepFns = {
  prepareSnapshot,
  runAnalyst,
  markAnalystUnavailable,
  runResearcher,
  runTrader,
  runRisk,
  finalizeDecision,
  recordNoTrade,
  recordSnapshotFailure,
};

export const backtestStepFns: BacktestStepFns = {
  planBacktest,
  endBacktestSegment,
  startBacktestDecision,
  recordBacktestProgress,
  simulateBacktest,
  markBacktestFailed,
};

export const studyStepFns: StudyStepFns = {
  planStudy,
  startStudyCell,
  recordStudyCell,
  reportStudy,
  markStudyFailed,
};

export const learningStepFns: LearningStepFns = {
  openLearningCycle: (deps, { trigger }) => createLearningCycle(deps, { trigger }),
  summarizeLearningCycle,
  runLearningAgent,
  runStrategyBuilder,
  validateAndApplyProposals,
  markLearningCycleFailed,
};
