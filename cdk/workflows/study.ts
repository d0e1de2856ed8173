/**
 * The Study state machine's definition: `{ studyId }` ->
 *   Plan study -> Cells (a Map over `{ studyId, cellId }`:
 *     Start cell (a baseline runs here; a variant gets its backtest)
 *     -> Cell runs a backtest? -> Run cell backtest (a NESTED Backtest execution, startExecution.sync)
 *     -> Record cell (its summary from the finished backtest; a caught failure is recorded too))
 *   -> Report study -> Study succeeded. A failure of plan, the Map or report -> Mark study failed -> Fail.
 *
 * The cell Map, two ways, and only that differs (cdk/app.test.ts asserts it):
 * - on AWS (`cellItems` given): the project's DISTRIBUTED Map of child executions (`childExecutionsMap`
 *   in cdk/workflows/distributed-map.ts, the one the Backtest machine uses), reading its items from the
 *   JSON array the plan step wrote to S3 (`$.plan.itemsKey`) and writing its results to S3
 *   (ResultWriter), so a study is bounded by neither the 256 KiB state payload nor the 25,000-event
 *   history of one execution (each cell is a child execution, whose Backtest is a nested execution);
 * - locally: an INLINE Map over the same items, which the same plan step returns in `$.plan.items`
 *   (aws-local-stepfunctions cannot read S3). The nested Backtest Task is run by the local runner: it
 *   starts the local Backtest machine (the same definition) and waits for it, as `.sync` does.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { invokeStep } from './agent-chain';
import { childExecutionsMap } from './distributed-map';

export const STUDY_TIMEOUT = Duration.days(7);
/** Cells at once: each cell's backtest runs its own decision Map at BACKTEST_MAP_CONCURRENCY. */
export const STUDY_CELL_CONCURRENCY = 4;
/** The state names the local runner and the tests refer to. */
export const STUDY_STATES = {
  cells: 'Cells',
  runBacktest: 'Run cell backtest',
} as const;

export interface StudyDefinitionProps {
  /** Serves the study steps (the backtest-steps function). */
  studySteps: lambda.IFunction;
  backtest: sfn.IStateMachine;
  taskTimeout: Duration;
  /** On AWS: the bucket the plan step writes the cell items to (and the Map writes its results to). */
  cellItems?: s3.IBucket;
}

export function studyDefinition(scope: Construct, props: StudyDefinitionProps): sfn.IChainable {
  const step = (id: string, s: string, resultPath: string, extra: Record<string, string> = {}) =>
    invokeStep(scope, id, {
      fn: props.studySteps,
      step: s,
      fields: { studyId: '$.studyId', ...extra },
      resultPath,
      taskTimeout: props.taskTimeout,
    });
  const failed = new sfn.Fail(scope, 'Study failed', {
    error: 'StudyFailed',
    causePath: sfn.JsonPath.format(
      '{}: {}',
      sfn.JsonPath.stringAt('$.error.Error'),
      sfn.JsonPath.stringAt('$.error.Cause'),
    ),
  });
  const markFailed = step('Mark study failed', 'markStudyFailed', sfn.JsonPath.DISCARD, { error: '$.error' });
  markFailed.next(failed);

  // The step answers `{ items }` locally and `{ itemsKey }` (the items written to S3) where its function
  // is given the bucket: the definition is the same, the Map below reads whichever its host uses.
  const plan = step('Plan study', 'planStudy', '$.plan');

  // ---- one cell ----
  const startCell = invokeStep(scope, 'Start cell', {
    fn: props.studySteps,
    step: 'startStudyCell',
    fields: { studyId: '$.studyId', cellId: '$.cellId' },
    resultPath: '$.cell',
    taskTimeout: props.taskTimeout,
  });
  const recordCell = invokeStep(scope, 'Record cell', {
    fn: props.studySteps,
    step: 'recordStudyCell',
    fields: { studyId: '$.studyId', cellId: '$.cellId' },
    resultPath: '$.recorded',
    outputPath: '$.recorded',
    taskTimeout: props.taskTimeout,
  });
  const recordFailure = invokeStep(scope, 'Record cell failure', {
    fn: props.studySteps,
    step: 'recordStudyCell',
    fields: { studyId: '$.studyId', cellId: '$.cellId', error: '$.cellError' },
    resultPath: '$.recorded',
    outputPath: '$.recorded',
    taskTimeout: props.taskTimeout,
  });
  const runBacktest = new tasks.StepFunctionsStartExecution(scope, STUDY_STATES.runBacktest, {
    stateMachine: props.backtest,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    input: sfn.TaskInput.fromObject({ backtestId: sfn.JsonPath.stringAt('$.cell.backtestId') }),
    resultPath: sfn.JsonPath.DISCARD,
  });
  // A failed backtest is a failed cell, recorded from the backtest's own row; the study goes on.
  runBacktest.addCatch(recordCell, { errors: [sfn.Errors.ALL], resultPath: '$.cellError' });
  startCell.addCatch(recordFailure, { errors: [sfn.Errors.ALL], resultPath: '$.cellError' });
  const needsRun = new sfn.Choice(scope, 'Cell runs a backtest?')
    .when(sfn.Condition.booleanEquals('$.cell.run', true), runBacktest.next(recordCell))
    .otherwise(recordCell);
  const cell = startCell.next(needsRun);

  const itemSelector = {
    studyId: sfn.JsonPath.stringAt('$$.Map.Item.Value.studyId'),
    cellId: sfn.JsonPath.stringAt('$$.Map.Item.Value.cellId'),
  };
  // On AWS the project's child-executions Map (each cell a child execution), items and results in S3.
  const cells: sfn.Map | sfn.DistributedMap = props.cellItems
    ? childExecutionsMap(
        scope,
        STUDY_STATES.cells,
        {
          itemReader: new sfn.S3JsonItemReader({
            bucket: props.cellItems,
            key: sfn.JsonPath.stringAt('$.plan.itemsKey'),
          }),
          resultWriter: new sfn.ResultWriter({ bucket: props.cellItems, prefix: 'study-results' }),
          itemSelector,
          maxConcurrency: STUDY_CELL_CONCURRENCY,
          label: 'StudyCells',
        },
        cell,
      )
    : new sfn.Map(scope, STUDY_STATES.cells, {
        itemsPath: '$.plan.items',
        itemSelector,
        maxConcurrency: STUDY_CELL_CONCURRENCY,
        resultPath: sfn.JsonPath.DISCARD,
      }).itemProcessor(cell);

  const report = step('Report study', 'reportStudy', sfn.JsonPath.DISCARD);
  const succeeded = new sfn.Pass(scope, 'Study succeeded', {
    parameters: { studyId: sfn.JsonPath.stringAt('$.studyId'), status: 'succeeded' },
  });
  for (const s of [plan, cells, report])
    s.addCatch(markFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const dropPlan = new sfn.Pass(scope, 'Drop cells plan', {
    parameters: { studyId: sfn.JsonPath.stringAt('$.studyId') },
  });
  return plan.next(cells).next(dropPlan).next(report).next(succeeded);
}
