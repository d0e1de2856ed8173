/**
 * Distributed Map on a laptop. aws-local-stepfunctions 3 ignores a Map's `ProcessorConfig`: it runs a
 * DISTRIBUTED Map as an inline one over the input array (MaxConcurrency honoured), and ignores
 * ToleratedFailurePercentage(Path), ToleratedFailureCount(Path), ItemReader, ItemBatcher and
 * ResultWriter, so one failed item fails the whole Map. Checked against its source (MapStateAction) and
 * by functions/local/distributed-map.test.ts.
 *
 * So the local runner executes such a Map itself, keeping the deployed definition unchanged:
 * `prepareDistributedMaps` swaps each top-level DISTRIBUTED Map state for a Task state (same InputPath,
 * ResultSelector, ResultPath, OutputPath, Retry, Catch, Next/End), whose local handler `runMapRun` runs
 * every item as a CHILD EXECUTION of the library (its own event log, as on AWS its own history), with the
 * Map's MaxConcurrency and tolerated failures. Past the tolerance it stops starting items, aborts the
 * running ones and fails with `States.ExceedToleratedFailureThreshold`, as a Map Run does. The result is
 * the children's outputs in item order (the Map's ResultPath decides what the parent keeps).
 *
 * What still cannot run here: an ItemReader (S3), an ItemBatcher and a ResultWriter (refused with a
 * clear error), and a DISTRIBUTED Map nested inside another state.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

type StateDef = Record<string, unknown> & { Type: string };
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The Pass state the runner puts in front of a child to apply the Map's ItemSelector (local only). */
export const LOCAL_ITEM_SELECTOR_STATE = '(local) item selector';
/** The error a Map Run fails with past its tolerated failures (Step Functions' name). */
export const EXCEED_TOLERATED_FAILURE = 'States.ExceedToleratedFailureThreshold';
/** AWS's default for a Distributed Map without MaxConcurrency is 10,000 children at once. */
const DEFAULT_MAX_CONCURRENCY = 10_000;
/** The replacement Task's own timeout: the machine's TimeoutSeconds bounds it (setTimeout caps ~24.8 days). */
const MAP_TASK_TIMEOUT_SECONDS = 2_000_000;

const UNSUPPORTED = ['ItemReader', 'ItemBatcher', 'ResultWriter'] as const;
const KEPT_FIELDS = [
  'Comment',
  'InputPath',
  'ResultSelector',
  'ResultPath',
  'OutputPath',
  'Retry',
  'Catch',
  'Next',
  'End',
] as const;

export interface DistributedMapSpec {
  stateName: string;
  /** The item processor as a machine of its own (the ItemSelector as its first, local-only, state). */
  child: StateMachineDefinition;
  itemsPath?: string;
  maxConcurrency?: number;
  maxConcurrencyPath?: string;
  toleratedFailurePercentage?: number;
  toleratedFailurePercentagePath?: string;
  toleratedFailureCount?: number;
  toleratedFailureCountPath?: string;
}

const isDistributed = (s: StateDef) =>
  s.Type === 'Map' &&
  ((s.ItemProcessor as { ProcessorConfig?: { Mode?: string } } | undefined)?.ProcessorConfig?.Mode ??
    'INLINE') === 'DISTRIBUTED';

/**
 * The definition with every top-level DISTRIBUTED Map replaced by a Task whose Resource is `taskArn`,
 * and the specs to run them by state name. A definition without one comes back unchanged.
 */
export function prepareDistributedMaps(
  def: StateMachineDefinition,
  taskArn: string,
): { definition: StateMachineDefinition; maps: Record<string, DistributedMapSpec> } {
  const states = def.States as unknown as Record<string, StateDef>;
  const maps: Record<string, DistributedMapSpec> = {};
  const out: Record<string, StateDef> = {};
  for (const [name, state] of Object.entries(states)) {
    assertNoNestedDistributed(name, state);
    if (!isDistributed(state)) {
      out[name] = state;
      continue;
    }
    for (const field of UNSUPPORTED)
      if (field in state)
        throw new Error(`local Step Functions: Map "${name}" uses ${field}, which cannot run locally`);
    const proc = state.ItemProcessor as { StartAt: string; States: Record<string, StateDef> };
    const selector = state.ItemSelector ?? state.Parameters;
    const child = {
      StartAt: selector ? LOCAL_ITEM_SELECTOR_STATE : proc.StartAt,
      States: {
        ...(selector
          ? { [LOCAL_ITEM_SELECTOR_STATE]: { Type: 'Pass', Parameters: selector, Next: proc.StartAt } }
          : {}),
        ...proc.States,
      },
    } as unknown as StateMachineDefinition;
    maps[name] = {
      stateName: name,
      child,
      ...pick(state, {
        itemsPath: 'ItemsPath',
        maxConcurrency: 'MaxConcurrency',
        maxConcurrencyPath: 'MaxConcurrencyPath',
        toleratedFailurePercentage: 'ToleratedFailurePercentage',
        toleratedFailurePercentagePath: 'ToleratedFailurePercentagePath',
        toleratedFailureCount: 'ToleratedFailureCount',
        toleratedFailureCountPath: 'ToleratedFailureCountPath',
      }),
    };
    const task: StateDef = { Type: 'Task', Resource: taskArn, TimeoutSeconds: MAP_TASK_TIMEOUT_SECONDS };
    for (const f of KEPT_FIELDS) if (f in state) task[f] = state[f];
    out[name] = task;
  }
  if (Object.keys(maps).length === 0) return { definition: def, maps };
  return { definition: { ...def, States: out } as unknown as StateMachineDefinition, maps };
}

function assertNoNestedDistributed(name: string, state: StateDef): void {
  const inner: { States: Record<string, StateDef> }[] = [];
  if (state.Type === 'Parallel') inner.push(...(state.Branches as { States: Record<string, StateDef> }[]));
  if (state.Type === 'Map' && !isDistributed(state))
    inner.push((state.ItemProcessor ?? state.Iterator) as { States: Record<string, StateDef> });
  if (isDistributed(state)) inner.push(state.ItemProcessor as { States: Record<string, StateDef> });
  for (const b of inner)
    for (const [n, s] of Object.entries(b.States)) {
      if (isDistributed(s))
        throw new Error(
          `local Step Functions: DISTRIBUTED Map "${n}" inside "${name}" cannot run locally (top level only)`,
        );
      assertNoNestedDistributed(n, s);
    }
}

function pick<K extends string>(state: StateDef, fields: Record<K, string>): Partial<Record<K, never>> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(fields) as [K, string][]) if (f in state) out[k] = state[f];
  return out as Partial<Record<K, never>>;
}

/** A reference path of the form `$` or `$.a.b` (what these definitions use), read from `input`. */
export function readPath(input: unknown, path: string): unknown {
  if (path === '$') return input;
  if (!/^\$(\.[A-Za-z_][\w-]*)+$/.test(path))
    throw new Error(`local Step Functions: path ${path} is not supported by the local Distributed Map`);
  let v: unknown = input;
  for (const key of path.slice(2).split('.')) {
    if (v === null || typeof v !== 'object' || !(key in v))
      throw Object.assign(new Error(`Invalid path ${path}: no ${key} in the input`), {
        name: 'States.Runtime',
      });
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** One child execution's end, as the Map Run sees it. */
export interface ChildEnd {
  index: number;
  status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  output?: Json;
  error?: { name: string; message: string };
}

export interface MapRunHooks {
  /** Options for every child's `run` (task handlers, retry overrides). */
  runOptions: Parameters<StateMachine['run']>[1];
  /** Called with each child's event log while it runs (statistics); the child ends when it settles. */
  onChildEvents?: (index: number, events: AsyncIterable<unknown>) => Promise<void> | void;
  onChildEnd?: (end: ChildEnd) => void;
  /** Registers an abort of the running children (the parent's abort calls it). */
  onAbortable?: (abort: () => void) => () => void;
  /** Names the child executions (`<parent>/<map>:<index>`). */
  parentName: string;
}

const numberAt = (input: unknown, value: number | undefined, path: string | undefined, what: string) => {
  if (value !== undefined) return value;
  if (path === undefined) return undefined;
  const v = readPath(input, path);
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw Object.assign(new Error(`${what} at ${path} must be a number >= 0 (got ${JSON.stringify(v)})`), {
      name: 'States.Runtime',
    });
  return v;
};

/**
 * Run a Map Run: every item a child execution, at most MaxConcurrency at once; the Map Run fails when the
 * failed children pass ToleratedFailureCount or their share of ALL items passes ToleratedFailurePercentage
 * (neither set: any failure fails it), as Step Functions computes it.
 */
export async function runMapRun(
  spec: DistributedMapSpec,
  input: unknown,
  hooks: MapRunHooks,
): Promise<Json[]> {
  const items = spec.itemsPath ? readPath(input, spec.itemsPath) : input;
  if (!Array.isArray(items))
    throw Object.assign(new Error(`Map "${spec.stateName}": ItemsPath must point to an array`), {
      name: 'States.Runtime',
    });
  const pct = numberAt(
    input,
    spec.toleratedFailurePercentage,
    spec.toleratedFailurePercentagePath,
    'ToleratedFailurePercentage',
  );
  if (pct !== undefined && pct > 100)
    throw Object.assign(new Error(`ToleratedFailurePercentage must be 0 to 100 (got ${pct})`), {
      name: 'States.Runtime',
    });
  const count = numberAt(
    input,
    spec.toleratedFailureCount,
    spec.toleratedFailureCountPath,
    'ToleratedFailureCount',
  );
  const exceeded = (failed: number) =>
    pct === undefined && count === undefined
      ? failed > 0
      : (pct !== undefined && (failed * 100) / items.length > pct) || (count !== undefined && failed > count);
  const concurrency = Math.max(
    1,
    numberAt(input, spec.maxConcurrency, spec.maxConcurrencyPath, 'MaxConcurrency') ||
      DEFAULT_MAX_CONCURRENCY,
  );

  const machine = new StateMachine(spec.child, { validationOptions: { noValidate: true } });
  const outputs: Json[] = new Array(items.length).fill(null);
  const running = new Set<() => void>();
  const stopAll = () => {
    for (const abort of running) abort();
  };
  const unregister = hooks.onAbortable?.(stopAll);
  let next = 0;
  let failed = 0;
  let stopped: Error | undefined;

  const runOne = async (index: number) => {
    const execution = machine.run(input as never, {
      ...hooks.runOptions,
      context: {
        Execution: { Id: `${hooks.parentName}/${spec.stateName}:${index}`, Name: `${index}` },
        Map: { Item: { Index: index, Value: items[index] as never } },
      } as never,
    });
    running.add(execution.abort);
    const watched = hooks.onChildEvents?.(index, execution.eventLogs);
    try {
      outputs[index] = (await execution.result) as Json;
      hooks.onChildEnd?.({ index, status: 'SUCCEEDED', output: outputs[index] });
    } catch (e) {
      const err = (e as { cause?: { name?: string; message?: string } }).cause ?? (e as Error);
      const aborted = (e as Error).name === 'ExecutionAbortedError';
      hooks.onChildEnd?.({
        index,
        status: aborted ? 'ABORTED' : 'FAILED',
        error: { name: err.name ?? 'Error', message: err.message ?? String(e) },
      });
      if (aborted) return;
      failed++;
      if (!stopped && exceeded(failed)) {
        stopped = Object.assign(
          new Error(
            `The tolerated failure threshold of Map "${spec.stateName}" was exceeded: ${failed} of ${items.length} items failed (tolerated: ${pct ?? 0}%${count !== undefined ? `, ${count} items` : ''}); last: ${err.name}: ${err.message}`,
          ),
          { name: EXCEED_TOLERATED_FAILURE },
        );
        stopAll();
      }
    } finally {
      running.delete(execution.abort);
      await watched;
    }
  };
  const worker = async () => {
    while (!stopped && next < items.length) await runOne(next++);
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  } finally {
    unregister?.();
  }
  if (stopped) throw stopped;
  return outputs;
}
