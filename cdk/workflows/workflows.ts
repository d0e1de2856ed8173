/**
 * The state machines (Standard, JSONPath), defined once: Analysis, Backtest, Study (study.ts) and
 * Learning (learning.ts). The Api stack deploys them; the local
 * runner (functions/local/stepfunctions.ts) synthesizes this same construct in-process and executes the
 * resulting ASL with aws-local-stepfunctions. One definition, two hosts.
 *
 * Analysis: `{ decisionId }` -> the agent chain (agent-chain.ts). A researcher or trader failure ends in
 * "no trade" with the error recorded, and the execution succeeds.
 *
 * Backtest: `{ backtestId }` ->
 *   Plan backtest (items `{ backtestId, decisionTime }`, and the tolerated failure percentage) ->
 *   Decision points (a Distributed Map, distributed-map.ts: every item a STANDARD child execution of
 *   Start decision -> the same agent chain, whose finalize only records for backtest decisions ->
 *   Record progress -> Decision failed? (a failed decision fails its child))
 *   -> Simulate backtest (one deterministic sequential pass over the recorded decisions: fills, fees,
 *   limits, metrics) -> Persist (the result and the trades in the backtest's own book; done by the
 *   simulate step, which writes both in one transaction) -> Backtest finished (status succeeded, or
 *   failed past BACKTEST_MAX_FAILED_PCT with its partial result stored).
 *   Any failure of plan, the Map (past its tolerated failures, BACKTEST_MAX_FAILED_PCT too:
 *   States.ExceedToleratedFailureThreshold) or simulate is caught -> Mark backtest failed -> Fail.
 *   Walk-forward learning (`learning: { every }`): the Map runs one segment; End segment -> (a learning
 *   cycle due: the Learning states, prefixed `Walk-forward: `) -> More segments? -> Plan next segment ->
 *   the Map again. Without learning, one segment: End segment answers `last` and the run simulates.
 *
 * Limits (counted from these definitions by history.ts; figures in the README):
 * - Map items carry ids and timestamps only (~85 bytes each), never candles: a state's payload is capped
 *   at 256 KiB, so BACKTEST_MAX_DECISIONS stops at 2,000. The Map discards its results (ResultPath null)
 *   and each child ends with a one-flag output.
 * - One execution's history is capped at 25,000 events. An inline Map wrote every decision point's
 *   events into the backtest's history (81 on the longest path before any retry: about 300 decision
 *   points); under the Distributed Map the parent writes a constant few and each child has its own.
 * - Concurrency: the Map's MaxConcurrency is the CDK context `mapConcurrency` (locally
 *   BACKTEST_MAP_CONCURRENCY), up to 1,000; above the inline cap of 40 the stack requires a reserved
 *   concurrency on the agent-steps function (cdk/config.ts).
 */
import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledgeIamFindings } from '../nag';
import { buildAgentChain, invokeStep } from './agent-chain';
import { childExecutionsMap } from './distributed-map';
import { buildLearningChain, LEARNING_TIMEOUT, learningDefinition } from './learning';
import { STUDY_TIMEOUT, studyDefinition } from './study';

export const ANALYSIS_TIMEOUT = Duration.minutes(15);
export const BACKTEST_TIMEOUT = Duration.hours(12);
/** The error a decision point's child execution fails with when its decision failed. */
export const DECISION_FAILED_ERROR = 'DecisionFailed';

export interface WorkflowsProps {
  /** Serves every step of the agent chain (both machines invoke it). */
  agentSteps: lambda.IFunction;
  /** Serves plan, start-decision, simulate and mark-failed (only the backtest machine invokes it). */
  backtestSteps: lambda.IFunction;
  agentTaskTimeout: Duration;
  backtestTaskTimeout: Duration;
  mapConcurrency: number;
  logRetention: logs.RetentionDays;
  tracing: boolean;
  /**
   * Where the study machine's cell items go (AWS): given, the cell Map is a Distributed Map reading them
   * from S3; absent (the local host), an inline Map over the same items (cdk/workflows/study.ts).
   */
  studyCellItems?: s3.IBucket;
}

export class Workflows extends Construct {
  readonly analysis: sfn.StateMachine;
  readonly backtest: sfn.StateMachine;
  readonly study: sfn.StateMachine;
  readonly learning: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: WorkflowsProps) {
    super(scope, id);
    this.analysis = this.machine(
      'Analysis',
      analysisDefinition(new Construct(this, 'AnalysisStates'), props),
      {
        timeout: ANALYSIS_TIMEOUT,
        comment: 'One decision: snapshot, analysts in parallel, researcher, trader, risk, finalize.',
        invokes: [props.agentSteps],
        ...props,
      },
    );
    this.backtest = this.machine(
      'Backtest',
      backtestDefinition(new Construct(this, 'BacktestStates'), props),
      {
        timeout: BACKTEST_TIMEOUT,
        comment: 'A backtest: plan, the agent chain over every decision point (Map), simulate, persist.',
        invokes: [props.agentSteps, props.backtestSteps],
        ...props,
      },
    );
    this.study = this.machine(
      'Study',
      studyDefinition(new Construct(this, 'StudyStates'), {
        studySteps: props.backtestSteps,
        backtest: this.backtest,
        taskTimeout: props.backtestTaskTimeout,
        ...(props.studyCellItems ? { cellItems: props.studyCellItems } : {}),
      }),
      {
        timeout: STUDY_TIMEOUT,
        comment: 'A study: plan its cells, one Backtest execution per cell (Map), report.',
        invokes: [props.backtestSteps],
        ...props,
      },
    );
    this.learning = this.machine(
      'Learning',
      learningDefinition(new Construct(this, 'LearningStates'), {
        learningSteps: props.backtestSteps,
        taskTimeout: props.backtestTaskTimeout,
      }),
      {
        timeout: LEARNING_TIMEOUT,
        comment:
          'A learning cycle: summarize outcomes, learning agent, strategy builder, validate and apply.',
        invokes: [props.backtestSteps],
        ...props,
      },
    );
  }

  private machine(
    id: string,
    definition: sfn.IChainable,
    o: {
      timeout: Duration;
      comment: string;
      logRetention: logs.RetentionDays;
      tracing: boolean;
      invokes: lambda.IFunction[];
    },
  ): sfn.StateMachine {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      // The /aws/vendedlogs/ prefix keeps Step Functions' log delivery out of the account-wide CloudWatch
      // Logs resource policy (which has a small size limit).
      logGroupName: `/aws/vendedlogs/states/${Stack.of(this).stackName}-${id}`,
      retention: o.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const machine = new sfn.StateMachine(this, id, {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: o.timeout,
      comment: o.comment,
      tracingEnabled: o.tracing,
      // Payloads are ids, flags and small outcomes (no secrets, no prompts), so ALL with data is safe to log.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    Validations.of(machine).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'CloudWatch Logs delivery actions (and X-Ray writes) take no resource-level scope.',
      },
      // LambdaInvoke grants the function and its qualifiers (versions/aliases) of the SAME function only.
      ...functionQualifierFindings(o.invokes).map((id) => ({
        id,
        reason: 'Invoke on this machine’s own task function, any version or alias of it; no other function.',
      })),
      ...(o.tracing
        ? []
        : [
            {
              id: 'AwsSolutions-SF2',
              reason: 'X-Ray is a context switch (-c tracing=true); off, it costs nothing.',
            },
          ]),
    );
    // A Distributed Map's run: CDK grants StartExecution on this machine (its children) and
    // Describe/Stop/Redrive on this machine's executions (the children are named after the machine and
    // the Map's label); nothing on any other machine.
    const mapRunPolicy = machine.node.tryFindChild('DistributedMapPolicy');
    if (mapRunPolicy)
      acknowledgeIamFindings(
        mapRunPolicy,
        'Distributed Map run: Describe/Stop/Redrive of this machine’s own executions (its child executions); the ARN wildcard is the execution name, no other machine.',
      );
    return machine;
  }
}

/** The nag finding ids for `<fn.Arn>:*` on a machine's role, one per function it invokes. */
function functionQualifierFindings(fns: lambda.IFunction[]): string[] {
  return fns.map((fn) => {
    const cfn = fn.node.defaultChild as CfnElement;
    return `AwsSolutions-IAM5[Resource::<${Stack.of(fn).getLogicalId(cfn)}.Arn>:*]`;
  });
}

function analysisDefinition(scope: Construct, props: WorkflowsProps): sfn.IChainable {
  return buildAgentChain(scope, { agentSteps: props.agentSteps, taskTimeout: props.agentTaskTimeout }).start;
}

function backtestDefinition(scope: Construct, props: WorkflowsProps): sfn.IChainable {
  const step = (id: string, s: string, resultPath: string, extra: Record<string, string> = {}) =>
    invokeStep(scope, id, {
      fn: props.backtestSteps,
      step: s,
      fields: { backtestId: '$.backtestId', ...extra },
      resultPath,
      taskTimeout: props.backtestTaskTimeout,
    });

  const failed = new sfn.Fail(scope, 'Backtest failed', {
    error: 'BacktestFailed',
    causePath: sfn.JsonPath.format(
      '{}: {}',
      sfn.JsonPath.stringAt('$.error.Error'),
      sfn.JsonPath.stringAt('$.error.Cause'),
    ),
  });
  const markFailed = step('Mark backtest failed', 'markBacktestFailed', sfn.JsonPath.DISCARD, {
    error: '$.error',
  });
  markFailed.next(failed);

  const plan = step('Plan backtest', 'planBacktest', '$.plan');

  // Each child execution starts from `{ backtestId, decisionTime }` only; the decision row is created
  // first (answering `{ backtestId, decisionId }`), then the same agent chain runs.
  const startDecision = invokeStep(scope, 'Start decision', {
    fn: props.backtestSteps,
    step: 'startBacktestDecision',
    fields: { backtestId: '$.backtestId', decisionTime: '$.decisionTime' },
    // The answer replaces the state. Spelled as resultPath + outputPath rather than resultPath '$', which
    // aws-local-stepfunctions 3 does not apply (the state would keep the Map item instead).
    resultPath: '$.created',
    outputPath: '$.created',
    taskTimeout: props.backtestTaskTimeout,
  });
  // Every path of the chain ends by recounting the backtest's progress; the step also says whether THIS
  // decision failed (provider, Binance or budget error). A failed decision fails its child execution, so
  // the Map Run counts it against the tolerated failure percentage (BACKTEST_MAX_FAILED_PCT, carried by
  // the plan): past it the Map Run stops and the backtest is marked failed, resumable, instead of
  // spending the rest of the range. A child's output is that flag only.
  const recordProgress = invokeStep(scope, 'Record progress', {
    fn: props.backtestSteps,
    step: 'recordBacktestProgress',
    fields: { backtestId: '$.backtestId', decisionId: '$.decisionId' },
    resultPath: '$.progress',
    taskTimeout: props.backtestTaskTimeout,
  });
  const decisionFailed = new sfn.Fail(scope, 'Decision failed', {
    error: DECISION_FAILED_ERROR,
    cause: 'The decision failed; its error is recorded with the decision.',
  });
  const recorded = new sfn.Succeed(scope, 'Decision recorded', { outputPath: '$.progress' });
  recordProgress.next(
    new sfn.Choice(scope, 'Decision failed?')
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent('$.progress.decisionFailed'),
          sfn.Condition.booleanEquals('$.progress.decisionFailed', true),
        ),
        decisionFailed,
      )
      .otherwise(recorded),
  );
  const chain = buildAgentChain(scope, {
    agentSteps: props.agentSteps,
    taskTimeout: props.agentTaskTimeout,
    done: () => recordProgress,
  });
  startDecision.next(chain.start);

  const decisionPoints = childExecutionsMap(
    scope,
    'Decision points',
    {
      itemsPath: '$.plan.items',
      itemSelector: {
        backtestId: sfn.JsonPath.stringAt('$$.Map.Item.Value.backtestId'),
        decisionTime: sfn.JsonPath.stringAt('$$.Map.Item.Value.decisionTime'),
      },
      maxConcurrency: props.mapConcurrency,
      toleratedFailurePercentagePath: '$.plan.maxFailedPct',
      label: 'decisions',
      comment: 'One child execution per decision point (its own history); results stay in the database.',
    },
    startDecision,
  );

  const simulate = step('Simulate backtest', 'simulateBacktest', '$.simulated');
  // The run's status as simulate recorded it: succeeded, or failed past BACKTEST_MAX_FAILED_PCT (its
  // partial result stored and readable). Either way the execution itself succeeds.
  const succeeded = new sfn.Pass(scope, 'Backtest finished', {
    parameters: {
      backtestId: sfn.JsonPath.stringAt('$.backtestId'),
      status: sfn.JsonPath.stringAt('$.simulated.status'),
    },
  });

  // Walk-forward learning (`learning: { every }`): the plan's items are one segment; after it, End segment
  // opens a learning cycle (outcomes closed before the next segment's start only) when one is due, the
  // same Learning states run on it, and the next segment is planned. Without learning the plan holds
  // every decision point and End segment answers `last` at once.
  const endSegment = step('End segment', 'endBacktestSegment', '$.segmentEnd', { segment: '$.plan.segment' });
  const planNext = step('Plan next segment', 'planBacktest', '$.plan', { segment: '$.segmentEnd.next' });
  // The plan's item list is dropped before simulate so the rest of the run carries only the id.
  const dropPlan = new sfn.Pass(scope, 'Drop plan', {
    parameters: { backtestId: sfn.JsonPath.stringAt('$.backtestId') },
  });
  const moreSegments = new sfn.Choice(scope, 'More segments?')
    .when(sfn.Condition.booleanEquals('$.segmentEnd.last', false), planNext)
    .otherwise(dropPlan);
  const learning = buildLearningChain(scope, {
    fn: props.backtestSteps,
    taskTimeout: props.backtestTaskTimeout,
    prefix: 'Walk-forward: ',
    cycleIdPath: '$.segmentEnd.cycleId',
    done: moreSegments,
  });
  const learnNow = new sfn.Choice(scope, 'Learn before the next segment?')
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.segmentEnd.cycleId'),
        sfn.Condition.isString('$.segmentEnd.cycleId'),
      ),
      learning.start,
    )
    .otherwise(moreSegments);

  // Past BACKTEST_MAX_FAILED_PCT the Map Run stops early (no more spending into an outage), and the run
  // still goes to simulate (no further segment): it lists the points never reached as failed (NOT_RUN),
  // stores the partial result as not comparable, and ends `failed`, resumable (POST /backtests/{id}/resume).
  decisionPoints.addCatch(dropPlan, {
    errors: ['States.ExceedToleratedFailureThreshold'],
    resultPath: '$.stopped',
  });
  for (const s of [plan, decisionPoints, simulate, endSegment, planNext, ...learning.tasks]) {
    s.addCatch(markFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  }
  planNext.next(decisionPoints);
  dropPlan.next(simulate).next(succeeded);
  return plan.next(decisionPoints).next(endSegment).next(learnNow);
}
