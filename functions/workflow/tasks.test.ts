/**
 * The task dispatchers, without a database: the step functions are recorded stand-ins here, because
 * what is under test is the thin layer itself (routing on `step`, input validation, tiny answers, error
 * names Step Functions matches on, Step Functions' `{ Error, Cause }` turned into `{ code, message }`).
 * The same dispatchers run against the real pipeline in functions/local/stepfunctions.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { LlmCallError } from '../../shared/llm/errors';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import { AppError } from '../../shared/util/errors';
import {
  type AgentStepFns,
  type BacktestStepFns,
  createAgentStepsHandler,
  createBacktestStepsHandler,
  stepError,
} from './tasks';

const ID = '0b6c7a52-4f7e-4d4e-9a51-3f4a2b1c0d9e';
const BT = '7d2f1e3a-1111-4a2b-8c3d-9e8f7a6b5c4d';
const deps = { marker: 'deps' } as unknown as PipelineDeps;

function recordingAgentSteps(overrides: Partial<AgentStepFns> = {}) {
  const calls: { step: string; input: unknown }[] = [];
  const rec =
    <R>(step: string, answer: R) =>
    async (d: PipelineDeps, input: unknown) => {
      expect(d).toBe(deps);
      calls.push({ step, input });
      return answer;
    };
  const fns: AgentStepFns = {
    prepareSnapshot: rec('prepareSnapshot', { ok: true }),
    runAnalyst: rec('runAnalyst', { big: 'x'.repeat(5000) }),
    markAnalystUnavailable: rec('markAnalystUnavailable', {}),
    runResearcher: rec('runResearcher', { gated: false, failed: false }),
    runTrader: rec('runTrader', { failed: false, action: 'BUY' }),
    runRisk: rec('runRisk', { failed: false }),
    finalizeDecision: rec('finalizeDecision', { action: 'BUY', sizePct: 5, status: 'completed' }),
    recordNoTrade: rec('recordNoTrade', {}),
    recordSnapshotFailure: rec('recordSnapshotFailure', {}),
    ...overrides,
  };
  return { calls, fns, handler: createAgentStepsHandler(async () => deps, fns) };
}

describe('agent steps dispatcher', () => {
  it('routes on step, passes only the parsed input, and answers small JSON', async () => {
    const { calls, handler } = recordingAgentSteps();
    const out = await handler({ step: 'runAnalyst', decisionId: ID, analyst: 'technical', extra: 'dropped' });
    expect(out).toEqual({ decisionId: ID, analyst: 'technical' }); // the 5 KB agent result stays in the DB
    expect(calls).toEqual([{ step: 'runAnalyst', input: { decisionId: ID, analyst: 'technical' } }]);
    expect(await handler({ step: 'runTrader', decisionId: ID })).toEqual({
      decisionId: ID,
      failed: false,
      action: 'BUY',
    });
    expect(await handler({ step: 'finalizeDecision', decisionId: ID })).toEqual({
      decisionId: ID,
      action: 'BUY',
      sizePct: 5,
      status: 'completed',
    });
  });

  it('turns a caught Lambda error report into { code, message } for markAnalystUnavailable and recordNoTrade', async () => {
    const { calls, handler } = recordingAgentSteps();
    const cause = JSON.stringify({
      errorType: 'LlmTimeout',
      errorMessage: 'no answer in 30 s',
      trace: ['at x'],
    });
    await handler({
      step: 'markAnalystUnavailable',
      decisionId: ID,
      analyst: 'sentiment',
      error: { Error: 'LlmTimeout', Cause: cause },
    });
    const out = await handler({
      step: 'recordNoTrade',
      decisionId: ID,
      error: { Error: 'States.Timeout', Cause: 'Task timed out' },
    });
    expect(calls.map((c) => c.input)).toEqual([
      { decisionId: ID, analyst: 'sentiment', error: { code: 'LlmTimeout', message: 'no answer in 30 s' } },
      { decisionId: ID, error: { code: 'States.Timeout', message: 'Task timed out' } },
    ]);
    expect(out).toEqual({ decisionId: ID, action: null, status: 'failed', error: 'States.Timeout' });
    const failed = await handler({
      step: 'recordSnapshotFailure',
      decisionId: ID,
      error: {
        Error: 'Error',
        Cause: JSON.stringify({ errorType: 'Error', errorMessage: 'connection lost' }),
      },
    });
    expect(calls.at(-1)).toEqual({
      step: 'recordSnapshotFailure',
      input: { decisionId: ID, error: { code: 'Error', message: 'connection lost' } },
    });
    expect(failed).toEqual({ decisionId: ID, status: 'failed', error: 'Error' });
  });

  it('rejects an unknown step and bad input with a VALIDATION_ERROR naming the field, calling nothing', async () => {
    const { calls, handler } = recordingAgentSteps();
    await expect(handler({ step: 'runEverything', decisionId: ID })).rejects.toMatchObject({
      // `name` is the errorType Lambda reports and Step Functions matches (not the generic 'AppError').
      name: 'VALIDATION_ERROR',
      code: 'VALIDATION_ERROR',
      details: { field: 'step' },
    });
    await expect(handler({ step: 'runAnalyst', decisionId: ID, analyst: 'astrology' })).rejects.toMatchObject(
      {
        name: 'VALIDATION_ERROR',
        message: expect.stringContaining('analyst'),
      },
    );
    await expect(handler({ step: 'runResearcher', decisionId: 'nope' })).rejects.toMatchObject({
      details: { field: 'decisionId' },
    });
    expect(calls).toEqual([]);
  });

  it('keeps the LLM error names Step Functions retries on, and names other AppErrors by their code', async () => {
    const { handler } = recordingAgentSteps({
      runResearcher: async () => {
        throw new LlmCallError('LlmRateLimited', '429');
      },
      runRisk: async () => {
        throw new AppError('UPSTREAM_BINANCE', 'binance is down');
      },
    });
    await expect(handler({ step: 'runResearcher', decisionId: ID })).rejects.toMatchObject({
      name: 'LlmRateLimited',
    });
    await expect(handler({ step: 'runRisk', decisionId: ID })).rejects.toMatchObject({
      name: 'UPSTREAM_BINANCE',
    });
  });

  it('logs a budget refusal (a value, not an error) for the BudgetExhausted metric filter', async () => {
    const lines: Record<string, unknown>[] = [];
    const fns = recordingAgentSteps({ runAnalyst: async () => ({ status: 'budget_exceeded' }) });
    const handler = createAgentStepsHandler(async () => deps, fns.fns, { warn: (obj) => lines.push(obj) });
    await handler({ step: 'runAnalyst', decisionId: ID, analyst: 'technical' });
    expect(lines).toEqual([{ event: 'budget_exceeded', step: 'runAnalyst', decisionId: ID }]);
  });
});

describe('backtest steps dispatcher', () => {
  it('keeps plan items to ids and times, and answers the new decision with its backtest', async () => {
    const fns: BacktestStepFns = {
      planBacktest: async () => ({
        items: [{ backtestId: BT, decisionTime: 1, candles: [1, 2, 3] } as never],
        maxFailedPct: 7.5,
      }),
      startBacktestDecision: async () => ({ decisionId: ID }),
      recordBacktestProgress: async (_d, i) => ({ decisionFailed: i.decisionId === ID }),
      simulateBacktest: async () => ({ huge: 'x'.repeat(10_000) }),
      markBacktestFailed: async () => undefined,
      endBacktestSegment: async (_d, i) =>
        i.segment < 2
          ? { last: false, next: i.segment + 1, cycleId: ID, extra: 'x'.repeat(100) }
          : { last: true, next: null, cycleId: null },
    };
    const handler = createBacktestStepsHandler(async () => deps, fns);
    expect(await handler({ step: 'planBacktest', backtestId: BT })).toEqual({
      backtestId: BT,
      items: [{ backtestId: BT, decisionTime: 1 }],
      maxFailedPct: 7.5,
      segment: 0,
    });
    // A walk-forward segment's end: the next segment and the cycle to run first, nothing else.
    expect(await handler({ step: 'endBacktestSegment', backtestId: BT, segment: 1 })).toEqual({
      backtestId: BT,
      last: false,
      next: 2,
      cycleId: ID,
    });
    expect(await handler({ step: 'endBacktestSegment', backtestId: BT, segment: 2 })).toMatchObject({
      last: true,
      cycleId: null,
    });
    await expect(handler({ step: 'endBacktestSegment', backtestId: BT, segment: -1 })).rejects.toMatchObject({
      details: { field: 'segment' },
    });
    // The decision point's child fails on this flag, and only a decision's progress carries it.
    expect(await handler({ step: 'recordBacktestProgress', backtestId: BT, decisionId: ID })).toEqual({
      decisionFailed: true,
    });
    expect(await handler({ step: 'recordBacktestProgress', backtestId: BT })).toEqual({
      decisionFailed: false,
    });
    expect(await handler({ step: 'startBacktestDecision', backtestId: BT, decisionTime: 1 })).toEqual({
      backtestId: BT,
      decisionId: ID,
    });
    expect(await handler({ step: 'simulateBacktest', backtestId: BT })).toEqual({
      backtestId: BT,
      simulated: true,
      status: 'succeeded',
    });
    await expect(handler({ step: 'startBacktestDecision', backtestId: BT })).rejects.toMatchObject({
      details: { field: 'decisionTime' },
    });
  });
});

describe('stepError', () => {
  it('reads Step Functions errors from AWS and from the local runner alike', () => {
    expect(stepError({ Error: 'Error', Cause: 'boom' })).toEqual({ code: 'Error', message: 'boom' });
    expect(stepError({ Error: 'X', Cause: '{"errorMessage":"from lambda"}' })).toEqual({
      code: 'X',
      message: 'from lambda',
    });
    expect(stepError({ Error: 'X', Cause: '{not json' })).toEqual({ code: 'X', message: '{not json' });
    expect(stepError(undefined)).toEqual({ code: 'Unknown', message: 'Unknown' });
    expect(stepError({ Error: 'X', Cause: 'y'.repeat(5000) }).message).toHaveLength(1000);
  });
});
