/**
 * What aws-local-stepfunctions does with a DISTRIBUTED Map over an input array, and the local Map Run
 * runner that fills the gap (distributed-map.ts). Hand-written definitions, so each behaviour is pinned
 * on its own; the backtest machine itself runs through it in stepfunctions.test.ts.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { EXCEED_TOLERATED_FAILURE, prepareDistributedMaps, runMapRun } from './distributed-map';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:Work';
const MAP_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:LocalMapRun';

/** Plan -> a DISTRIBUTED Map over `$.items` (each item: Work, a Choice failing odd ones) -> Done. */
function definition(map: Record<string, unknown>): StateMachineDefinition {
  return {
    StartAt: 'Fan out',
    States: {
      'Fan out': {
        Type: 'Map',
        ItemsPath: '$.items',
        ItemSelector: { 'n.$': '$$.Map.Item.Value', 'tag.$': '$.tag' },
        ResultPath: '$.results',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
        Next: 'Done',
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Work',
          States: {
            Work: { Type: 'Task', Resource: ARN, ResultPath: '$.work', Next: 'Bad?' },
            'Bad?': {
              Type: 'Choice',
              Choices: [{ Variable: '$.work.bad', BooleanEquals: true, Next: 'Item failed' }],
              Default: 'Item done',
            },
            'Item failed': { Type: 'Fail', Error: 'ItemFailed', Cause: 'bad item' },
            'Item done': { Type: 'Succeed', OutputPath: '$.work' },
          },
        },
        ...map,
      },
      Done: { Type: 'Succeed' },
      Caught: { Type: 'Succeed' },
    },
  } as unknown as StateMachineDefinition;
}

function work(bad: (n: number) => boolean) {
  const seen: number[] = [];
  let active = 0;
  let peak = 0;
  const handler = async (input: unknown) => {
    const { n } = input as { n: number };
    seen.push(n);
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 2));
    active--;
    return { n, bad: bad(n) };
  };
  return { handler, seen, peak: () => peak };
}

const items = (n: number) => Array.from({ length: n }, (_, i) => i);

async function runLocal(def: StateMachineDefinition, input: unknown, handler: (i: unknown) => unknown) {
  const { definition: prepared, maps } = prepareDistributedMaps(def, MAP_ARN);
  const handlers: Record<string, (i: unknown) => unknown> = { Work: handler };
  for (const spec of Object.values(maps))
    handlers[spec.stateName] = (mapInput) =>
      runMapRun(spec, mapInput, {
        runOptions: { overrides: { taskResourceLocalHandlers: handlers as never } },
        parentName: 'test',
      });
  const run = new StateMachine(prepared).run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never },
  });
  return (await run.result) as { results?: unknown[]; error?: { Error: string; Cause: string } };
}

describe('aws-local-stepfunctions 3 and a DISTRIBUTED Map (what it does by itself)', () => {
  it('accepts the definition and runs the items like an inline Map', async () => {
    const w = work(() => false);
    const out = (await new StateMachine(definition({ MaxConcurrency: 2 })).run(
      { items: items(4), tag: 't' } as never,
      {
        overrides: { taskResourceLocalHandlers: { Work: w.handler as never } },
      },
    ).result) as { results: unknown[] };
    expect(out.results).toEqual(items(4).map((n) => ({ n, bad: false })));
  });

  it('ignores the tolerated failure percentage: one failed item fails the whole Map', async () => {
    const w = work((n) => n === 3);
    const out = (await new StateMachine(definition({ ToleratedFailurePercentage: 50 })).run(
      { items: items(10), tag: 't' } as never,
      {
        overrides: { taskResourceLocalHandlers: { Work: w.handler as never } },
      },
    ).result) as { error?: { Error: string } };
    expect(out.error?.Error).toBe('ItemFailed'); // on AWS: 1 of 10 is inside 50%, the Map succeeds
  });
});

describe('the local Map Run runner', () => {
  it('leaves a definition without a DISTRIBUTED Map unchanged', () => {
    const inline = definition({});
    const map = inline.States['Fan out'] as unknown as { ItemProcessor: { ProcessorConfig: unknown } };
    map.ItemProcessor.ProcessorConfig = { Mode: 'INLINE' };
    expect(prepareDistributedMaps(inline, MAP_ARN)).toEqual({ definition: inline, maps: {} });
  });

  it('runs every item as a child with the ItemSelector applied, outputs in item order', async () => {
    const w = work(() => false);
    const out = await runLocal(definition({ MaxConcurrency: 3 }), { items: items(7), tag: 'x' }, w.handler);
    expect(out.results).toEqual(items(7).map((n) => ({ n, bad: false })));
    expect(w.seen.sort((a, b) => a - b)).toEqual(items(7));
    expect(w.peak()).toBeLessThanOrEqual(3);
    expect(w.peak()).toBeGreaterThan(1);
  });

  it('tolerates failed items up to the percentage read from the input, as a Map Run does', async () => {
    const w = work((n) => n % 5 === 0); // 2 of 10 fail: 20%
    const out = await runLocal(
      definition({ ToleratedFailurePercentagePath: '$.pct', MaxConcurrency: 4 }),
      { items: items(10), tag: 'x', pct: 20 },
      w.handler,
    );
    expect(out.error).toBeUndefined();
    expect(out.results).toHaveLength(10);
    expect(out.results?.[0]).toBeNull(); // a failed child has no output
  });

  it('past the percentage, stops starting items and fails with States.ExceedToleratedFailureThreshold', async () => {
    const w = work(() => true); // every item fails
    const out = await runLocal(
      definition({ ToleratedFailurePercentagePath: '$.pct', MaxConcurrency: 1 }),
      { items: items(100), tag: 'x', pct: 10 },
      w.handler,
    );
    expect(out.error?.Error).toBe(EXCEED_TOLERATED_FAILURE);
    expect(out.error?.Cause).toMatch(/11 of 100 items failed/);
    expect(w.seen).toHaveLength(11); // 11 > 10% of 100; nothing after it started
  });

  it('with no tolerance set, the first failed item fails the Map Run', async () => {
    const w = work((n) => n === 2);
    const out = await runLocal(definition({ MaxConcurrency: 1 }), { items: items(5), tag: 'x' }, w.handler);
    expect(out.error?.Error).toBe(EXCEED_TOLERATED_FAILURE);
    expect(w.seen).toEqual([0, 1, 2]);
  });

  it('refuses what cannot run locally, by name', () => {
    expect(() => prepareDistributedMaps(definition({ ItemReader: { Resource: 'x' } }), MAP_ARN)).toThrow(
      /ItemReader/,
    );
  });
});
