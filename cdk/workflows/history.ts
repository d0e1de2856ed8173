/**
 * Execution history events, counted from a definition (plain ASL JSON): what one execution of a state
 * machine writes into its history in the worst case, retries included at their configured maximum.
 * AWS caps one execution's history at 25,000 events (a hard quota); past it the execution fails.
 *
 * Event counts per state, from Step Functions' history event types:
 * - a Task: TaskStateEntered and TaskStateExited, plus TaskScheduled, TaskStarted and TaskSucceeded (or
 *   TaskFailed / TaskTimedOut) for every attempt; a state's attempts are 1 + the sum of its retriers'
 *   MaxAttempts (default 3) in the worst case, where each retrier is exhausted in turn;
 * - Pass, Choice, Wait, Succeed: Entered and Exited; Fail: FailStateEntered;
 * - Parallel: ParallelStateEntered, Started, Succeeded (or Failed), Exited, plus its branches' states;
 * - inline Map: MapStateEntered, Started, Succeeded, Exited, plus MapIterationStarted and
 *   MapIterationSucceeded and the processor's states for EVERY item: this is what grows with the input;
 * - Distributed Map: in the parent MapStateEntered, MapStateStarted, MapRunStarted, MapRunSucceeded (or
 *   Failed), MapStateSucceeded, MapStateExited, whatever the item count; every item is a child
 *   execution with its own history (ExecutionStarted, its states, ExecutionSucceeded or Failed);
 * - the execution itself: ExecutionStarted and ExecutionSucceeded (or Failed).
 * A Retry on a Parallel or a Map reruns all of it; a Catch leads to its Next (the worst of all paths is
 * taken). Pure: no aws-cdk-lib, so the local runner uses the same weights for its event logs.
 */

export const HISTORY_EVENT_LIMIT = 25_000;

export const HISTORY_EVENTS = {
  execution: 2,
  taskState: 2,
  taskAttempt: 3,
  plainState: 2,
  failState: 1,
  parallel: 4,
  inlineMap: 4,
  mapIteration: 2,
  distributedMap: 6,
} as const;

/** Step Functions' default MaxAttempts of a retrier that names none. */
const DEFAULT_MAX_ATTEMPTS = 3;

type State = Record<string, unknown> & { Type: string };
interface Graph {
  StartAt: string;
  States: Record<string, State>;
}

export interface HistoryCount {
  /** Worst-case events of one execution of this graph (the execution's own two included). */
  events: number;
  /** Per DISTRIBUTED Map (by state name): the worst-case events of ONE child execution. */
  children: Record<string, number>;
  /** Per inline Map (by state name): the worst-case events ONE item adds to this execution. */
  inlinePerItem: Record<string, number>;
}

export interface CountOptions {
  /** Items an inline Map runs (by state name); the default counts one. */
  items?: (mapState: string) => number;
  /** 'max': every retrier exhausted (the worst case); 'none': no retry at all. */
  retries?: 'max' | 'none';
  /**
   * Times the loop through a state (the head a back edge returns to) runs, at most; default 1. The
   * walk-forward backtest loops through its decision Map once per segment (MAX_LEARNING_SEGMENTS).
   */
  loops?: (loopHead: string) => number;
}

/** Attempts of a state in the worst case: 1 + the sum of its retriers' MaxAttempts. */
export function maxAttempts(state: State, retries: 'max' | 'none' = 'max'): number {
  if (retries === 'none') return 1;
  const retriers = (state.Retry as { MaxAttempts?: number }[] | undefined) ?? [];
  return 1 + retriers.reduce((n, r) => n + (r.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS), 0);
}

/** The worst case of one execution of `def` (see the header). */
export function countHistoryEvents(def: Graph, options: CountOptions = {}): HistoryCount {
  const children: Record<string, number> = {};
  const inlinePerItem: Record<string, number> = {};
  const events = HISTORY_EVENTS.execution + worstPath(def, options, children, inlinePerItem);
  return { events, children, inlinePerItem };
}

function worstPath(
  graph: Graph,
  o: CountOptions,
  children: Record<string, number>,
  inlinePerItem: Record<string, number>,
): number {
  const memo = new Map<string, number>();
  const visiting = new Set<string>();
  const heads = new Set<string>();
  const own = (name: string) => {
    const state = graph.States[name];
    if (!state) throw new Error(`history count: no state "${name}"`);
    return stateEvents(name, state, o, children, inlinePerItem);
  };
  const from = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) {
      // A back edge: the loop's further passes are counted at its head (below).
      heads.add(name);
      return 0;
    }
    visiting.add(name);
    const state = graph.States[name] as State;
    let total = own(name) + Math.max(0, ...successors(state).map(from));
    if (heads.has(name)) {
      const passes = Math.max(1, o.loops?.(name) ?? 1);
      total += (passes - 1) * loopBody(name);
    }
    visiting.delete(name);
    memo.set(name, total);
    return total;
  };
  /** The worst path from a loop head back to it (the head's own events included). */
  const loopBody = (head: string): number => {
    const seen = new Set<string>();
    const go = (name: string, first: boolean): number => {
      if (!first && name === head) return 0;
      if (seen.has(name)) return Number.NEGATIVE_INFINITY; // another loop: not this one's body
      seen.add(name);
      const best = Math.max(
        Number.NEGATIVE_INFINITY,
        ...successors(graph.States[name] as State).map((n) => go(n, false)),
      );
      seen.delete(name);
      return best === Number.NEGATIVE_INFINITY ? best : own(name) + best;
    };
    return Math.max(0, go(head, true));
  };
  return from(graph.StartAt);
}

function successors(state: State): string[] {
  const next: string[] = [];
  if (typeof state.Next === 'string') next.push(state.Next);
  if (state.Type === 'Choice') {
    for (const c of state.Choices as { Next: string }[]) next.push(c.Next);
    if (typeof state.Default === 'string') next.push(state.Default);
  }
  for (const c of (state.Catch as { Next: string }[] | undefined) ?? []) next.push(c.Next);
  return next;
}

function stateEvents(
  name: string,
  state: State,
  o: CountOptions,
  children: Record<string, number>,
  inlinePerItem: Record<string, number>,
): number {
  const attempts = maxAttempts(state, o.retries);
  switch (state.Type) {
    case 'Task':
      return HISTORY_EVENTS.taskState + HISTORY_EVENTS.taskAttempt * attempts;
    case 'Fail':
      return HISTORY_EVENTS.failState;
    case 'Parallel': {
      const branches = (state.Branches as Graph[]).reduce(
        (n, b) => n + worstPath(b, o, children, inlinePerItem),
        0,
      );
      return (HISTORY_EVENTS.parallel + branches) * attempts;
    }
    case 'Map': {
      const proc = (state.ItemProcessor ?? state.Iterator) as Graph & { ProcessorConfig?: { Mode?: string } };
      if ((proc.ProcessorConfig?.Mode ?? 'INLINE') === 'DISTRIBUTED') {
        children[name] = HISTORY_EVENTS.execution + worstPath(proc, o, children, inlinePerItem);
        return HISTORY_EVENTS.distributedMap * attempts;
      }
      const perItem = HISTORY_EVENTS.mapIteration + worstPath(proc, o, children, inlinePerItem);
      inlinePerItem[name] = perItem;
      return (HISTORY_EVENTS.inlineMap + perItem * (o.items?.(name) ?? 1)) * attempts;
    }
    default:
      return HISTORY_EVENTS.plainState;
  }
}

/**
 * The same weights over an event log of aws-local-stepfunctions (StateEntered, StateRetried, ...): the
 * events the run would have written on AWS. `typeOf` names a state's type on AWS where the local
 * runner changed it (a DISTRIBUTED Map runs locally as a Task); `skip` drops local-only states.
 */
export function historyEventsOfLog(
  log: readonly { type: string; state?: { name: string; type: string } }[],
  o: { typeOf?: (name: string) => string | undefined; skip?: (name: string) => boolean } = {},
): number {
  let n = 0;
  for (const ev of log) {
    if (ev.type === 'ExecutionStarted' || ev.type === 'ExecutionSucceeded' || ev.type === 'ExecutionFailed')
      n += 1;
    if (ev.type === 'MapIterationStarted' || ev.type === 'MapIterationSucceeded') n += 1;
    if (!ev.state || o.skip?.(ev.state.name)) continue;
    const type = o.typeOf?.(ev.state.name) ?? ev.state.type;
    if (ev.type === 'StateEntered') {
      if (type === 'Task') n += 1 + HISTORY_EVENTS.taskAttempt;
      else if (type === 'Fail') n += HISTORY_EVENTS.failState;
      else if (type === 'Parallel' || type === 'Map') n += 1 + (HISTORY_EVENTS.parallel - 2);
      else if (type === 'DistributedMap') n += HISTORY_EVENTS.distributedMap - 1;
      else n += 1;
    }
    if (ev.type === 'StateExited') n += 1;
    if (ev.type === 'StateRetried' && type === 'Task') n += HISTORY_EVENTS.taskAttempt;
  }
  return n;
}

/**
 * The longest an execution of `graph` can run by its definition: every Task at its TimeoutSeconds for
 * every attempt, every retry wait at its full (un-jittered, capped) length, a Parallel as its slowest
 * branch. Wait states and inline Maps are not used by these machines and are refused.
 */
export function worstCaseSeconds(graph: Graph): number {
  const memo = new Map<string, number>();
  const from = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const state = graph.States[name];
    if (!state) throw new Error(`duration: no state "${name}"`);
    let own = 0;
    if (state.Type === 'Task') {
      const attempts = maxAttempts(state);
      own = attempts * Number(state.TimeoutSeconds ?? 60) + retryWaits(state);
    } else if (state.Type === 'Parallel') {
      own = Math.max(...(state.Branches as Graph[]).map(worstCaseSeconds)) * maxAttempts(state);
    } else if (state.Type === 'Map' || state.Type === 'Wait') {
      throw new Error(`duration: ${state.Type} "${name}" is not counted`);
    }
    const next: string[] = [];
    if (typeof state.Next === 'string') next.push(state.Next);
    if (state.Type === 'Choice') {
      for (const c of state.Choices as { Next: string }[]) next.push(c.Next);
      if (typeof state.Default === 'string') next.push(state.Default);
    }
    for (const c of (state.Catch as { Next: string }[] | undefined) ?? []) next.push(c.Next);
    const total = own + Math.max(0, ...next.map(from));
    memo.set(name, total);
    return total;
  };
  return from(graph.StartAt);
}

function retryWaits(state: State): number {
  let total = 0;
  for (const r of (state.Retry as Record<string, number>[] | undefined) ?? []) {
    const attempts = r.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    for (let k = 0; k < attempts; k++) {
      const wait = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** k;
      total += r.MaxDelaySeconds !== undefined ? Math.min(wait, r.MaxDelaySeconds) : wait;
    }
  }
  return total;
}
