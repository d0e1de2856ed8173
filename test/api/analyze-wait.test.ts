/**
 * How POST /analyze waits: with a starter that can await its execution (the local hosts), the handler
 * awaits it and reads the decision once, instead of polling the row; without one (AWS), it polls.
 *
 * The starter here runs the real pipeline chain in process, held back a moment so that a polling
 * handler would read the row many times. The handler's reads are counted on its own database handle;
 * the chain runs on an uncounted one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../shared/db/client';
import { runDecisionChain } from '../../shared/pipeline/analysis';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import { HAS_DATA, type Harness, SKIP_REASON, startHarness } from './harness';

/** How long the fake execution waits before it runs: many poll intervals (ANALYZE_POLL_MS is 25). */
const HOLD_BACK_MS = 400;

function countSelects(db: Db): { db: Db; count: () => number; reset: () => void } {
  let n = 0;
  const db2 = new Proxy(db, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop === 'select' && typeof v === 'function')
        return (...args: unknown[]) => {
          n++;
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      return v;
    },
  });
  return { db: db2, count: () => n, reset: () => (n = 0) };
}

describe.skipIf(!HAS_DATA)(`POST /analyze awaits the execution ${HAS_DATA ? '' : SKIP_REASON}`, () => {
  let h: Harness;
  let chainDeps: PipelineDeps;
  const awaited: { executionId: string; timeoutMs: number }[] = [];
  const runs = new Map<string, Promise<unknown>>();
  const delayedChain = (decisionId: string) =>
    new Promise((ok) => setTimeout(ok, HOLD_BACK_MS)).then(() => runDecisionChain(chainDeps, decisionId));

  const awaitable: WorkflowStarter & {
    awaitExecution(id: string, o: { timeoutMs: number }): Promise<unknown>;
  } = {
    async startAnalysis({ decisionId }) {
      const executionId = `test:${decisionId}`;
      runs.set(executionId, delayedChain(decisionId));
      return { executionId };
    },
    async startBacktest() {
      throw new Error('not used');
    },
    async awaitExecution(executionId, o) {
      awaited.push({ executionId, timeoutMs: o.timeoutMs });
      return runs.get(executionId);
    },
  };

  beforeAll(async () => {
    h = await startHarness({ workflows: awaitable });
    chainDeps = { ...h.server.container.deps };
  });
  afterAll(async () => {
    await h?.close();
  });

  it('awaits the started execution and reads the decision once', async () => {
    const counted = countSelects(chainDeps.db);
    h.server.container.deps.db = counted.db;
    // Reads before the execution starts (the pre-flight data check) are not the read under test.
    const saved = awaitable.awaitExecution;
    let atAwait = -1;
    awaitable.awaitExecution = (executionId, o) => {
      atAwait = counted.count();
      return saved(executionId, o);
    };
    try {
      const r = await h.post('/analyze', {
        symbol: 'BTCUSDT',
        mode: 'backtest_step',
        timeframe: '4h',
        timestamp: '2024-03-01',
      });
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('completed');
      expect(awaited).toHaveLength(1);
      expect(awaited[0]!.executionId).toBe(`test:${r.body.id}`);
      expect(awaited[0]!.timeoutMs).toBeLessThanOrEqual(h.settings.ANALYZE_WAIT_MS);
      // getAnalysis is two selects (the row, its call counts): one read, no polling.
      expect(atAwait).toBeGreaterThanOrEqual(0);
      expect(counted.count() - atAwait).toBe(2);
    } finally {
      awaitable.awaitExecution = saved;
      h.server.container.deps.db = chainDeps.db;
    }
  });

  it('falls back to polling the decision when the awaited answer is not final', async () => {
    const before = awaited.length;
    const saved = awaitable.awaitExecution;
    // An awaiter that gives up at once (as a wrapper whose adapter cannot await would).
    awaitable.awaitExecution = async (executionId, o) => {
      awaited.push({ executionId, timeoutMs: o.timeoutMs });
      throw new Error('cannot await');
    };
    try {
      const r = await h.post('/analyze', {
        symbol: 'ETHUSDT',
        mode: 'backtest_step',
        timeframe: '4h',
        timestamp: '2024-03-01',
      });
      expect(r.status).toBe(200);
      expect(r.body.status).toBe('completed');
      expect(awaited.length).toBe(before + 1);
    } finally {
      awaitable.awaitExecution = saved;
    }
  });
});
