/**
 * The executions half without synthesis or a database: small hand-written definitions (Pass states
 * only, so no task handler runs), to pin what the runner measures and that machines built once per
 * definition still run isolated executions.
 */
import { describe, expect, it } from 'vitest';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import {
  createLocalWorkflowsFrom,
  type LocalDefinitions,
  validatedStateMachine,
} from './stepfunctions-runtime';

const BLOB = 'x'.repeat(2_000);
/** A: adds a 2 KB result under $.r; B: shrinks the state to one small field. */
const passMachine = (tag: string) =>
  ({
    StartAt: 'A',
    States: {
      A: { Type: 'Pass', Result: { blob: BLOB, tag }, ResultPath: '$.r', Next: 'B' },
      B: { Type: 'Pass', Parameters: { 'input.$': '$$.Execution.Input', 'tag.$': '$.r.tag' }, End: true },
    },
  }) as never;
const definitions = (): LocalDefinitions => ({
  analysis: passMachine('analysis'),
  backtest: passMachine('backtest'),
  study: passMachine('study'),
  learning: passMachine('learning'),
  taskFunctions: { analysis: {}, backtest: {}, study: {}, learning: {} },
});
const noDeps = async (): Promise<PipelineDeps> => {
  throw new Error('no task runs here');
};

describe('local executions of given definitions', () => {
  it('measure the largest state input or output exactly, per execution', async () => {
    const w = createLocalWorkflowsFrom(definitions(), { deps: noDeps });
    const ids = ['d-1', 'd-22', 'd-333'];
    const execs = await Promise.all(
      ids.map(async (decisionId) => w.awaitExecution((await w.startAnalysis({ decisionId })).executionId)),
    );
    for (const [i, e] of execs.entries()) {
      const decisionId = ids[i] as string;
      expect(e.status).toBe('SUCCEEDED');
      // isolated: each output is its own input's
      expect(e.output).toEqual({ input: { decisionId }, tag: 'analysis' });
      // A's output (the input plus the 2 KB result) is the largest payload
      expect(e.maxPayloadBytes).toBe(
        Buffer.byteLength(JSON.stringify({ decisionId, r: { blob: BLOB, tag: 'analysis' } })),
      );
      expect(e.statesEntered).toBe(2);
    }
    await w.close();
  });

  it('a second runner over the same definitions (validated once) runs the same way', async () => {
    for (let k = 0; k < 3; k++) {
      const w = createLocalWorkflowsFrom(definitions(), { deps: noDeps });
      const backtestId = `b-${k}`;
      const e = await w.awaitExecution((await w.startBacktest({ backtestId })).executionId);
      expect(e.status).toBe('SUCCEEDED');
      expect(e.output).toEqual({ input: { backtestId }, tag: 'backtest' });
      expect(e.maxPayloadBytes).toBe(
        Buffer.byteLength(JSON.stringify({ backtestId, r: { blob: BLOB, tag: 'backtest' } })),
      );
      await w.close();
    }
  });
});

describe('validatedStateMachine', () => {
  it('refuses an invalid definition every time (a refusal is not remembered)', () => {
    const invalid = { StartAt: 'Nowhere', States: { A: { Type: 'Pass', End: true } } } as never;
    expect(() => validatedStateMachine(invalid)).toThrow(/invalid/);
    expect(() => validatedStateMachine(invalid)).toThrow(/invalid/);
  });

  it('never changes the definition it is given (asl-validator would add QueryLanguage)', () => {
    const def = passMachine('unchanged');
    const before = JSON.stringify(def);
    validatedStateMachine(def);
    validatedStateMachine(def);
    expect(JSON.stringify(def)).toBe(before);
  });

  it('one machine runs concurrent executions in isolation', async () => {
    const m = validatedStateMachine(passMachine('m'));
    const again = validatedStateMachine(passMachine('m')); // validated already: built without validating
    const outs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? m : again).run({ decisionId: `id-${i}` }).result),
    );
    expect(outs).toEqual(
      Array.from({ length: 20 }, (_, i) => ({ input: { decisionId: `id-${i}` }, tag: 'm' })),
    );
  });
});
