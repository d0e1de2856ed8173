/**
 * The state machines on a laptop: the SAME definitions that deploy to AWS, executed in-process.
 *
 * How:
 * 1. Synthesize the Workflows construct (cdk/workflows/workflows.ts) in-process, bundling off: a bare
 *    stack holding the construct and two stub functions standing for the agent-steps and backtest-steps
 *    Lambdas. Done once per process (per Map concurrency) and cached: a few seconds the first time
 *    (loading aws-cdk-lib), well under a second after.
 * 2. Take each state machine's DefinitionString from the template and resolve its CloudFormation tokens
 *    (`Fn::Join`, `Fn::GetAtt <fn>.Arn`, `Ref AWS::Partition|Region|AccountId|URLSuffix`) into plain ASL,
 *    noting which Lambda (by logical id) each Task invokes.
 * 3. Run it with aws-local-stepfunctions, every Task overridden by the local handler of its Lambda: the
 *    same dispatcher the Lambda entry exports (functions/workflow/tasks.ts), over the pipeline deps of
 *    the composition root. JSONPath, Parallel, inline Map, Retry (with jitter) and Catch run as on AWS.
 *
 * `createLocalWorkflows` is the WorkflowStarter the local host and the tests use: executions run in the
 * background; `awaitExecution` waits for one (tests; the API itself polls the database). What cannot run
 * here: Distributed Map with an S3 item reader (see cdk/workflows/workflows.ts), Lambda service errors,
 * and IAM. Retry waits are real (seconds, with full jitter) unless `retryDelayMs` overrides them.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { Workflows } from '../../cdk/workflows/workflows';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import { AppError } from '../../shared/util/errors';
import { agentStepFns, backtestStepFns } from '../workflow/bindings';
import {
  type AgentStepFns,
  type BacktestStepFns,
  createAgentStepsHandler,
  createBacktestStepsHandler,
  type TaskHandler,
} from '../workflow/tasks';

export type WorkflowKind = 'analysis' | 'backtest';
/** The two Lambdas every Task of either machine invokes. */
export type TaskFunction = 'agentSteps' | 'backtestSteps';

// Placeholders for the pseudo parameters: the local runner never calls AWS, they only need to look right.
const LOCAL_PARTITION = 'aws';
const LOCAL_REGION = 'us-east-1';
const LOCAL_ACCOUNT = '000000000000';
const STUB_CODE = 'exports.handler = async () => ({});';
const DEFAULT_MAP_CONCURRENCY = 10;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface LocalDefinitions {
  analysis: StateMachineDefinition;
  backtest: StateMachineDefinition;
  /** Task state name -> the function it invokes (over both machines, nested states included). */
  taskFunctions: Record<WorkflowKind, Record<string, TaskFunction>>;
}

// ---------- synthesis and token resolution ----------

/** Resolve the intrinsics CDK puts in a DefinitionString into plain text. */
export function resolveIntrinsics(value: unknown, functionsByLogicalId: Record<string, string>): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => resolveIntrinsics(p, functionsByLogicalId)).join(sep);
    }
    if ('Ref' in o) {
      switch (o.Ref) {
        case 'AWS::Partition':
          return LOCAL_PARTITION;
        case 'AWS::Region':
          return LOCAL_REGION;
        case 'AWS::AccountId':
          return LOCAL_ACCOUNT;
        case 'AWS::URLSuffix':
          return 'amazonaws.com';
        default:
          throw new Error(`local Step Functions: cannot resolve Ref ${String(o.Ref)}`);
      }
    }
    if ('Fn::GetAtt' in o) {
      const [logicalId, attr] = o['Fn::GetAtt'] as [string, string];
      if (attr !== 'Arn' || !(logicalId in functionsByLogicalId))
        throw new Error(`local Step Functions: cannot resolve Fn::GetAtt ${logicalId}.${attr}`);
      return localFunctionArn(logicalId);
    }
  }
  throw new Error(`local Step Functions: unsupported token ${JSON.stringify(value).slice(0, 200)}`);
}

function localFunctionArn(logicalId: string): string {
  return `arn:${LOCAL_PARTITION}:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${logicalId}`;
}

type StateDef = Record<string, unknown> & { Type: string };

/** Every Task state of a definition (Parallel branches and Map processors included), with its Resource. */
export function taskStates(def: { States: Record<string, unknown> }): { name: string; state: StateDef }[] {
  const out: { name: string; state: StateDef }[] = [];
  const walk = (states: Record<string, unknown>) => {
    for (const [name, raw] of Object.entries(states)) {
      const state = raw as StateDef;
      if (state.Type === 'Task') out.push({ name, state });
      if (state.Type === 'Parallel')
        for (const b of state.Branches as { States: Record<string, unknown> }[]) walk(b.States);
      if (state.Type === 'Map') {
        const proc = (state.ItemProcessor ?? state.Iterator) as { States: Record<string, unknown> };
        walk(proc.States);
      }
    }
  };
  walk(def.States);
  return out;
}

const synthesized = new Map<number, LocalDefinitions>();

/**
 * Synthesize the Workflows construct in-process and return both definitions as plain ASL. Cached per
 * Map concurrency for the life of the process.
 */
export function synthesizeLocalDefinitions(mapConcurrency = DEFAULT_MAP_CONCURRENCY): LocalDefinitions {
  const cached = synthesized.get(mapConcurrency);
  if (cached) return cached;
  const outdir = mkdtempSync(path.join(tmpdir(), 'local-sfn-'));
  try {
    const app = new App({ outdir, context: { bundling: false } });
    const stack = new Stack(app, 'LocalWorkflows');
    const stub = (id: string) =>
      new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline(STUB_CODE),
      });
    const fns: Record<TaskFunction, lambda.Function> = {
      agentSteps: stub('AgentSteps'),
      backtestSteps: stub('BacktestSteps'),
    };
    const workflows = new Workflows(stack, 'Workflows', {
      agentSteps: fns.agentSteps,
      backtestSteps: fns.backtestSteps,
      agentTaskTimeout: Duration.minutes(3),
      backtestTaskTimeout: Duration.minutes(10),
      mapConcurrency,
      logRetention: RetentionDays.ONE_DAY,
      tracing: false,
    });
    const byLogicalId: Record<string, TaskFunction> = {};
    for (const [name, fn] of Object.entries(fns) as [TaskFunction, lambda.Function][])
      byLogicalId[stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)] = name;

    const template = app.synth().getStackArtifact(stack.artifactId).template as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const definitionOf = (machine: Workflows['analysis']) => {
      const logicalId = stack.getLogicalId(machine.node.defaultChild as never);
      const resource = template.Resources[logicalId];
      if (!resource) throw new Error(`local Step Functions: ${logicalId} is not in the synthesized template`);
      return JSON.parse(
        resolveIntrinsics(resource.Properties.DefinitionString, byLogicalId),
      ) as StateMachineDefinition;
    };
    const analysis = definitionOf(workflows.analysis);
    const backtest = definitionOf(workflows.backtest);
    const taskFunctions = (def: StateMachineDefinition) => {
      const map: Record<string, TaskFunction> = {};
      for (const { name, state } of taskStates(def as never)) {
        const logicalId = String(state.Resource).split(':function:')[1];
        const fn = logicalId ? byLogicalId[logicalId] : undefined;
        if (!fn)
          throw new Error(
            `local Step Functions: Task "${name}" invokes ${String(state.Resource)}; use LambdaInvoke with payloadResponseOnly`,
          );
        map[name] = fn;
      }
      return map;
    };
    const defs: LocalDefinitions = {
      analysis,
      backtest,
      taskFunctions: { analysis: taskFunctions(analysis), backtest: taskFunctions(backtest) },
    };
    synthesized.set(mapConcurrency, defs);
    return defs;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

// ---------- executions ----------

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

export interface LocalExecution {
  executionId: string;
  kind: WorkflowKind;
  input: Record<string, string>;
  status: ExecutionStatus;
  output?: unknown;
  error?: { name: string; message: string };
  /** The largest input or output of any state in the run, in bytes of JSON (Step Functions caps at 256 KiB). */
  maxPayloadBytes: number;
  /** Retries taken, by state name. */
  retries: Record<string, number>;
  /** Errors caught, by state name. */
  caught: Record<string, number>;
  /** How many states were entered (Map iterations and Parallel branches included). */
  statesEntered: number;
}

export interface LocalWorkflowsOptions {
  /** The pipeline's dependencies, or a provider of them (called per task; cache inside if costly). */
  deps: PipelineDeps | (() => Promise<PipelineDeps>);
  /** The backtest Map's maxConcurrency (default: settings.BACKTEST_MAP_CONCURRENCY when deps is an object). */
  mapConcurrency?: number;
  /** Alias of mapConcurrency (the local host's name for it). */
  concurrency?: number;
  /** Where a failed execution is reported (the API reads outcomes from the database either way). */
  logger?: { error(obj: object, msg: string): void };
  /** Replace every Retry's wait (ms). Tests use 0; the default keeps Step Functions' backoff and jitter. */
  retryDelayMs?: number;
  /**
   * Fault injection for tests: replace some step functions (e.g. an analyst that throws). Faults only;
   * everything else stays the real pipeline.
   */
  steps?: { agent?: Partial<AgentStepFns>; backtest?: Partial<BacktestStepFns> };
}

export interface LocalWorkflows extends WorkflowStarter {
  /** Wait for an execution to end; with `timeoutMs`, answer its state as it is when the time is up. */
  awaitExecution(executionId: string, opts?: { timeoutMs?: number }): Promise<LocalExecution>;
  getExecution(executionId: string): LocalExecution | undefined;
  /** Resolve true when every execution started here has ended, false when `timeoutMs` passed first. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Abort every running execution (shutdown). */
  close(): Promise<void>;
  readonly definitions: LocalDefinitions;
}

interface Running {
  record: LocalExecution;
  done: Promise<LocalExecution>;
  abort: () => void;
}

export function createLocalWorkflows(options: LocalWorkflowsOptions): LocalWorkflows {
  const getDeps =
    typeof options.deps === 'function'
      ? options.deps
      : (
          (d: PipelineDeps) => async () =>
            d
        )(options.deps);
  const mapConcurrency =
    options.mapConcurrency ??
    options.concurrency ??
    (typeof options.deps === 'function'
      ? DEFAULT_MAP_CONCURRENCY
      : options.deps.settings.BACKTEST_MAP_CONCURRENCY);
  const definitions = synthesizeLocalDefinitions(mapConcurrency);
  const handlers: Record<TaskFunction, TaskHandler> = {
    agentSteps: createAgentStepsHandler(getDeps, { ...agentStepFns, ...options.steps?.agent }),
    backtestSteps: createBacktestStepsHandler(getDeps, { ...backtestStepFns, ...options.steps?.backtest }),
  };
  const machines: Record<WorkflowKind, StateMachine> = {
    analysis: new StateMachine(definitions.analysis),
    backtest: new StateMachine(definitions.backtest),
  };
  const executions = new Map<string, Running>();
  /** Like Step Functions' execution names: one live execution per decision or backtest. */
  const byName = new Map<string, string>();

  const start = (kind: WorkflowKind, id: string, input: Record<string, string>): { executionId: string } => {
    const name = `${kind}-${id}`;
    const existing = byName.get(name);
    if (existing && executions.get(existing)?.record.status === 'RUNNING') return { executionId: existing };
    const executionId = `local:${name}:${randomUUID()}`;
    const overrides = {
      taskResourceLocalHandlers: Object.fromEntries(
        Object.entries(definitions.taskFunctions[kind]).map(([state, fn]) => [
          state,
          (payload: unknown) => handlers[fn](payload) as Promise<Json>,
        ]),
      ),
      ...(options.retryDelayMs !== undefined
        ? {
            retryIntervalOverrides: Object.fromEntries(
              Object.keys(definitions.taskFunctions[kind]).map((state) => [
                state,
                options.retryDelayMs as number,
              ]),
            ),
          }
        : {}),
    };
    const record: LocalExecution = {
      executionId,
      kind,
      input,
      status: 'RUNNING',
      maxPayloadBytes: 0,
      retries: {},
      caught: {},
      statesEntered: 0,
    };
    const execution = machines[kind].run(input, {
      overrides,
      context: {
        Execution: { Id: executionId, Name: name, Input: input, StartTime: new Date().toISOString() },
      },
    });
    const watchEvents = (async () => {
      for await (const ev of execution.eventLogs) {
        if ('state' in ev && ev.state) {
          const size = (v: unknown) => (v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v)));
          record.maxPayloadBytes = Math.max(
            record.maxPayloadBytes,
            size(ev.state.input),
            size(ev.state.output),
          );
          if (ev.type === 'StateEntered') record.statesEntered++;
          if (ev.type === 'StateRetried')
            record.retries[ev.state.name] = (record.retries[ev.state.name] ?? 0) + 1;
          if (ev.type === 'StateCaught')
            record.caught[ev.state.name] = (record.caught[ev.state.name] ?? 0) + 1;
        }
      }
    })().catch(() => undefined); // the result promise reports failures; the log is statistics only
    const done = execution.result.then(
      (output) => {
        record.status = 'SUCCEEDED';
        record.output = output;
      },
      (e: unknown) => {
        const err = e as { name?: string; message?: string; cause?: unknown };
        record.status = err.name === 'ExecutionAbortedError' ? 'ABORTED' : 'FAILED';
        record.error = { name: err.name ?? 'Error', message: err.message ?? String(e) };
        if (record.status === 'FAILED')
          options.logger?.error({ executionId, error: record.error }, `${kind} execution failed`);
      },
    );
    const settled = Promise.all([done, watchEvents]).then(() => record);
    executions.set(executionId, { record, done: settled, abort: execution.abort });
    byName.set(name, executionId);
    return { executionId };
  };

  return {
    definitions,
    startAnalysis: async ({ decisionId }) => start('analysis', decisionId, { decisionId }),
    startBacktest: async ({ backtestId }) => start('backtest', backtestId, { backtestId }),
    getExecution: (executionId) => executions.get(executionId)?.record,
    async awaitExecution(executionId, opts = {}) {
      const running = executions.get(executionId);
      if (!running) throw new AppError('NOT_FOUND', `no local execution ${executionId}`, { executionId });
      if (opts.timeoutMs === undefined) return running.done;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<LocalExecution>((resolve) => {
        timer = setTimeout(() => resolve(running.record), opts.timeoutMs);
      });
      try {
        return await Promise.race([running.done, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async drain(timeoutMs) {
      const running = [...executions.values()]
        .filter((r) => r.record.status === 'RUNNING')
        .map((r) => r.done);
      if (running.length === 0) return true;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        return await Promise.race([Promise.all(running).then(() => true), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      const running = [...executions.values()].filter((r) => r.record.status === 'RUNNING');
      for (const r of running) r.abort();
      await Promise.all(running.map((r) => r.done));
    },
  };
}
