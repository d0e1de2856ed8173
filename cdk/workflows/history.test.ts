/**
 * History events and durations counted from the SYNTHESIZED definitions (the ones that deploy: cdk/app.test.ts
 * checks the local synthesis equals the deployed template), retries at the maxima configured in them.
 * AWS caps one execution's history at 25,000 events; what still runs inline must fit at the largest
 * input the API accepts (BACKTEST_DECISIONS_CEILING decision points). The figures are printed for the
 * README's limits paragraph.
 */
import aslValidator from 'asl-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesizeLocalDefinitions } from '../../functions/local/stepfunctions';
import type { LocalDefinitions } from '../../functions/local/stepfunctions-runtime';
import { BACKTEST_DECISIONS_CEILING, MAX_LEARNING_SEGMENTS } from '../../shared/backtest/limits';
import { countHistoryEvents, HISTORY_EVENT_LIMIT, maxAttempts, worstCaseSeconds } from './history';

// biome-ignore lint/suspicious/noExplicitAny: ASL is untyped JSON, read by shape here.
type Asl = any;
const EXPRESS_MAX_SECONDS = 5 * 60;
/** A Map item is `{ backtestId, decisionTime }`: a UUID and epoch milliseconds. */
const ITEM = { backtestId: '0b6c7a52-4f7e-4d4e-9a51-3f4a2b1c0d9e', decisionTime: 1_700_000_000_000 };
const SFN_PAYLOAD_LIMIT = 256 * 1024;

let defs: LocalDefinitions;
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
beforeAll(() => {
  defs = synthesizeLocalDefinitions(10);
});

describe('the backtest machine', () => {
  it('runs its decision points as a DISTRIBUTED Map of STANDARD children, valid ASL', () => {
    for (const def of [defs.analysis, defs.backtest]) {
      const { isValid, errorsText } = aslValidator(def as Asl);
      expect(isValid, errorsText()).toBe(true);
    }
    const map = (defs.backtest as Asl).States['Decision points'];
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.ToleratedFailurePercentagePath).toBe('$.plan.maxFailedPct');
    expect(map.ResultPath).toBeNull();
    expect(map.ItemReader).toBeUndefined(); // items from the state: ids and times only
  });

  it('fits 25,000 history events at the largest input, retries at their configured maximum', () => {
    const items = () => BACKTEST_DECISIONS_CEILING;
    const parent = countHistoryEvents(defs.backtest as Asl, { items });
    const child = parent.children['Decision points']!;
    const analysis = countHistoryEvents(defs.analysis as Asl, { items });
    // Nothing inline grows with the input in either machine: the parent is the same at 1 item or 2,000.
    expect(parent.inlinePerItem).toEqual({});
    expect(analysis.inlinePerItem).toEqual({});
    expect(countHistoryEvents(defs.backtest as Asl, { items: () => 1 }).events).toBe(parent.events);
    for (const n of [parent.events, child, analysis.events]) expect(n).toBeLessThan(HISTORY_EVENT_LIMIT);
    // Walk-forward learning loops through the decision Map once per segment: at MAX_LEARNING_SEGMENTS
    // the parent still fits, and each segment costs the same.
    const loops = (n: number) => (head: string) => (head === 'Decision points' ? n : 1);
    const walkForward = countHistoryEvents(defs.backtest as Asl, {
      items,
      loops: loops(MAX_LEARNING_SEGMENTS),
    });
    const perSegment = countHistoryEvents(defs.backtest as Asl, { loops: loops(2) }).events - parent.events;
    expect(perSegment).toBeGreaterThan(0);
    expect(walkForward.events).toBe(parent.events + (MAX_LEARNING_SEGMENTS - 1) * perSegment);
    expect(walkForward.events).toBeLessThan(HISTORY_EVENT_LIMIT);
    console.log(JSON.stringify({ walkForwardParentEventsAtMaxSegments: walkForward.events, perSegment }));

    // For comparison: the same item processor run INLINE, as before this Map was distributed.
    const inline = clone(defs.backtest) as Asl;
    inline.States['Decision points'].ItemProcessor.ProcessorConfig = { Mode: 'INLINE' };
    const inlineNoRetry = countHistoryEvents(inline, { retries: 'none' }).inlinePerItem['Decision points']!;
    const inlineMax = countHistoryEvents(inline).inlinePerItem['Decision points']!;
    const rest = countHistoryEvents(inline, { items: () => 0 }).events;
    expect(rest + inlineNoRetry * BACKTEST_DECISIONS_CEILING).toBeGreaterThan(HISTORY_EVENT_LIMIT);
    console.log(
      JSON.stringify({
        backtestParentEvents: parent.events,
        decisionChildEventsWorst: child,
        decisionChildEventsNoRetry: countHistoryEvents(defs.backtest as Asl, { retries: 'none' }).children[
          'Decision points'
        ],
        analysisEventsWorst: analysis.events,
        analysisEventsNoRetry: countHistoryEvents(defs.analysis as Asl, { retries: 'none' }).events,
        inlinePerDecisionNoRetry: inlineNoRetry,
        inlinePerDecisionWorst: inlineMax,
        inlineDecisionsThatFitNoRetry: Math.floor((HISTORY_EVENT_LIMIT - rest) / inlineNoRetry),
        inlineDecisionsThatFitWorst: Math.floor((HISTORY_EVENT_LIMIT - rest) / inlineMax),
      }),
    );
  });

  it('counts the Retry configured in the definition, so a change to it changes the count', () => {
    const child = (def: Asl) => countHistoryEvents(def).children['Decision points']!;
    const before = child(defs.backtest);
    const more = clone(defs.backtest) as Asl;
    const researcher = more.States['Decision points'].ItemProcessor.States.Researcher;
    const attempts = maxAttempts(researcher);
    researcher.Retry.push({ ErrorEquals: ['Extra'], MaxAttempts: 4 });
    expect(maxAttempts(researcher)).toBe(attempts + 4);
    expect(child(more)).toBe(before + 4 * 3); // 3 events a retry: TaskScheduled, TaskStarted, TaskFailed
    const none = clone(defs.backtest) as Asl;
    const dropRetries = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(dropRetries);
      else if (v && typeof v === 'object') {
        delete (v as Asl).Retry;
        Object.values(v).forEach(dropRetries);
      }
    };
    dropRetries(none);
    expect(child(none)).toBe(
      countHistoryEvents(defs.backtest as Asl, { retries: 'none' }).children['Decision points'],
    );
    expect(child(none)).toBeLessThan(before);
  });

  it('keeps the plan that carries the items under 256 KiB at the largest input', () => {
    const plan = {
      backtestId: ITEM.backtestId,
      plan: {
        backtestId: ITEM.backtestId,
        items: Array(BACKTEST_DECISIONS_CEILING).fill(ITEM),
        maxFailedPct: 10,
      },
    };
    expect(Buffer.byteLength(JSON.stringify(plan))).toBeLessThan(SFN_PAYLOAD_LIMIT);
  });

  it('needs STANDARD children: a decision point can run longer than an Express execution’s 5 minutes', () => {
    const child = (defs.backtest as Asl).States['Decision points'].ItemProcessor;
    const seconds = worstCaseSeconds(child);
    expect(seconds).toBeGreaterThan(EXPRESS_MAX_SECONDS);
    console.log(JSON.stringify({ decisionChildWorstCaseSeconds: seconds }));
  });
});
