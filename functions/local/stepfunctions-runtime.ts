/**
 * The state machines on a laptop, light half: plain ASL in, executions out. Nothing here imports
 * aws-cdk-lib, so a host whose definitions are cached never loads it.
 *
 * Definitions come from functions/local/stepfunctions.ts (the SAME Workflows construct that deploys,
 * synthesized in-process: a few seconds of aws-cdk-lib that block the event loop) or from a file cache:
 * - `loadLocalDefinitions` keys the resolved ASL (plain JSON) by a SHA-256 over the content of every
 *   file that shapes it (all of cdk/, the step names in functions/workflow/steps.ts, the synthesis and
 *   token-resolution code), the aws-cdk-lib and constructs versions, the Map concurrency and a format
 *   number. A key is never stale: any edit makes a new one. A hit is read, checked for shape and key,
 *   and used without importing aws-cdk-lib; a miss, an unreadable or malformed file synthesizes as
 *   before and writes the file atomically (temp file + rename, so a concurrent reader sees the old
 *   file or the new one, never half). Failing to write only logs: the cache is an optimization.
 * - The cache lives in node_modules/.cache/agent-trading-firm/ (not DATA_DIR): it depends on the code,
 *   not on the data, so a fresh DATA_DIR still hits. Old keys are left behind (a few tens of KB each).
 * - The deploy/local equality test (cdk/app.test.ts) compares against a fresh synthesis, never this cache.
 *
 * Executions: every Task overridden by the local handler of its Lambda (the dispatcher the Lambda entry
 * exports, functions/workflow/tasks.ts) over the pipeline deps of the composition root. JSONPath,
 * Parallel, inline Map, Retry (with jitter) and Catch run as on AWS. `awaitExecution` waits for one
 * (tests; the API itself polls the database). What cannot run here: Distributed Map with an S3 item
 * reader (see cdk/workflows/workflows.ts), Lambda service errors, and IAM. Retry waits are real
 * (seconds, with full jitter) unless `retryDelayMs` overrides them.
 */

import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { historyEventsOfLog } from '../../cdk/workflows/history';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import { AppError } from '../../shared/util/errors';
import { agentStepFns, backtestStepFns, learningStepFns, studyStepFns } from '../workflow/bindings';
import {
  type AgentStepFns,
  type BacktestStepFns,
  createAgentStepsHandler,
  createBacktestStepsHandler,
  type LearningStepFns,
  type StudyStepFns,
  type TaskHandler,
} from '../workflow/tasks';
import {
  type DistributedMapSpec,
  LOCAL_ITEM_SELECTOR_STATE,
  prepareDistributedMaps,
  runMapRun,
} from './distributed-map';

export type WorkflowKind = 'analysis' | 'backtest' | 'study' | 'learning';
/**
 * What a Task runs: one of the two Lambdas, or (the study's `Run cell backtest`) a nested Backtest
 * execution, which the local runner starts on the local Backtest machine and waits for, as `.sync` does.
 */
export type TaskFunction = 'agentSteps' | 'backtestSteps' | 'backtestExecution';
const TASK_FUNCTIONS: readonly TaskFunction[] = ['agentSteps', 'backtestSteps', 'backtestExecution'];
const WORKFLOW_KINDS: readonly WorkflowKind[] = ['analysis', 'backtest', 'study', 'learning'];

// Placeholders for the pseudo parameters: the local runner never calls AWS, they only need to look right.
const LOCAL_PARTITION = 'aws';
const LOCAL_REGION = 'us-east-1';
const LOCAL_ACCOUNT = '000000000000';
/** The Resource of the Task a DISTRIBUTED Map becomes locally (never invoked: a local handler runs it). */
const LOCAL_MAP_RUN_FUNCTION = 'LocalMapRun';
export const DEFAULT_MAP_CONCURRENCY = 10;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface LocalDefinitions {
  analysis: StateMachineDefinition;
  backtest: StateMachineDefinition;
  study: StateMachineDefinition;
  learning: StateMachineDefinition;
  /** Task state name -> the function it invokes (per machine, nested states included). */
  taskFunctions: Record<WorkflowKind, Record<string, TaskFunction>>;
}

// ---------- synthesis and token resolution ----------

/** Resolve the intrinsics CDK puts in a DefinitionString into plain text. */
export function resolveIntrinsics(
  value: unknown,
  functionsByLogicalId: Record<string, string>,
  machinesByLogicalId: Record<string, string> = {},
): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => resolveIntrinsics(p, functionsByLogicalId, machinesByLogicalId)).join(sep);
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
          if (typeof o.Ref === 'string' && o.Ref in machinesByLogicalId) return localMachineArn(o.Ref);
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

export function localMachineArn(logicalId: string): string {
  return `arn:${LOCAL_PARTITION}:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${logicalId}`;
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

// ---------- the definitions cache ----------

/** Bump when the cached file's shape or the meaning of its content changes. */
const CACHE_FORMAT = 3;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEFAULT_DEFINITIONS_CACHE_DIR = path.join(
  REPO_ROOT,
  'node_modules',
  '.cache',
  'agent-trading-firm',
);
/** Packages whose code turns the construct into a template. */
const SYNTH_PACKAGES = ['aws-cdk-lib', 'constructs'] as const;
/** Outside cdk/: files the synthesis reads or whose code shapes the resolved ASL. */
const SYNTH_INPUTS_OUTSIDE_CDK = [
  'functions/workflow/steps.ts',
  'functions/local/stepfunctions.ts',
  'functions/local/stepfunctions-runtime.ts',
];
/** Generated or installed folders that can sit under cdk/ and never feed the synthesis. */
const SKIPPED_DIRS = new Set(['node_modules', 'cdk.out']);

/** Every file whose content determines the local definitions (absolute paths, sorted). */
export function definitionSourceFiles(root = REPO_ROOT): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) walk(full);
      else if (entry.isFile()) files.push(full);
    }
  };
  walk(path.join(root, 'cdk'));
  for (const rel of SYNTH_INPUTS_OUTSIDE_CDK) files.push(path.join(root, rel));
  return files.sort();
}

/** Installed versions of the packages that synthesize (read from their package.json). */
export function synthPackageVersions(root = REPO_ROOT): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const name of SYNTH_PACKAGES) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8'));
      versions[name] = String(pkg.version);
    } catch {
      versions[name] = 'missing'; // a synthesis would fail anyway; a cached file may still serve
    }
  }
  return versions;
}

export interface DefinitionsKeyInput {
  mapConcurrency: number;
  /** Absolute paths; their content (and path relative to `root`) enters the key. */
  files: string[];
  versions: Record<string, string>;
  root?: string;
}

/** SHA-256 (hex, first 32) over everything that determines the definitions. */
export function definitionsCacheKey(input: DefinitionsKeyInput): string {
  const root = input.root ?? REPO_ROOT;
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({ format: CACHE_FORMAT, mapConcurrency: input.mapConcurrency, versions: input.versions }),
  );
  for (const file of [...input.files].sort()) {
    hash.update(`\0${path.relative(root, file)}\0`);
    try {
      hash.update(readFileSync(file));
    } catch {
      hash.update('\0missing\0'); // a deleted input is a different input, not an error of the cache
    }
  }
  return hash.digest('hex').slice(0, 32);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The cached JSON is a LocalDefinitions whose task map covers every Task of both machines. */
function isLocalDefinitions(v: unknown): v is LocalDefinitions {
  if (!isRecord(v) || !isRecord(v.taskFunctions)) return false;
  for (const kind of WORKFLOW_KINDS) {
    const def = v[kind];
    const fns = v.taskFunctions[kind];
    if (!isRecord(def) || typeof def.StartAt !== 'string' || !isRecord(def.States) || !isRecord(fns))
      return false;
    for (const { name } of taskStates(def as { States: Record<string, unknown> }))
      if (!TASK_FUNCTIONS.includes(fns[name] as TaskFunction)) return false;
  }
  return true;
}

export interface LoadDefinitionsOptions {
  mapConcurrency: number;
  /** Folder of the cache files; null disables the cache. Default DEFAULT_DEFINITIONS_CACHE_DIR. */
  cacheDir?: string | null;
  /** The files the key covers. Default definitionSourceFiles(). */
  sourceFiles?: string[];
  /** Package versions the key covers. Default synthPackageVersions(). */
  versions?: Record<string, string>;
  /** Root the file paths in the key are relative to (default the repository). */
  root?: string;
  /** The synthesis on a miss. Default: synthesizeLocalDefinitions, imported only then. */
  synthesize?: (mapConcurrency: number) => LocalDefinitions | Promise<LocalDefinitions>;
  logger?: { warn(obj: object, msg: string): void };
}

export interface LoadedDefinitions {
  definitions: LocalDefinitions;
  /** 'cache': read from `file`, aws-cdk-lib not loaded; 'synth': synthesized (and written when possible). */
  source: 'cache' | 'synth';
  key: string;
  file?: string;
}

const defaultSynthesize = async (mapConcurrency: number): Promise<LocalDefinitions> => {
  // Loaded on a miss only: this import is what pulls in aws-cdk-lib.
  const { synthesizeLocalDefinitions } = await import('./stepfunctions');
  return synthesizeLocalDefinitions(mapConcurrency);
};

/** The local definitions from the cache when its key matches, else synthesized and cached (see header). */
export async function loadLocalDefinitions(options: LoadDefinitionsOptions): Promise<LoadedDefinitions> {
  const { mapConcurrency, logger } = options;
  const synthesize = options.synthesize ?? defaultSynthesize;
  const key = definitionsCacheKey({
    mapConcurrency,
    files: options.sourceFiles ?? definitionSourceFiles(options.root),
    versions: options.versions ?? synthPackageVersions(options.root),
    ...(options.root ? { root: options.root } : {}),
  });
  const cacheDir = options.cacheDir === undefined ? DEFAULT_DEFINITIONS_CACHE_DIR : options.cacheDir;
  if (cacheDir === null) return { definitions: await synthesize(mapConcurrency), source: 'synth', key };

  const file = path.join(cacheDir, `state-machines-${key}.json`);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      // not there: a plain miss
      logger?.warn({ file, reason: (e as Error).message }, 'state machine cache unreadable; synthesizing');
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (
      isRecord(parsed) &&
      parsed.format === CACHE_FORMAT &&
      parsed.key === key &&
      isLocalDefinitions(parsed.definitions)
    )
      return { definitions: parsed.definitions, source: 'cache', key, file };
    logger?.warn({ file }, 'state machine cache malformed; synthesizing and rewriting it');
  }

  const definitions = await synthesize(mapConcurrency);
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(tmp, JSON.stringify({ format: CACHE_FORMAT, key, definitions }));
    renameSync(tmp, file);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the folder itself could not be made: there is no temp file to remove
    }
    logger?.warn({ file, reason: (e as Error).message }, 'state machine cache not written');
  }
  return { definitions, source: 'synth', key, file };
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
  /** How many states were entered (Map iterations, Parallel branches and child executions included). */
  statesEntered: number;
  /**
   * The events this execution's own history would hold on AWS (history.ts's weights over the local event
   * log); a Distributed Map's children are not in it, as on AWS.
   */
  historyEvents: number;
  /** The child executions of its Distributed Maps: how they ended, and the largest child history. */
  children: { succeeded: number; failed: number; aborted: number; maxHistoryEvents: number };
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
  steps?: {
    agent?: Partial<AgentStepFns>;
    backtest?: Partial<BacktestStepFns>;
    study?: Partial<StudyStepFns>;
    learning?: Partial<LearningStepFns>;
  };
}

export interface LocalWorkflows extends WorkflowStarter {
  startStudy(i: { studyId: string }): Promise<{ executionId: string }>;
  startLearning(i: { cycleId: string }): Promise<{ executionId: string }>;
  /** Wait for an execution to end; with `timeoutMs`, answer its state as it is when the time is up. */
  awaitExecution(executionId: string, opts?: { timeoutMs?: number }): Promise<LocalExecution>;
  getExecution(executionId: string): LocalExecution | undefined;
  /** Resolve true when every execution started here has ended, false when `timeoutMs` passed first. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Abort every running execution (shutdown). */
  close(): Promise<void>;
  readonly definitions: LocalDefinitions;
  /** Where the definitions came from: the file cache, a synthesis, or the caller. */
  readonly definitionsSource: 'cache' | 'synth' | 'given';
}

interface Running {
  record: LocalExecution;
  done: Promise<LocalExecution>;
  abort: () => void;
}

/** The backtest Map's concurrency the options ask for (see LocalWorkflowsOptions.mapConcurrency). */
export function mapConcurrencyOf(options: LocalWorkflowsOptions): number {
  return (
    options.mapConcurrency ??
    options.concurrency ??
    (typeof options.deps === 'function'
      ? DEFAULT_MAP_CONCURRENCY
      : options.deps.settings.BACKTEST_MAP_CONCURRENCY)
  );
}

/**
 * The local host's entry: definitions from the cache (or synthesized once and cached), then executions.
 * `definitionsSource` says which.
 */
export async function loadLocalWorkflows(
  options: LocalWorkflowsOptions & {
    cache?: Omit<LoadDefinitionsOptions, 'mapConcurrency' | 'logger'>;
    logger?: LocalWorkflowsOptions['logger'] & { warn(obj: object, msg: string): void };
  },
): Promise<LocalWorkflows> {
  const loaded = await loadLocalDefinitions({
    ...options.cache,
    mapConcurrency: mapConcurrencyOf(options),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return createLocalWorkflowsFrom(loaded.definitions, options, loaded.source);
}

/**
 * The texts of the definitions asl-validator accepted in this process. Validating the four machines
 * costs a few hundred ms of CPU each time (asl-validator compiles its ajv schemas on every call), and
 * tests, benchmarks and the local host build executions of the same definitions many times: a
 * definition is validated once per process, by its exact JSON text (a changed definition is a new
 * text, validated again). A few tens of KB each.
 */
const validatedDefinitions = new Set<string>();
const NO_VALIDATION = { validationOptions: { noValidate: true } } as const;

/**
 * A StateMachine of `definition`, validated (as the library's constructor does: throws if invalid) the
 * first time this exact definition is seen. asl-validator writes a default `QueryLanguage` into every
 * state of what it checks, so it checks a copy: the caller's definition is never changed, whether
 * validated now or before (the runtime ignores that field; JSONPath is the default either way).
 */
export function validatedStateMachine(definition: StateMachineDefinition): StateMachine {
  const text = JSON.stringify(definition);
  if (!validatedDefinitions.has(text)) {
    new StateMachine(JSON.parse(text) as StateMachineDefinition); // throws on an invalid definition
    validatedDefinitions.add(text);
  }
  return new StateMachine(definition, NO_VALIDATION);
}

/** Executions of the given definitions (already resolved ASL). */
export function createLocalWorkflowsFrom(
  definitions: LocalDefinitions,
  options: LocalWorkflowsOptions,
  definitionsSource: LocalWorkflows['definitionsSource'] = 'given',
): LocalWorkflows {
  const getDeps =
    typeof options.deps === 'function'
      ? options.deps
      : (
          (d: PipelineDeps) => async () =>
            d
        )(options.deps);
  const handlers: Record<TaskFunction, TaskHandler> = {
    agentSteps: createAgentStepsHandler(getDeps, { ...agentStepFns, ...options.steps?.agent }),
    backtestSteps: createBacktestStepsHandler(
      getDeps,
      { ...backtestStepFns, ...options.steps?.backtest },
      { fns: { ...studyStepFns, ...options.steps?.study } },
      { ...learningStepFns, ...options.steps?.learning },
    ),
    // `.sync`: start the nested Backtest on the local Backtest machine and wait; its failure fails the Task.
    backtestExecution: async (payload) => {
      const input = (payload as { Input?: { backtestId?: unknown } } | null)?.Input;
      const backtestId = typeof input?.backtestId === 'string' ? input.backtestId : '';
      if (!backtestId)
        throw Object.assign(new Error('Run cell backtest: no backtestId in Input'), {
          name: 'States.TaskFailed',
        });
      const { executionId } = start('backtest', backtestId, { backtestId });
      const done = await (executions.get(executionId) as Running).done;
      if (done.status !== 'SUCCEEDED') {
        throw Object.assign(new Error(done.error?.message ?? `backtest execution ${done.status}`), {
          name: done.error?.name ?? 'States.TaskFailed',
        });
      }
      return { ExecutionArn: executionId, Status: 'SUCCEEDED' };
    },
  };
  // A DISTRIBUTED Map runs as a Task whose local handler runs the Map Run (see distributed-map.ts).
  const prepared = {
    analysis: prepareDistributedMaps(definitions.analysis, localFunctionArn(LOCAL_MAP_RUN_FUNCTION)),
    backtest: prepareDistributedMaps(definitions.backtest, localFunctionArn(LOCAL_MAP_RUN_FUNCTION)),
    study: prepareDistributedMaps(definitions.study, localFunctionArn(LOCAL_MAP_RUN_FUNCTION)),
    learning: prepareDistributedMaps(definitions.learning, localFunctionArn(LOCAL_MAP_RUN_FUNCTION)),
  };
  const machines: Record<WorkflowKind, StateMachine> = {
    analysis: validatedStateMachine(prepared.analysis.definition),
    backtest: validatedStateMachine(prepared.backtest.definition),
    study: validatedStateMachine(prepared.study.definition),
    learning: validatedStateMachine(prepared.learning.definition),
  };
  const executions = new Map<string, Running>();
  /** Like Step Functions' execution names: one live execution per decision or backtest. */
  const byName = new Map<string, string>();

  const start = (kind: WorkflowKind, id: string, input: Record<string, string>): { executionId: string } => {
    const name = `${kind}-${id}`;
    const existing = byName.get(name);
    if (existing && executions.get(existing)?.record.status === 'RUNNING') return { executionId: existing };
    const executionId = `local:${name}:${randomUUID()}`;
    const record: LocalExecution = {
      executionId,
      kind,
      input,
      status: 'RUNNING',
      maxPayloadBytes: 0,
      retries: {},
      caught: {},
      statesEntered: 0,
      historyEvents: 0,
      children: { succeeded: 0, failed: 0, aborted: 0, maxHistoryEvents: 0 },
    };
    const childAborts = new Set<() => void>();
    const taskHandlers: Record<string, (payload: unknown) => Promise<Json>> = Object.fromEntries(
      Object.entries(definitions.taskFunctions[kind]).map(([state, fn]) => [
        state,
        (payload: unknown) => handlers[fn](payload) as Promise<Json>,
      ]),
    );
    const retryIntervalOverrides =
      options.retryDelayMs !== undefined
        ? Object.fromEntries(
            Object.keys(definitions.taskFunctions[kind]).map((state) => [
              state,
              options.retryDelayMs as number,
            ]),
          )
        : undefined;
    const childRunOptions = {
      overrides: { taskResourceLocalHandlers: taskHandlers, retryIntervalOverrides },
    };
    const mapSpecs = prepared[kind].maps;
    for (const spec of Object.values(mapSpecs) as DistributedMapSpec[])
      taskHandlers[spec.stateName] = (mapInput: unknown) =>
        runMapRun(spec, mapInput, {
          runOptions: childRunOptions as never,
          parentName: name,
          onAbortable: (abort) => {
            childAborts.add(abort);
            return () => childAborts.delete(abort);
          },
          onChildEvents: (_index, events) => watch(events, { child: true }).catch(() => undefined),
          onChildEnd: (end) => {
            if (end.status === 'SUCCEEDED') record.children.succeeded++;
            else if (end.status === 'FAILED') record.children.failed++;
            else record.children.aborted++;
          },
        });
    const overrides = {
      taskResourceLocalHandlers: taskHandlers,
      ...(retryIntervalOverrides ? { retryIntervalOverrides } : {}),
    };
    const execution = machines[kind].run(input, {
      overrides: overrides as never,
      context: {
        Execution: { Id: executionId, Name: name, Input: input, StartTime: new Date().toISOString() },
      },
    });
    /**
     * Bytes of JSON of a state's input or output. The library hands the same object from event to event
     * (a state's output is the next one's input, an exit repeats the entry's input) and builds new
     * objects rather than changing them, so an object's size is measured once.
     */
    const sizes = new WeakMap<object, number>();
    const size = (v: unknown): number => {
      if (v === undefined) return 0;
      if (v === null || typeof v !== 'object') return Buffer.byteLength(JSON.stringify(v));
      let n = sizes.get(v);
      if (n === undefined) {
        n = Buffer.byteLength(JSON.stringify(v));
        sizes.set(v, n);
      }
      return n;
    };
    /** Statistics over one event log (the execution's own, or a child's: its history is its own). */
    const watch = async (events: AsyncIterable<unknown>, o: { child: boolean }) => {
      const log: { type: string; state?: { name: string; type: string } }[] = [];
      for await (const raw of events) {
        const ev = raw as {
          type: string;
          state?: { name: string; type: string; input?: unknown; output?: unknown };
        };
        log.push({
          type: ev.type,
          ...(ev.state ? { state: { name: ev.state.name, type: ev.state.type } } : {}),
        });
        if (ev.state) {
          record.maxPayloadBytes = Math.max(
            record.maxPayloadBytes,
            size(ev.state.input),
            size(ev.state.output),
          );
          if (ev.state.name === LOCAL_ITEM_SELECTOR_STATE) continue;
          if (ev.type === 'StateEntered') record.statesEntered++;
          if (ev.type === 'StateRetried')
            record.retries[ev.state.name] = (record.retries[ev.state.name] ?? 0) + 1;
          if (ev.type === 'StateCaught')
            record.caught[ev.state.name] = (record.caught[ev.state.name] ?? 0) + 1;
        }
      }
      const events_ = historyEventsOfLog(log, {
        typeOf: (n) => (n in mapSpecs ? 'DistributedMap' : undefined),
        skip: (n) => n === LOCAL_ITEM_SELECTOR_STATE,
      });
      if (o.child) record.children.maxHistoryEvents = Math.max(record.children.maxHistoryEvents, events_);
      else record.historyEvents = events_;
    };
    const watchEvents = watch(execution.eventLogs, { child: false }).catch(() => undefined); // statistics only
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
    const abort = () => {
      for (const a of [...childAborts]) a();
      execution.abort();
    };
    executions.set(executionId, { record, done: settled, abort });
    byName.set(name, executionId);
    return { executionId };
  };

  return {
    definitions,
    definitionsSource,
    startAnalysis: async ({ decisionId }) => start('analysis', decisionId, { decisionId }),
    startBacktest: async ({ backtestId }) => start('backtest', backtestId, { backtestId }),
    startStudy: async ({ studyId }) => start('study', studyId, { studyId }),
    startLearning: async ({ cycleId }) => start('learning', cycleId, { cycleId }),
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
