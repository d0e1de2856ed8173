/**
 * Studies over HTTP (the local host, its local Study and Backtest state machines, the offline provider,
 * the team's real 4h candles): a bad request is a 400 that starts nothing; a small study whose variants
 * carry backtest options (decision mode, blind, fees) runs to its report, each variant cell's backtest
 * deciding with its variant's options; nothing to resume is a 409; the CSV; the OpenAPI document shows the variant options.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_DATA, type Harness, pollUntil, SKIP_REASON, startHarness } from './harness';

const study = (over: Record<string, unknown> = {}) => ({
  name: 'api: consensus vs pipeline',
  symbols: ['ETHUSDT'],
  windows: [{ start_date: '2025-03-01', end_date: '2025-04-01' }],
  timeframe: '4h',
  max_decisions: 2,
  variants: [
    { label: 'pipeline', options: { decision_mode: 'pipeline' } },
    { label: 'consensus', options: { decision_mode: 'consensus', blind: true, fee_bps: 5 } },
  ],
  baselines: ['buy_and_hold'],
  bootstrap_replicates: 100,
  ...over,
});

describe.skipIf(!HAS_DATA)(`studies through the API ${HAS_DATA ? '' : SKIP_REASON}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workflows: 'stepfunctions' });
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    [
      'an unknown variant option',
      { variants: [{ label: 'x', options: { warp_speed: true } }] },
      'variants.0.options.warp_speed: unknown field',
    ],
    [
      'a variant option POST /backtest refuses',
      { variants: [{ label: 'x', options: { decision_mode: 'vote' } }] },
      'decision_mode must be pipeline or consensus',
    ],
    ['an empty grid', { windows: [] }, 'windows: the grid is empty'],
    [
      'a reversed window',
      { windows: [{ start_date: '2025-04-01', end_date: '2025-03-01' }] },
      'windows.0.end_date: must be after start_date',
    ],
    [
      'an oversized study',
      {
        max_decisions: 1000,
        windows: { start_date: '2025-01-01', end_date: '2025-09-01', window_days: 30, step_days: 2 },
      },
      'over STUDY_MAX_DECISIONS (20000)',
    ],
  ])('POST /studies with %s is a 400 and starts nothing', async (_name, over, message) => {
    const r = await h.post('/studies', study(over));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('VALIDATION_ERROR');
    expect(r.body.error.message).toContain(message);
    const list = await h.get('/studies');
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([]);
    expect((await h.get('/backtests')).body.items).toEqual([]);
  });

  it('runs a study whose variants carry backtest options, each cell backtest with its own', async () => {
    const r = await h.post('/studies', study());
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ cells: 3, variantCells: 2, baselineCells: 1, decisions: 4 });
    const done = await pollUntil(
      h,
      r.body.poll,
      (b) => b.status === 'succeeded' || b.status === 'failed',
      120_000,
    );
    expect(done.status).toBe('succeeded');
    expect(done.progress).toEqual({ done: 3, total: 3 });
    const byLabel = Object.fromEntries(
      done.cells.map((c: { label: string; backtestId: string | null }) => [c.label, c]),
    );
    // Each variant's backtest decided with its own options: its decisions' mode.
    const decisionModes = async (backtestId: string) => {
      const bt = (await h.get(`/backtests/${backtestId}`)).body;
      expect(bt.status).toBe('succeeded');
      const modes = new Set<string>();
      for (const d of bt.result.decisions) modes.add((await h.get(`/analyses/${d.id}`)).body.decisionMode);
      return [...modes];
    };
    expect(await decisionModes(byLabel.consensus.backtestId)).toEqual(['consensus']);
    expect(await decisionModes(byLabel.pipeline.backtestId)).toEqual(['pipeline']);
    expect(done.report.groups[0].arms.map((a: { arm: string }) => a.arm)).toEqual([
      'pipeline',
      'consensus',
      'buy_and_hold',
    ]);

    // Every cell is complete: nothing to resume (409, nothing changes); an unknown study is a 404.
    const resume = await h.post(`/studies/${r.body.id}/resume`, {});
    expect(resume.status).toBe(409);
    expect(resume.body.error.message).toMatch(/no failed or flagged cell to resume/);
    expect((await h.get(r.body.poll)).body.status).toBe('succeeded');
    expect((await h.post('/studies/00000000-0000-4000-8000-000000000000/resume', {})).status).toBe(404);

    const csv = await h.raw('GET', `/studies/${r.body.id}/cells.csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await csv.text()).trim().split('\n')).toHaveLength(4);
  }, 180_000);

  it('GET /studies refuses an unknown query parameter', async () => {
    const r = await h.get('/studies?page=2');
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/page: unknown query parameter/);
  });

  it('the OpenAPI document shows the variant options as the backtest options', async () => {
    const doc = (await h.get('/openapi.json')).body;
    const body = doc.paths['/studies'].post.requestBody.content['application/json'].schema;
    const json = JSON.stringify(body);
    for (const option of ['decision_mode', 'blind', 'decision_interval', 'fill', 'fee_bps', 'slippage_bps'])
      expect(json).toContain(`"${option}"`);
  });
});
