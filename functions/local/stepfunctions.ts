/**
 * The state machines on a laptop: the SAME definitions that deploy to AWS, executed in-process. This
 * module is the heavy half (it imports aws-cdk-lib); the executions and the definitions cache live in
 * stepfunctions-runtime.ts, which imports nothing from aws-cdk-lib and is re-exported here.
 *
 * How:
 * 1. Synthesize the Workflows construct (cdk/workflows/workflows.ts) in-process, bundling off: a bare
 *    stack holding the construct and two stub functions standing for the agent-steps and backtest-steps
 *    Lambdas. Done once per process (per Map concurrency) and memoized: a few seconds the first time
 *    (loading aws-cdk-lib), well under a second after. The local host reaches this only on a miss of the
 *    file cache (`loadLocalDefinitions`), so a start with unchanged cdk/ never loads aws-cdk-lib.
 * 2. Take each state machine's DefinitionString from the template and resolve its CloudFormation tokens
 *    (`Fn::Join`, `Fn::GetAtt <fn>.Arn`, `Ref AWS::Partition|Region|AccountId|URLSuffix`) into plain ASL,
 *    noting which Lambda (by logical id) each Task invokes.
 * 3. Run it with aws-local-stepfunctions (stepfunctions-runtime.ts).
 *
 * `createLocalWorkflows` synthesizes (never the file cache: tests and cdk/app.test.ts want the fresh
 * definitions) unless given `definitions`.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { Workflows } from '../../cdk/workflows/workflows';
import {
  createLocalWorkflowsFrom,
  DEFAULT_MAP_CONCURRENCY,
  type LocalDefinitions,
  type LocalWorkflows,
  type LocalWorkflowsOptions,
  mapConcurrencyOf,
  resolveIntrinsics,
  type TaskFunction,
  taskStates,
} from './stepfunctions-runtime';

export * from './stepfunctions-runtime';

const STUB_CODE = 'exports.handler = async () => ({});';

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
    const fns: Record<Exclude<TaskFunction, 'backtestExecution'>, lambda.Function> = {
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
        resolveIntrinsics(resource.Properties.DefinitionString, byLogicalId, machinesByLogicalId),
      ) as StateMachineDefinition;
    };
    const machinesByLogicalId: Record<string, string> = {};
    for (const m of [workflows.analysis, workflows.backtest, workflows.study, workflows.learning])
      machinesByLogicalId[stack.getLogicalId(m.node.defaultChild as never)] = 'stateMachine';
    const analysis = definitionOf(workflows.analysis);
    const backtest = definitionOf(workflows.backtest);
    const study = definitionOf(workflows.study);
    const learning = definitionOf(workflows.learning);
    const taskFunctions = (def: StateMachineDefinition) => {
      const map: Record<string, TaskFunction> = {};
      for (const { name, state } of taskStates(def as never)) {
        if (/:states:::states:startExecution\.sync/.test(String(state.Resource))) {
          map[name] = 'backtestExecution';
          continue;
        }
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
      study,
      learning,
      taskFunctions: {
        analysis: taskFunctions(analysis),
        backtest: taskFunctions(backtest),
        study: taskFunctions(study),
        learning: taskFunctions(learning),
      },
    };
    synthesized.set(mapConcurrency, defs);
    return defs;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Executions of the freshly synthesized definitions (or the given ones). */
export function createLocalWorkflows(
  options: LocalWorkflowsOptions & { definitions?: LocalDefinitions },
): LocalWorkflows {
  if (options.definitions) return createLocalWorkflowsFrom(options.definitions, options);
  return createLocalWorkflowsFrom(synthesizeLocalDefinitions(mapConcurrencyOf(options)), options, 'synth');
}
