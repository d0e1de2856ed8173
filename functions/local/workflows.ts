/**
 * Workflow starters for the local host and the CLI.
 *
 * - 'stepfunctions': the adapter in functions/local/stepfunctions.ts runs the synthesized
 *   state machines with aws-local-stepfunctions, mapping each Task to the same task handlers Lambda
 *   runs. One definition, two hosts.
 * - 'inprocess': the same pipeline steps called directly (the analysis chain, and the backtest steps
 *   with a bounded pool as the Map's MaxConcurrency). The fallback when the local state machines cannot
 *   be built, and the fast path for the CLI.
 *
 * Both are wrapped by `trackWorkflows`, which remembers what this process started so that shutdown can
 * wait for it: through the adapter's own `drain` when it has one, else by watching the rows' statuses.
 *
 * Both can also be awaited per execution (`awaitExecution`, bounded): POST /analyze awaits the run it
 * started instead of polling the database for it.
 */
import { eq, inArray } from 'drizzle-orm';
import type { Logger } from 'pino';
import { backtests, decisions, learningCycles, studies } from '../../shared/db/schema';
import { runLearningCycle } from '../../shared/learning/cycle';
import { runDecisionChain } from '../../shared/pipeline/analysis';
import { runBacktest } from '../../shared/pipeline/backtest';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import { runStudy } from '../../shared/studies/runner';
import type { ExecutionAwaiter } from '../api/analysis';
import type { Container } from '../runtime/container';

export interface HostWorkflows extends WorkflowStarter, Partial<ExecutionAwaiter> {
  readonly kind: 'stepfunctions' | 'inprocess' | 'custom';
  /** Resolve true when everything started here finished, false when `timeoutMs` passed first. */
  drain(timeoutMs: number): Promise<boolean>;
  close?(): Promise<void>;
}

type Starter = WorkflowStarter &
  Partial<ExecutionAwaiter> & {
    kind?: HostWorkflows['kind'];
    drain?(timeoutMs: number): Promise<boolean>;
    close?(): Promise<void>;
  };

const DRAIN_POLL_MS = 50;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function waitAll(running: Set<Promise<unknown>>, timeoutMs: number): Promise<boolean> {
  if (running.size === 0) return Promise.resolve(true);
  return Promise.race([
    Promise.allSettled([...running]).then(() => true),
    new Promise<boolean>((ok) => setTimeout(() => ok(false), timeoutMs).unref()),
  ]);
}

/** `done` or the timeout, whichever comes first; the timer never outlives the wait. */
async function raceTimeout(done: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      done.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((ok) => {
        timer = setTimeout(() => ok(false), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createInProcessWorkflows(
  deps: PipelineDeps,
  opts: { concurrency: number; log?: Logger },
): Starter & { kind: 'inprocess' } {
  const running = new Set<Promise<unknown>>();
  /** Running executions by id, for awaitExecution; removed when they end. */
  const byId = new Map<string, Promise<unknown>>();
  const track = (p: Promise<unknown>, executionId: string) => {
    const settled = p.finally(() => {
      running.delete(settled);
      byId.delete(executionId);
    });
    running.add(settled);
    byId.set(executionId, settled);
  };
  let seq = 0;
  return {
    kind: 'inprocess',
    async startAnalysis({ decisionId }) {
      const executionId = `inprocess:analysis:${decisionId}:${++seq}`;
      track(
        runDecisionChain(deps, decisionId).catch(async (err: unknown) => {
          opts.log?.error({ err, decisionId }, 'analysis workflow failed');
          // As the state machine's last Catch does: the decision ends failed, with its error, never "running".
          const e = err as { code?: unknown; name?: unknown; message?: unknown };
          const code = typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'INTERNAL';
          await deps.db
            .update(decisions)
            .set({
              status: 'failed',
              error: { code, message: String(e.message ?? err) },
              completedAt: new Date(deps.now()),
            })
            .where(eq(decisions.id, decisionId))
            .catch(() => undefined);
        }),
        executionId,
      );
      return { executionId };
    },
    async startBacktest({ backtestId }) {
      const executionId = `inprocess:backtest:${backtestId}:${++seq}`;
      track(
        runBacktest(deps, backtestId, { concurrency: opts.concurrency }).catch((err) =>
          opts.log?.error({ err, backtestId }, 'backtest workflow failed'),
        ),
        executionId,
      );
      return { executionId };
    },
    async startStudy({ studyId }) {
      const executionId = `inprocess:study:${studyId}:${++seq}`;
      track(
        runStudy(deps, studyId, { backtestConcurrency: opts.concurrency }).catch((err) =>
          opts.log?.error({ err, studyId }, 'study workflow failed'),
        ),
        executionId,
      );
      return { executionId };
    },
    async startLearning({ cycleId }) {
      const executionId = `inprocess:learning:${cycleId}:${++seq}`;
      // runLearningCycle marks the cycle failed before it rethrows.
      track(
        runLearningCycle(deps, cycleId).catch((err) =>
          opts.log?.error({ err, cycleId }, 'learning workflow failed'),
        ),
        executionId,
      );
      return { executionId };
    },
    // An id no longer running has ended: nothing to wait for.
    awaitExecution: (executionId, { timeoutMs }) =>
      raceTimeout(byId.get(executionId) ?? Promise.resolve(), timeoutMs),
    drain: (timeoutMs) => waitAll(running, timeoutMs),
  };
}

/**
 * The local Step Functions adapter (functions/local/stepfunctions-runtime.ts): definitions from the file
 * cache keyed by the cdk/ sources, synthesized (aws-cdk-lib) only when that misses.
 */
async function loadStepFunctions(
  container: Container,
  opts: { concurrency: number; log?: Logger },
): Promise<Starter> {
  // Loaded on demand: the in-process choice never needs it.
  const { loadLocalWorkflows } = await import('./stepfunctions-runtime');
  const local = await loadLocalWorkflows({
    deps: container.deps,
    concurrency: opts.concurrency,
    ...(opts.log ? { logger: opts.log } : {}),
  });
  opts.log?.debug({ definitions: local.definitionsSource }, 'local state machines ready');
  return Object.assign(local, { kind: 'stepfunctions' as const });
}

/**
 * Choose the adapter. With 'auto' and 'stepfunctions' the state machines are synthesized (a few
 * seconds of aws-cdk-lib, on the main thread). In the background mode the host listens first: it calls
 * `prepare()` once it listens, and a start that arrives before the machines are ready prepares them
 * and waits. Loading aws-cdk-lib blocks the event loop, so it must not begin before the host listens,
 * or the ready line waits for it. With 'auto', a synthesis failure falls back to the in-process runner
 * (logged); with 'stepfunctions' it is an error of every start.
 */
export async function selectWorkflows(
  container: Container,
  choice: WorkflowStarter | 'auto' | 'inprocess' | 'stepfunctions',
  opts: { concurrency: number; log?: Logger; background?: boolean },
): Promise<Starter & { prepare?(): void }> {
  if (typeof choice === 'object')
    return Object.assign(choice, { kind: (choice as Starter).kind ?? 'custom' });
  if (choice === 'inprocess') return createInProcessWorkflows(container.deps, opts);
  let ready: Promise<Starter> | undefined;
  const prepare = (): Promise<Starter> => {
    ready ??= loadStepFunctions(container, opts).catch((e: unknown) => {
      if (choice === 'stepfunctions') throw e;
      opts.log?.warn(
        { reason: (e as Error)?.message },
        'local state machines unavailable; running workflows in-process with the same steps',
      );
      return createInProcessWorkflows(container.deps, opts);
    });
    ready.catch(() => undefined); // reported by the first start that needs it
    return ready;
  };
  if (!opts.background) return prepare();
  return {
    kind: 'stepfunctions',
    prepare: () => void prepare(),
    startAnalysis: async (i) => (await prepare()).startAnalysis(i),
    startBacktest: async (i) => (await prepare()).startBacktest(i),
    startStudy: async (i) => {
      const inner = await prepare();
      if (!inner.startStudy) throw new Error('this workflow adapter cannot run studies');
      return inner.startStudy(i);
    },
    startLearning: async (i) => {
      const inner = await prepare();
      if (!inner.startLearning) throw new Error('this workflow adapter cannot run learning cycles');
      return inner.startLearning(i);
    },
    awaitExecution: async (executionId, o) => {
      const inner = await prepare();
      if (!inner.awaitExecution) throw new Error('this workflow adapter cannot await an execution');
      return inner.awaitExecution(executionId, o);
    },
    // Nothing was started while the machines were never prepared.
    drain: async (timeoutMs) => {
      const inner = ready ? await ready.catch(() => undefined) : undefined;
      return inner?.drain ? inner.drain(timeoutMs) : true;
    },
    close: async () => {
      const inner = ready ? await ready.catch(() => undefined) : undefined;
      await inner?.close?.();
    },
  };
}

/** Remember what was started so shutdown can wait for it (see header). */
export function trackWorkflows(inner: Starter, container: Container): HostWorkflows {
  const analyses = new Set<string>();
  const backtestIds = new Set<string>();
  const studyIds = new Set<string>();
  const cycleIds = new Set<string>();
  async function pending(): Promise<number> {
    let n = 0;
    if (analyses.size) {
      const rows = await container.db
        .select({ id: decisions.id, status: decisions.status })
        .from(decisions)
        .where(inArray(decisions.id, [...analyses]));
      for (const r of rows) {
        if (r.status === 'pending' || r.status === 'running') n++;
        else analyses.delete(r.id);
      }
    }
    if (backtestIds.size) {
      const rows = await container.db
        .select({ id: backtests.id, status: backtests.status })
        .from(backtests)
        .where(inArray(backtests.id, [...backtestIds]));
      for (const r of rows) {
        if (r.status === 'pending' || r.status === 'running') n++;
        else backtestIds.delete(r.id);
      }
    }
    if (studyIds.size) {
      const rows = await container.db
        .select({ id: studies.id, status: studies.status })
        .from(studies)
        .where(inArray(studies.id, [...studyIds]));
      for (const r of rows) {
        if (r.status === 'pending' || r.status === 'running') n++;
        else studyIds.delete(r.id);
      }
    }
    if (cycleIds.size) {
      const rows = await container.db
        .select({ id: learningCycles.id, status: learningCycles.status })
        .from(learningCycles)
        .where(inArray(learningCycles.id, [...cycleIds]));
      for (const r of rows) {
        if (r.status === 'pending' || r.status === 'running') n++;
        else cycleIds.delete(r.id);
      }
    }
    return n;
  }
  return {
    kind: inner.kind ?? 'custom',
    ...(inner.startStudy
      ? {
          startStudy: async (i: { studyId: string }) => {
            studyIds.add(i.studyId);
            return (inner.startStudy as NonNullable<typeof inner.startStudy>)(i);
          },
        }
      : {}),
    ...(inner.startLearning
      ? {
          startLearning: async (i: { cycleId: string }) => {
            cycleIds.add(i.cycleId);
            return (inner.startLearning as NonNullable<typeof inner.startLearning>)(i);
          },
        }
      : {}),
    async startAnalysis(i) {
      analyses.add(i.decisionId);
      return inner.startAnalysis(i);
    },
    async startBacktest(i) {
      backtestIds.add(i.backtestId);
      return inner.startBacktest(i);
    },
    ...(inner.awaitExecution
      ? { awaitExecution: (executionId, o) => inner.awaitExecution?.(executionId, o) ?? Promise.resolve() }
      : {}),
    async drain(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      if (inner.drain) return inner.drain(timeoutMs);
      while ((await pending()) > 0) {
        if (Date.now() >= deadline) return false;
        await sleep(DRAIN_POLL_MS);
      }
      return true;
    },
    close: inner.close ? () => inner.close?.() ?? Promise.resolve() : undefined,
  };
}
