/**
 * Step Functions task handlers: thin. Each one parses its small input, calls the pipeline step of
 * shared/pipeline (agents) or the backtest step of shared/pipeline/backtest.ts with the deps of the
 * composition root, and answers a small JSON. Nothing of the pipeline is reimplemented here.
 *
 * One dispatcher per Lambda: the payload names its `step` (functions/workflow/steps.ts), and the same
 * dispatcher serves the Lambda entry (functions/aws/workflow-*.ts) and the local runner
 * (functions/local/stepfunctions.ts), so both hosts run the same code for every Task.
 *
 * Decisions:
 * - Answers stay tiny (ids, flags, an action): every step persists its own output in the database, and
 *   the Map in the backtest machine multiplies whatever an iteration carries.
 * - Errors thrown by a step keep their `name` (LlmRateLimited, LlmTimeout...), which is what the state
 *   machine's Retry and Catch match on. Bad input is an AppError VALIDATION_ERROR: never retried, caught.
 * - A caught error arrives as Step Functions' `{ Error, Cause }`; on AWS, Cause is the Lambda's JSON
 *   error report. `stepError` turns either into `{ code, message }` for the database.
 */
import { z } from 'zod';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import { AppError, isAppError } from '../../shared/util/errors';
import {
  AGENT_STEPS,
  type AgentStep,
  ANALYSTS,
  type AnalystName,
  BACKTEST_STEPS,
  type BacktestStep,
  LEARNING_STEPS,
  type LearningStep,
  STUDY_STEPS,
  type StudyStep,
} from './steps';

export type DepsProvider = () => Promise<PipelineDeps>;

/** Where a task reports what operators alert on (the Lambda entry passes pino; JSON lines in CloudWatch). */
export interface TaskLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/**
 * The daily token budget refusing a call is a VALUE in the pipeline (status `budget_exceeded`), never an
 * error, so nothing would show in the function's errors. This line is what the stack's metric filter
 * (and its BudgetExhausted alarm) counts.
 */
export const BUDGET_EXCEEDED_EVENT = 'budget_exceeded';
export type TaskHandler = (event: unknown) => Promise<Record<string, unknown>>;

/** A recorded error: what markAnalystUnavailable / recordNoTrade / recordSnapshotFailure / markBacktestFailed store. */
export interface StepError {
  code: string;
  message: string;
}

const MAX_ERROR_MESSAGE = 1000;

/** Step Functions' `{ Error, Cause }` (Cause is the Lambda's JSON error report on AWS) -> `{ code, message }`. */
export function stepError(raw: unknown): StepError {
  const r = (raw ?? {}) as { Error?: unknown; Cause?: unknown };
  const code = typeof r.Error === 'string' && r.Error ? r.Error : 'Unknown';
  let message = typeof r.Cause === 'string' ? r.Cause : r.Cause === undefined ? '' : JSON.stringify(r.Cause);
  if (message.startsWith('{')) {
    try {
      const report = JSON.parse(message) as { errorMessage?: unknown };
      if (typeof report.errorMessage === 'string') message = report.errorMessage;
    } catch {
      // not a Lambda error report: keep the text as it came
    }
  }
  return { code, message: (message || code).slice(0, MAX_ERROR_MESSAGE) };
}

const uuid = z.string().uuid('must be a UUID');
const decisionInput = z.object({ decisionId: uuid });
const analystInput = decisionInput.extend({ analyst: z.enum(ANALYSTS) });
const caughtInput = decisionInput.extend({ error: z.unknown() });
const backtestInput = z.object({ backtestId: uuid });
const decisionPointInput = backtestInput.extend({
  decisionTime: z.union([z.number().int(), z.string().min(1)]),
});
const backtestCaughtInput = backtestInput.extend({ error: z.unknown() });
const segmentInput = backtestInput.extend({ segment: z.number().int().min(0).optional() });
const progressInput = backtestInput.extend({ decisionId: uuid.optional() });
const studyInput = z.object({ studyId: uuid });
const cellInput = studyInput.extend({ cellId: uuid, error: z.unknown().optional() });
const studyCaughtInput = studyInput.extend({ error: z.unknown() });
const cycleInput = z.object({ cycleId: uuid });
const cycleCaughtInput = cycleInput.extend({ error: z.unknown() });
const openCycleInput = z.object({ trigger: z.enum(['schedule', 'api', 'cli']) });

/**
 * Step Functions matches Retry and Catch on the error's `name`. The LLM layer's retryable errors carry
 * their own names (LlmRateLimited, LlmTimeout); a plain AppError is named by its code (UPSTREAM_BINANCE,
 * VALIDATION_ERROR...) instead of the generic 'AppError', so the recorded error says what happened, as
 * the in-process runner records it.
 */
export function withMatchableName(e: unknown): unknown {
  if (isAppError(e) && e.name === 'AppError') e.name = e.code;
  return e;
}

function parse<S extends z.ZodType>(schema: S, input: unknown, step: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue?.path.join('.') || '(input)';
    throw new AppError('VALIDATION_ERROR', `${step}: ${field}: ${issue?.message ?? 'invalid'}`, {
      field,
      step,
    });
  }
  return r.data;
}

// ---- the step functions the handlers call (bound to shared/pipeline in bindings.ts) ----

export interface AgentStepFns {
  prepareSnapshot(deps: PipelineDeps, i: { decisionId: string }): Promise<{ ok?: boolean }>;
  runAnalyst(deps: PipelineDeps, i: { decisionId: string; analyst: AnalystName }): Promise<unknown>;
  markAnalystUnavailable(
    deps: PipelineDeps,
    i: { decisionId: string; analyst: AnalystName; error: StepError },
  ): Promise<unknown>;
  runResearcher(
    deps: PipelineDeps,
    i: { decisionId: string },
  ): Promise<{ gated: boolean; failed: boolean; noConsensus?: boolean }>;
  runTrader(deps: PipelineDeps, i: { decisionId: string }): Promise<{ failed: boolean; action?: unknown }>;
  runRisk(deps: PipelineDeps, i: { decisionId: string }): Promise<{ failed: boolean }>;
  finalizeDecision(
    deps: PipelineDeps,
    i: { decisionId: string },
  ): Promise<{ action?: unknown; sizePct?: unknown; status?: unknown }>;
  recordNoTrade(deps: PipelineDeps, i: { decisionId: string; error: StepError }): Promise<unknown>;
  recordSnapshotFailure(deps: PipelineDeps, i: { decisionId: string; error: StepError }): Promise<unknown>;
}

export interface BacktestStepFns {
  planBacktest(
    deps: PipelineDeps,
    i: { backtestId: string; segment?: number },
  ): Promise<{
    items: { backtestId: string; decisionTime: number | string }[];
    maxFailedPct: number;
    segment?: number;
  }>;
  /** Walk-forward learning: after a segment, open the learning cycle that runs before the next one. */
  endBacktestSegment(
    deps: PipelineDeps,
    i: { backtestId: string; segment: number },
  ): Promise<{ last: boolean; next: number | null; cycleId: string | null }>;
  startBacktestDecision(
    deps: PipelineDeps,
    i: { backtestId: string; decisionTime: number | string },
  ): Promise<{ decisionId: string }>;
  recordBacktestProgress(
    deps: PipelineDeps,
    i: { backtestId: string; decisionId?: string },
  ): Promise<{ decisionFailed: boolean }>;
  simulateBacktest(deps: PipelineDeps, i: { backtestId: string }): Promise<unknown>;
  markBacktestFailed(deps: PipelineDeps, i: { backtestId: string; error: StepError }): Promise<unknown>;
}

export interface StudyStepFns {
  planStudy(
    deps: PipelineDeps,
    i: { studyId: string },
  ): Promise<{ items: { studyId: string; cellId: string }[] }>;
  startStudyCell(
    deps: PipelineDeps,
    i: { studyId: string; cellId: string },
  ): Promise<{ run: boolean; backtestId: string | null }>;
  recordStudyCell(
    deps: PipelineDeps,
    i: { studyId: string; cellId: string; error?: StepError },
  ): Promise<{ status: string }>;
  reportStudy(deps: PipelineDeps, i: { studyId: string }): Promise<unknown>;
  markStudyFailed(deps: PipelineDeps, i: { studyId: string; error: StepError }): Promise<unknown>;
}

export interface LearningStepFns {
  openLearningCycle(
    deps: PipelineDeps,
    i: { trigger: 'schedule' | 'api' | 'cli' },
  ): Promise<{ cycleId: string }>;
  summarizeLearningCycle(deps: PipelineDeps, i: { cycleId: string }): Promise<{ enough: boolean }>;
  runLearningAgent(deps: PipelineDeps, i: { cycleId: string }): Promise<{ ok: boolean }>;
  runStrategyBuilder(deps: PipelineDeps, i: { cycleId: string }): Promise<{ ok: boolean }>;
  validateAndApplyProposals(
    deps: PipelineDeps,
    i: { cycleId: string },
  ): Promise<{ status: string; applied: number; pending: number; invalid: number }>;
  markLearningCycleFailed(deps: PipelineDeps, i: { cycleId: string; error: StepError }): Promise<unknown>;
}

/**
 * Where the plan step puts a study's cell items: returned in the state (the local inline Map), or
 * written to S3 by the AWS entry (the Distributed Map's item reader), answering the object key.
 */
export type CellItemsWriter = (
  studyId: string,
  items: { studyId: string; cellId: string }[],
) => Promise<string>;

type Routes<S extends string> = Record<
  S,
  (deps: PipelineDeps, event: unknown) => Promise<Record<string, unknown>>
>;

function dispatcher<S extends string>(
  kind: string,
  names: readonly S[],
  routes: Routes<S>,
  getDeps: DepsProvider,
): TaskHandler {
  return async (event) => {
    const step = (event as { step?: unknown } | null)?.step;
    if (typeof step !== 'string' || !(names as readonly string[]).includes(step))
      throw withMatchableName(
        new AppError('VALIDATION_ERROR', `${kind}: unknown step ${JSON.stringify(step)}`, {
          field: 'step',
          allowed: names,
        }),
      );
    const deps = await getDeps();
    try {
      return await routes[step as S](deps, event);
    } catch (e) {
      throw withMatchableName(e);
    }
  };
}

export function createAgentStepsHandler(
  getDeps: DepsProvider,
  fns: AgentStepFns,
  log?: TaskLogger,
): TaskHandler {
  const watchBudget = (step: string, decisionId: string, result: unknown) => {
    if ((result as { status?: unknown } | null)?.status === BUDGET_EXCEEDED_EVENT)
      log?.warn({ event: BUDGET_EXCEEDED_EVENT, step, decisionId }, 'the daily token budget refused a call');
  };
  const routes: Routes<AgentStep> = {
    prepareSnapshot: async (deps, e) => {
      const { decisionId } = parse(decisionInput, e, 'prepareSnapshot');
      const r = await fns.prepareSnapshot(deps, { decisionId });
      return { decisionId, ok: r.ok !== false };
    },
    runAnalyst: async (deps, e) => {
      const { decisionId, analyst } = parse(analystInput, e, 'runAnalyst');
      watchBudget('runAnalyst', decisionId, await fns.runAnalyst(deps, { decisionId, analyst }));
      return { decisionId, analyst };
    },
    markAnalystUnavailable: async (deps, e) => {
      const { decisionId, analyst, error } = parse(
        analystInput.extend({ error: z.unknown() }),
        e,
        'markAnalystUnavailable',
      );
      await fns.markAnalystUnavailable(deps, { decisionId, analyst, error: stepError(error) });
      return { decisionId, analyst, unavailable: true };
    },
    runResearcher: async (deps, e) => {
      const { decisionId } = parse(decisionInput, e, 'runResearcher');
      const r = await fns.runResearcher(deps, { decisionId });
      return {
        decisionId,
        gated: r.gated === true,
        noConsensus: r.noConsensus === true,
        failed: r.failed === true,
      };
    },
    runTrader: async (deps, e) => {
      const { decisionId } = parse(decisionInput, e, 'runTrader');
      const r = await fns.runTrader(deps, { decisionId });
      return {
        decisionId,
        failed: r.failed === true,
        ...(typeof r.action === 'string' ? { action: r.action } : {}),
      };
    },
    runRisk: async (deps, e) => {
      const { decisionId } = parse(decisionInput, e, 'runRisk');
      const r = await fns.runRisk(deps, { decisionId });
      return { decisionId, failed: r.failed === true };
    },
    finalizeDecision: async (deps, e) => {
      const { decisionId } = parse(decisionInput, e, 'finalizeDecision');
      const r = await fns.finalizeDecision(deps, { decisionId });
      watchBudget('finalizeDecision', decisionId, r);
      return { decisionId, action: r.action ?? null, sizePct: r.sizePct ?? null, status: r.status ?? null };
    },
    recordNoTrade: async (deps, e) => {
      const { decisionId, error } = parse(caughtInput, e, 'recordNoTrade');
      const recorded = stepError(error);
      await fns.recordNoTrade(deps, { decisionId, error: recorded });
      return { decisionId, action: null, status: 'failed', error: recorded.code };
    },
    recordSnapshotFailure: async (deps, e) => {
      const { decisionId, error } = parse(caughtInput, e, 'recordSnapshotFailure');
      const recorded = stepError(error);
      await fns.recordSnapshotFailure(deps, { decisionId, error: recorded });
      return { decisionId, status: 'failed', error: recorded.code };
    },
  };
  return dispatcher('agent steps', AGENT_STEPS, routes, getDeps);
}

export function createBacktestStepsHandler(
  getDeps: DepsProvider,
  fns: BacktestStepFns,
  study?: { fns: StudyStepFns; writeItems?: CellItemsWriter },
  learning?: LearningStepFns,
): TaskHandler {
  const learningRoutes: Partial<Routes<LearningStep>> = learning
    ? {
        openLearningCycle: async (deps, e) => {
          const { trigger } = parse(openCycleInput, e, 'openLearningCycle');
          const { cycleId } = await learning.openLearningCycle(deps, { trigger });
          return { cycleId };
        },
        summarizeLearningCycle: async (deps, e) => {
          const { cycleId } = parse(cycleInput, e, 'summarizeLearningCycle');
          const r = await learning.summarizeLearningCycle(deps, { cycleId });
          return { cycleId, enough: r.enough };
        },
        runLearningAgent: async (deps, e) => {
          const { cycleId } = parse(cycleInput, e, 'runLearningAgent');
          const r = await learning.runLearningAgent(deps, { cycleId });
          return { cycleId, ok: r.ok };
        },
        runStrategyBuilder: async (deps, e) => {
          const { cycleId } = parse(cycleInput, e, 'runStrategyBuilder');
          const r = await learning.runStrategyBuilder(deps, { cycleId });
          return { cycleId, ok: r.ok };
        },
        validateAndApplyProposals: async (deps, e) => {
          const { cycleId } = parse(cycleInput, e, 'validateAndApplyProposals');
          const r = await learning.validateAndApplyProposals(deps, { cycleId });
          return { cycleId, status: r.status, applied: r.applied, pending: r.pending, invalid: r.invalid };
        },
        markLearningCycleFailed: async (deps, e) => {
          const { cycleId, error } = parse(cycleCaughtInput, e, 'markLearningCycleFailed');
          const recorded = stepError(error);
          await learning.markLearningCycleFailed(deps, { cycleId, error: recorded });
          return { cycleId, status: 'failed', error: recorded.code };
        },
      }
    : {};
  const studyRoutes: Partial<Routes<StudyStep>> = study
    ? {
        planStudy: async (deps, e) => {
          const { studyId } = parse(studyInput, e, 'planStudy');
          const r = await study.fns.planStudy(deps, { studyId });
          const items = r.items.map((i) => ({ studyId: i.studyId, cellId: i.cellId }));
          if (study.writeItems)
            return { studyId, cells: items.length, itemsKey: await study.writeItems(studyId, items) };
          return { studyId, cells: items.length, items };
        },
        startStudyCell: async (deps, e) => {
          const { studyId, cellId } = parse(cellInput, e, 'startStudyCell');
          const r = await study.fns.startStudyCell(deps, { studyId, cellId });
          return { studyId, cellId, run: r.run, backtestId: r.backtestId };
        },
        recordStudyCell: async (deps, e) => {
          const { studyId, cellId, error } = parse(cellInput, e, 'recordStudyCell');
          const r = await study.fns.recordStudyCell(deps, {
            studyId,
            cellId,
            ...(error === undefined ? {} : { error: stepError(error) }),
          });
          return { studyId, cellId, status: r.status };
        },
        reportStudy: async (deps, e) => {
          const { studyId } = parse(studyInput, e, 'reportStudy');
          await study.fns.reportStudy(deps, { studyId });
          return { studyId, reported: true };
        },
        markStudyFailed: async (deps, e) => {
          const { studyId, error } = parse(studyCaughtInput, e, 'markStudyFailed');
          const recorded = stepError(error);
          await study.fns.markStudyFailed(deps, { studyId, error: recorded });
          return { studyId, status: 'failed', error: recorded.code };
        },
      }
    : {};
  const routes: Routes<BacktestStep> & Partial<Routes<StudyStep>> & Partial<Routes<LearningStep>> = {
    ...studyRoutes,
    ...learningRoutes,
    planBacktest: async (deps, e) => {
      const { backtestId, segment } = parse(segmentInput, e, 'planBacktest');
      const r = await fns.planBacktest(deps, { backtestId, ...(segment === undefined ? {} : { segment }) });
      // Items carry ids and times only, whatever else a plan knows: the Map multiplies them. The Map
      // reads its tolerated failure percentage from here too; `segment` is the walk-forward segment
      // these items are (0, the only one, without learning).
      return {
        backtestId,
        items: r.items.map((i) => ({ backtestId: i.backtestId, decisionTime: i.decisionTime })),
        maxFailedPct: r.maxFailedPct,
        segment: r.segment ?? segment ?? 0,
      };
    },
    endBacktestSegment: async (deps, e) => {
      const { backtestId, segment } = parse(segmentInput, e, 'endBacktestSegment');
      const r = await fns.endBacktestSegment(deps, { backtestId, segment: segment ?? 0 });
      return { backtestId, last: r.last, next: r.next, cycleId: r.cycleId };
    },
    startBacktestDecision: async (deps, e) => {
      const { backtestId, decisionTime } = parse(decisionPointInput, e, 'startBacktestDecision');
      const r = await fns.startBacktestDecision(deps, { backtestId, decisionTime });
      return { backtestId, decisionId: r.decisionId };
    },
    recordBacktestProgress: async (deps, e) => {
      const { backtestId, decisionId } = parse(progressInput, e, 'recordBacktestProgress');
      const r = await fns.recordBacktestProgress(deps, { backtestId, ...(decisionId ? { decisionId } : {}) });
      // The decision point's child execution fails on `decisionFailed` (the decision Map counts it).
      return { decisionFailed: r.decisionFailed };
    },
    simulateBacktest: async (deps, e) => {
      const { backtestId } = parse(backtestInput, e, 'simulateBacktest');
      const r = (await fns.simulateBacktest(deps, { backtestId })) as { status?: unknown } | undefined;
      // succeeded, or failed when more decisions failed than BACKTEST_MAX_FAILED_PCT allows.
      return { backtestId, simulated: true, status: r?.status === 'failed' ? 'failed' : 'succeeded' };
    },
    markBacktestFailed: async (deps, e) => {
      const { backtestId, error } = parse(backtestCaughtInput, e, 'markBacktestFailed');
      const recorded = stepError(error);
      await fns.markBacktestFailed(deps, { backtestId, error: recorded });
      return { backtestId, status: 'failed', error: recorded.code };
    },
  };
  const names: (BacktestStep | StudyStep | LearningStep)[] = [
    ...BACKTEST_STEPS,
    ...(study ? STUDY_STEPS : []),
    ...(learning ? LEARNING_STEPS : []),
  ];
  return dispatcher(
    'backtest steps',
    names,
    routes as Routes<BacktestStep | StudyStep | LearningStep>,
    getDeps,
  );
}
