/**
 * The agent chain, written ONCE and used by both state machines: the analysis machine runs it on one
 * decision, the backtest machine runs it inside its Map on every decision point.
 *
 *   Prepare snapshot -> Analysts (Parallel: technical | sentiment | tokenomics)
 *     -> Researcher -> Consensus reached? (consensus mode without quorum: Finalize as HOLD)
 *     -> Gate (gated: Finalize as HOLD) -> Trader -> Risk manager -> Finalize decision
 *
 * Decisions made here:
 * - JSONPath only. aws-local-stepfunctions silently ignores JSONata, and the same definition runs there.
 * - Every Task is a LambdaInvoke with `payloadResponseOnly: true` (the state sees the handler's return
 *   value, not `{ Payload }`) and an explicit `resultPath`, so the state keeps `decisionId` and stays a
 *   few hundred bytes: each step persists its own output in the `decisions` row, and only ids and flags
 *   travel between states (a state's payload is capped at 256 KiB).
 * - Every payload names its `step`; one agent-steps function serves all eight steps (one warm container,
 *   one DB connection and one cold start for a chain of sequential steps, instead of eight).
 * - No LLM error is retried here: the LLM client owns every retry of a model call (at most
 *   1 + LLM_MAX_RETRIES requests per agent call, within the decision's deadline, behind the provider's
 *   circuit breaker; shared/llm/client.ts). Retrying here too multiplied the attempts (2 x 4 per
 *   analyst at LLM_MAX_RETRIES=1) and the time a decision took under an outage. The states retry only
 *   Lambda's own transient errors (with full jitter); everything else goes to the Catch.
 * - An analyst that fails is caught and marked unavailable; the others' results stand (spec NFR-10).
 * - A researcher, trader or risk step that throws is caught and the decision recorded `failed` with its
 *   error (never a HOLD): the execution SUCCEEDS with that outcome, it does not fail. A step that
 *   reports `failed: true` as a value (an abstention) goes to finalize, which records `no_trade`.
 * - A snapshot failure is not an agent's: market data that could not be loaded (Binance unreachable,
 *   missing or broken data) ends the decision `failed` with its error and no agent is called. The step
 *   records the known market-data failures itself (`ok: false`); its Catch records anything else
 *   (`recordSnapshotFailure`). The execution still SUCCEEDS: the outcome is in the decision.
 * - Finalize executes against the live book for mode `live` and only records the decision for backtest
 *   modes (shared/pipeline decides by the decision's mode), so the chain is the same in both machines.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import {
  type AgentStep,
  ANALYSTS,
  type AnalystName,
  LAMBDA_TRANSIENT_ERRORS,
} from '../../functions/workflow/steps';

const LAMBDA_RETRY = {
  errors: [...LAMBDA_TRANSIENT_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 3,
  jitterStrategy: sfn.JitterType.FULL,
} satisfies sfn.RetryProps;

/** A task's own time limit: the LLM client's bounded retries fit inside it (see the stack's timeouts). */
export interface AgentChainProps {
  agentSteps: lambda.IFunction;
  taskTimeout: Duration;
}

export interface InvokeOptions {
  fn: lambda.IFunction;
  step: string;
  /** Payload fields besides `step`; values starting with `$.` are JSONPath references. */
  fields: Record<string, string>;
  resultPath: string;
  /** Keep only this part of the state after the result is placed (e.g. the result itself). */
  outputPath?: string;
  taskTimeout: Duration;
  resultSelector?: Record<string, string>;
}

/** A LambdaInvoke in the shape both hosts understand (payloadResponseOnly, JSONPath, explicit result). */
export function invokeStep(scope: Construct, id: string, o: InvokeOptions): tasks.LambdaInvoke {
  // The execution's id travels with every task: the Lambda's logs carry it as their correlation id.
  const payload: Record<string, unknown> = {
    step: o.step,
    executionId: sfn.JsonPath.stringAt('$$.Execution.Id'),
  };
  for (const [k, v] of Object.entries(o.fields))
    payload[k] = v.startsWith('$') ? sfn.JsonPath.stringAt(v) : v;
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: o.fn,
    payload: sfn.TaskInput.fromObject(payload),
    payloadResponseOnly: true,
    // Our own retry below covers Lambda's transient errors with jitter; CDK's default retrier has none.
    retryOnServiceExceptions: false,
    resultPath: o.resultPath,
    outputPath: o.outputPath,
    resultSelector: o.resultSelector
      ? Object.fromEntries(Object.entries(o.resultSelector).map(([k, v]) => [k, sfn.JsonPath.stringAt(v)]))
      : undefined,
    taskTimeout: sfn.Timeout.duration(o.taskTimeout),
  });
  task.addRetry(LAMBDA_RETRY);
  return task;
}

export interface AgentChain {
  /** The first state: enter with `{ decisionId }` at the top of the state (other fields ride along). */
  start: sfn.IChainable;
  /** Every Task state the chain created, by role (tests and docs). */
  states: Record<string, sfn.State>;
}

/**
 * Build the chain in `scope`. Call once per state machine (state names are unique within a machine; the
 * two machines are separate, so they share names). `done` is where every path of the chain ends
 * (decided, no trade, data unavailable); by default a Succeed state per outcome.
 *
 * The branching mirrors the in-process runner (shared/pipeline/analysis.ts) exactly, so both hosts record
 * the same decisions: a researcher that is gated or answers `failed` goes straight to finalize (HOLD), as
 * does a trader that fails or proposes HOLD; only THROWN errors of researcher, trader or risk end the
 * decision `failed` (Record failed decision). A snapshot that answers `ok: false` has already recorded why (a market-data failure) and
 * ends there; one that throws is recorded as a failed decision by `Record data failure`.
 */
export function buildAgentChain(
  scope: Construct,
  props: AgentChainProps & { done?: () => sfn.IChainable },
): AgentChain {
  const done = (label: string) => props.done?.() ?? new sfn.Succeed(scope, label);
  const step = (id: string, s: AgentStep, resultPath: string, extra: Record<string, string> = {}) =>
    invokeStep(scope, id, {
      fn: props.agentSteps,
      step: s,
      fields: { decisionId: '$.decisionId', ...extra },
      resultPath,
      taskTimeout: props.taskTimeout,
    });

  const finalize = step('Finalize decision', 'finalizeDecision', '$.outcome');
  finalize.next(done('Decided'));
  // A researcher, trader or risk step that threw: the decision is recorded `failed` with the error (the
  // step's name, recordNoTrade, is historic), never a HOLD.
  const recordNoTrade = step('Record failed decision', 'recordNoTrade', '$.outcome', { error: '$.error' });
  recordNoTrade.next(done('Decision failed'));
  const catchToNoTrade = (s: sfn.TaskStateBase | sfn.Parallel) =>
    s.addCatch(recordNoTrade, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const snapshot = step('Prepare snapshot', 'prepareSnapshot', '$.snapshot');
  const snapshotFailed = step('Record data failure', 'recordSnapshotFailure', '$.outcome', {
    error: '$.error',
  });
  snapshotFailed.next(done('Data failure recorded'));
  snapshot.addCatch(snapshotFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

  const analysts = new sfn.Parallel(scope, 'Analysts', { resultPath: sfn.JsonPath.DISCARD });
  for (const analyst of ANALYSTS) analysts.branch(analystBranch(scope, props, analyst));
  catchToNoTrade(analysts);

  const researcher = step('Researcher', 'runResearcher', '$.researcher');
  const trader = step('Trader', 'runTrader', '$.trader');
  const risk = step('Risk manager', 'runRisk', '$.risk');
  for (const s of [researcher, trader, risk]) catchToNoTrade(s);

  const snapshotReady = new sfn.Choice(scope, 'Snapshot ready?')
    .when(flagIs('$.snapshot.ok', false), done('Data unavailable'))
    .otherwise(analysts);
  const gate = new sfn.Choice(scope, 'Researcher gate')
    // Low conviction (gated) or no answer: HOLD without calling the trader and the risk manager.
    .when(sfn.Condition.or(flagIs('$.researcher.gated', true), flagIs('$.researcher.failed', true)), finalize)
    .otherwise(trader);
  // Consensus mode (decision_mode on the decision): the researcher step tallies the votes; without a
  // quorum the decision is HOLD (no_consensus) and the trader and risk manager are not called.
  const consensus = new sfn.Choice(scope, 'Consensus reached?')
    .when(flagIs('$.researcher.noConsensus', true), finalize)
    .otherwise(gate);
  const traderGate = new sfn.Choice(scope, 'Trade proposed?')
    .when(
      sfn.Condition.or(
        flagIs('$.trader.failed', true),
        sfn.Condition.and(
          sfn.Condition.isPresent('$.trader.action'),
          sfn.Condition.stringEquals('$.trader.action', 'HOLD'),
        ),
      ),
      finalize,
    )
    .otherwise(risk);

  snapshot.next(snapshotReady);
  analysts.next(researcher);
  researcher.next(consensus);
  trader.next(traderGate);
  // A risk manager that fails as a value is advisory: finalize still applies the hard limits in code.
  risk.next(finalize);

  return {
    start: snapshot,
    states: { snapshot, snapshotFailed, analysts, researcher, trader, risk, finalize, recordNoTrade },
  };
}

/** A boolean flag test that tolerates a missing field (a missing path is a runtime error in a Choice). */
function flagIs(path: string, value: boolean): sfn.Condition {
  return sfn.Condition.and(sfn.Condition.isPresent(path), sfn.Condition.booleanEquals(path, value));
}

/** One analyst: marked unavailable when its call fails (after the client's own bounded retries). */
function analystBranch(scope: Construct, props: AgentChainProps, analyst: AnalystName): sfn.IChainable {
  const label = `${analyst[0]!.toUpperCase()}${analyst.slice(1)}`;
  const run = invokeStep(scope, `${label} analyst`, {
    fn: props.agentSteps,
    step: 'runAnalyst',
    fields: { decisionId: '$.decisionId', analyst },
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: props.taskTimeout,
  });
  const unavailable = invokeStep(scope, `${label} unavailable`, {
    fn: props.agentSteps,
    step: 'markAnalystUnavailable',
    fields: { decisionId: '$.decisionId', analyst, error: '$.error' },
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: props.taskTimeout,
  });
  run.addCatch(unavailable, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  return run;
}
