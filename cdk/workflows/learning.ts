/**
 * The Learning state machine's definition: `{ cycleId }` (the API opened the cycle) or `{}` (the nightly
 * EventBridge Scheduler schedule: the first step opens a cycle on the live book) ->
 *   Summarize outcomes (code: the outcomes closed before the cycle's time, in the lookback window;
 *   too few ends the cycle `insufficient_history`) -> Learning agent (strong tier: patterns)
 *   -> Strategy builder (strong tier: proposals) -> Validate and apply (code: bounds, steps, evidence,
 *   the auto-apply policy, new strategy versions) -> Learning finished.
 * A model that abstains or a refused budget ends the cycle `failed` as a value (the step records it and
 * answers `ok: false`); a thrown error (after the LLM client's own retries) is caught -> Mark cycle failed -> Fail.
 *
 * The chain (Summarize .. Validate and apply) is built by `buildLearningChain`, so a walk-forward
 * Backtest can run the same states on its own cycles. Every Task calls the backtest-steps function
 * (same bundle, same deps) with `step` naming a LEARNING_STEPS entry; payloads are ids and flags.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { LearningStep } from '../../functions/workflow/steps';
import { invokeStep } from './agent-chain';

export const LEARNING_TIMEOUT = Duration.hours(1);

export interface LearningChainProps {
  fn: lambda.IFunction;
  taskTimeout: Duration;
  /** State names are unique per machine: a prefix keeps a backtest's learning states apart. */
  prefix?: string;
  /** Where every path ends (the cycle's status is in the database). */
  done: sfn.IChainable;
  /** Where the cycle id is in the state (default `$.cycleId`). */
  cycleIdPath?: string;
}

/** The chain, entered with the cycle id at `cycleIdPath` (default `$.cycleId`). */
export function buildLearningChain(scope: Construct, props: LearningChainProps) {
  const p = props.prefix ?? '';
  // No LLM retry here: the LLM client owns every retry of a model call (cdk/workflows/agent-chain.ts).
  const step = (id: string, s: LearningStep, resultPath: string) =>
    invokeStep(scope, `${p}${id}`, {
      fn: props.fn,
      step: s,
      fields: { cycleId: props.cycleIdPath ?? '$.cycleId' },
      resultPath,
      taskTimeout: props.taskTimeout,
    });
  const summarize = step('Summarize outcomes', 'summarizeLearningCycle', '$.summarized');
  const learning = step('Learning agent', 'runLearningAgent', '$.learning');
  const builder = step('Strategy builder', 'runStrategyBuilder', '$.builder');
  const apply = step('Validate and apply', 'validateAndApplyProposals', '$.applied');
  const ended = new sfn.Pass(scope, `${p}Cycle ended early`);
  ended.next(props.done);
  summarize.next(
    new sfn.Choice(scope, `${p}Enough history?`)
      .when(sfn.Condition.booleanEquals('$.summarized.enough', true), learning)
      .otherwise(ended),
  );
  learning.next(
    new sfn.Choice(scope, `${p}Patterns found?`)
      .when(sfn.Condition.booleanEquals('$.learning.ok', true), builder)
      .otherwise(ended),
  );
  builder.next(
    new sfn.Choice(scope, `${p}Proposals made?`)
      .when(sfn.Condition.booleanEquals('$.builder.ok', true), apply)
      .otherwise(ended),
  );
  apply.next(props.done);
  return { start: summarize, tasks: [summarize, learning, builder, apply] };
}

export interface LearningDefinitionProps {
  learningSteps: lambda.IFunction;
  taskTimeout: Duration;
}

export function learningDefinition(scope: Construct, props: LearningDefinitionProps): sfn.IChainable {
  const failed = new sfn.Fail(scope, 'Learning failed', {
    error: 'LearningFailed',
    causePath: sfn.JsonPath.format(
      '{}: {}',
      sfn.JsonPath.stringAt('$.error.Error'),
      sfn.JsonPath.stringAt('$.error.Cause'),
    ),
  });
  const markFailed = invokeStep(scope, 'Mark cycle failed', {
    fn: props.learningSteps,
    step: 'markLearningCycleFailed' satisfies LearningStep,
    fields: { cycleId: '$.cycleId', error: '$.error' },
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: props.taskTimeout,
  });
  markFailed.next(failed);
  const finished = new sfn.Pass(scope, 'Learning finished', {
    parameters: { cycleId: sfn.JsonPath.stringAt('$.cycleId') },
  });
  const chain = buildLearningChain(scope, {
    fn: props.learningSteps,
    taskTimeout: props.taskTimeout,
    done: finished,
  });
  for (const t of chain.tasks) t.addCatch(markFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  // The schedule starts the machine with no cycle: open one on the live book (trigger `schedule`).
  const open = invokeStep(scope, 'Open scheduled cycle', {
    fn: props.learningSteps,
    step: 'openLearningCycle' satisfies LearningStep,
    fields: { trigger: 'schedule' },
    resultPath: '$.opened',
    outputPath: '$.opened',
    taskTimeout: props.taskTimeout,
  });
  open.next(chain.start);
  return new sfn.Choice(scope, 'Cycle given?')
    .when(sfn.Condition.isPresent('$.cycleId'), chain.start)
    .otherwise(open);
}
