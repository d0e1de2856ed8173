/**
 * A small study end to end through the synthesized Study state machine, executed locally: plan -> the
 * cell Map (each variant cell a nested Backtest execution of the local Backtest machine, each baseline
 * in its step) -> report. Real pipeline, offline agent provider, PGlite; candles from a seeded walk.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { backtests, decisions, studies, studyCells } from '../../shared/db/schema';
import { testDrivers, useTestDatabase } from '../../shared/db/testing';
import { LlmCallError } from '../../shared/llm/errors';
import { klineToCandle } from '../../shared/market/kline';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import { offlineTestDeps } from '../../shared/pipeline/testing';
import {
  type CellResult,
  createStudy,
  getStudy,
  resumeStudy,
  type StudyReport,
  studyCellsCsv,
} from '../../shared/studies';
import { AppError } from '../../shared/util/errors';
import { generateKlines } from '../../test/helpers/binance-server';
import { agentStepFns } from '../workflow/bindings';
import { createLocalWorkflows, type LocalWorkflows, synthesizeLocalDefinitions } from './stepfunctions';

const TF_MS = 4 * 3_600_000;
const DAY = 86_400_000;
const DATA_START = Date.parse('2024-01-01T00:00:00Z');
const BARS = 2_600;
const candles = generateKlines({
  timeframe: '4h',
  start: DATA_START,
  count: BARS,
  startPrice: 42_000,
  seed: 11,
}).map(klineToCandle);
const barTime = (i: number) => DATA_START + i * TF_MS;
const NOW = barTime(BARS) + 1;
const iso = (ms: number) => new Date(ms).toISOString();
const W0 = barTime(1_500);

const request = (over: Record<string, unknown> = {}) => ({
  name: 'blind vs plain',
  symbols: ['BTCUSDT'],
  windows: [
    { start_date: iso(W0), end_date: iso(W0 + 20 * DAY) },
    { start_date: iso(W0 + 30 * DAY), end_date: iso(W0 + 50 * DAY) },
  ],
  timeframe: '4h',
  max_decisions: 3,
  variants: [
    { label: 'plain', options: {} },
    { label: 'blind', options: { blind: true } },
  ],
  baselines: ['buy_and_hold', 'sma_crossover', 'random'],
  seed: 5,
  bootstrap_replicates: 200,
  ...over,
});

describe('the Study definition', () => {
  it('has the cell Map inline locally, each variant cell a nested Backtest execution', () => {
    const defs = synthesizeLocalDefinitions(4);
    const cells = defs.study.States.Cells as unknown as {
      Type: string;
      ItemsPath?: string;
      ItemProcessor: { ProcessorConfig?: { Mode?: string }; States: Record<string, { Resource?: string }> };
    };
    expect(cells.Type).toBe('Map');
    expect(cells.ItemsPath).toBe('$.plan.items');
    expect(cells.ItemProcessor.ProcessorConfig?.Mode ?? 'INLINE').toBe('INLINE');
    expect(cells.ItemProcessor.States['Run cell backtest']?.Resource).toMatch(/states:startExecution\.sync/);
    expect(defs.taskFunctions.study['Run cell backtest']).toBe('backtestExecution');
  }, 300_000); // the first synthesis loads aws-cdk-lib: minutes on a loaded 2-core machine
});

describe.each(testDrivers())('a study through the local state machines on %s', (driver) => {
  const t = useTestDatabase(driver);
  let deps: PipelineDeps;
  let w: LocalWorkflows;

  beforeAll(() => {
    deps = offlineTestDeps({ db: t.db, candles: { BTCUSDT: { '4h': candles } }, now: NOW });
    w = createLocalWorkflows({ deps, retryDelayMs: 0, mapConcurrency: 4 });
  }, 300_000);
  beforeEach(() => t.reset());
  afterAll(async () => {
    await w.close();
  });

  it('plans the cells, runs each variant as a backtest and each baseline, and reports', async () => {
    const created = await createStudy(deps, request());
    expect(created.cells).toBe(2 * 2 + 2 * 3);
    expect(created.variantCells).toBe(4);
    expect(created.decisions).toBe(4 * 3);
    expect(created.estimate.provider).toBe('offline');

    const exec = await w.awaitExecution((await w.startStudy({ studyId: created.studyId })).executionId);
    expect(exec.status).toBe('SUCCEEDED');

    const study = await getStudy(deps, created.studyId);
    expect(study.status).toBe('succeeded');
    expect(study.progress).toEqual({ done: 10, total: 10 });
    expect(study.cells.every((c) => c.status === 'succeeded')).toBe(true);
    const bts = await t.db.select().from(backtests);
    expect(bts).toHaveLength(4);
    expect(bts.every((b) => b.status === 'succeeded')).toBe(true);

    // Each cell's excess is its total return minus buy-and-hold's on the same span.
    const rows = await t.db.select().from(studyCells).where(eq(studyCells.studyId, created.studyId));
    for (const r of rows) {
      const res = r.result as CellResult;
      expect(res.excess).toBeCloseTo(res.totalReturn - res.buyAndHoldReturn, 12);
      // The daily returns compound to the total returns exactly (E_0 is their base).
      const g = res.daily.strategy.reduce((p, x) => p * (1 + x), 1) - 1;
      expect(g).toBeCloseTo(res.totalReturn, 9);
    }
    const bh = rows.filter((r) => r.label === 'buy_and_hold').map((r) => r.result as CellResult);
    for (const b of bh) expect(b.excess).toBeCloseTo(0, 12);
    const random = rows.find((r) => r.label === 'random');
    expect((random?.result as CellResult | undefined)?.decisionCounts.decided).toBe(3); // the firm’s count

    const report = study.report as StudyReport;
    expect(report.groups.map((g) => g.sample)).toEqual(['not_applicable']);
    const arms = report.groups[0]?.arms ?? [];
    expect(arms.map((a) => a.arm)).toEqual(['plain', 'blind', 'buy_and_hold', 'sma_crossover', 'random']);
    for (const a of arms) {
      expect(a.cells).toBe(2);
      expect(a.completeCells).toBe(2);
      expect(a.leftOut).toBe(0);
      expect(a.sentence).toContain(a.arm);
      expect(a.ci95).not.toBeNull();
    }
    expect(arms.find((a) => a.arm === 'plain')?.dsr).not.toBeUndefined();
    expect(arms.find((a) => a.arm === 'buy_and_hold')?.meanExcess).toBeCloseTo(0, 12);

    // The CSV: a header and one line per cell.
    const csv = await studyCellsCsv(deps, created.studyId);
    const lines = csv.trim().split('\n');
    expect(lines[0]).toMatch(/^seq,kind,label,symbol,window_start,window_end,status,/);
    expect(lines).toHaveLength(11);
  }, 120_000);

  it('a rerun of the same study trades the same in every cell (deterministic cells)', async () => {
    const a = await createStudy(deps, request({ baselines: [] }));
    await w.awaitExecution((await w.startStudy({ studyId: a.studyId })).executionId);
    const b = await createStudy(deps, request({ baselines: [] }));
    await w.awaitExecution((await w.startStudy({ studyId: b.studyId })).executionId);
    const cells = async (id: string) =>
      (await t.db.select().from(studyCells).where(eq(studyCells.studyId, id))).map(
        (r) => r.result as CellResult,
      );
    const ra = await cells(a.studyId);
    const rb = await cells(b.studyId);
    expect(rb.map((r) => r.tradeListHash).sort()).toEqual(ra.map((r) => r.tradeListHash).sort());
  }, 120_000);

  it('resume: the failed and flagged cells run again, only their failed decisions decided again', async () => {
    // A first run whose researcher fails twice: those decisions are failed (never a HOLD), their
    // backtests stop past BACKTEST_MAX_FAILED_PCT and their cells are flagged.
    let failures = 2;
    const faulty = createLocalWorkflows({
      deps,
      retryDelayMs: 0,
      mapConcurrency: 4,
      steps: {
        agent: {
          runResearcher: async (d, i) => {
            if (failures-- > 0) throw new LlmCallError('LlmUpstreamError', 'researcher model is down');
            return agentStepFns.runResearcher(d, i);
          },
        },
      },
    });
    let created: Awaited<ReturnType<typeof createStudy>>;
    try {
      created = await createStudy(deps, request({ baselines: ['buy_and_hold'] }));
      await faulty.awaitExecution((await faulty.startStudy({ studyId: created.studyId })).executionId);
    } finally {
      await faulty.close();
    }
    const first = await getStudy(deps, created.studyId);
    expect(first.status).toBe('succeeded');
    const flagged = first.cells.filter((c) => c.flagged);
    expect(flagged.length).toBeGreaterThanOrEqual(1);
    expect(flagged.length).toBeLessThanOrEqual(2);
    expect(flagged.every((c) => c.kind === 'variant' && c.backtestId !== null)).toBe(true);
    const decisionsBefore = await t.db.select().from(decisions);
    const madeBefore = decisionsBefore.filter((d) => d.status === 'completed' || d.status === 'no_trade');
    const backtestsBefore = (await t.db.select({ id: backtests.id }).from(backtests)).map((b) => b.id).sort();

    const resumed = await resumeStudy(deps, created.studyId);
    expect(resumed.cells).toBe(flagged.length);
    expect(resumed.backtestsResumed).toBe(flagged.length);
    // Every planned decision of those backtests is either kept or decided again.
    expect(resumed.decisionsToRun + resumed.decisionsKept).toBe(flagged.length * 3);
    expect(resumed.decisionsToRun).toBeGreaterThanOrEqual(2);
    // Reopened, and a second resume while it is pending is refused.
    expect((await getStudy(deps, created.studyId)).status).toBe('pending');
    await expect(resumeStudy(deps, created.studyId)).rejects.toMatchObject({ code: 'CONFLICT' });

    const exec = await w.awaitExecution((await w.startStudy({ studyId: created.studyId })).executionId);
    expect(exec.status).toBe('SUCCEEDED');
    const after = await getStudy(deps, created.studyId);
    expect(after.status).toBe('succeeded');
    expect(after.progress).toEqual({ done: first.cells.length, total: first.cells.length });
    expect(after.cells.every((c) => c.status === 'succeeded' && c.complete && !c.flagged)).toBe(true);
    // The same backtests, resumed (no new one), and every decision made before kept as it was.
    expect((await t.db.select({ id: backtests.id }).from(backtests)).map((b) => b.id).sort()).toEqual(
      backtestsBefore,
    );
    const decisionsAfter = await t.db.select().from(decisions);
    for (const d of madeBefore) {
      const same = decisionsAfter.find((x) => x.id === d.id);
      expect(same?.finalAction).toBe(d.finalAction);
      expect(same?.completedAt?.getTime()).toBe(d.completedAt?.getTime());
    }
    expect(decisionsAfter.filter((d) => d.status === 'failed')).toHaveLength(0);
    const report = after.report as StudyReport;
    for (const a of report.groups[0]?.arms ?? []) expect(a.leftOut).toBe(0);

    // Nothing left to resume: a 409 that changes nothing.
    const again = await resumeStudy(deps, created.studyId).catch((e) => e);
    expect(again).toBeInstanceOf(AppError);
    expect((again as AppError).status).toBe(409);
    expect((await getStudy(deps, created.studyId)).status).toBe('succeeded');
  }, 180_000);

  it.each([
    [
      'an unknown variant option',
      { variants: [{ label: 'x', options: { warp_speed: true } }] },
      /variants\.0\.options/,
    ],
    ['an empty grid', { windows: [] }, /windows: the grid is empty/],
    [
      'a reversed window',
      { windows: [{ start_date: iso(W0 + 5 * DAY), end_date: iso(W0) }] },
      /end_date: must be after/,
    ],
    [
      'a study-level field in a variant',
      { variants: [{ label: 'x', options: { symbol: 'ETHUSDT' } }] },
      /set at the study level/,
    ],
    [
      'an oversized study',
      {
        max_decisions: 1000,
        windows: { start_date: iso(W0), end_date: iso(W0 + 150 * DAY), window_days: 10, step_days: 1 },
      },
      /too large: .*over STUDY_MAX_DECISIONS \(20000\)/,
    ],
  ])('refuses %s with a 400 and starts nothing', async (_name, over, message) => {
    let err: unknown;
    try {
      await createStudy(deps, request(over));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(400);
    expect((err as AppError).message).toMatch(message);
    expect(await t.db.select().from(studies)).toHaveLength(0);
    expect(await t.db.select().from(studyCells)).toHaveLength(0);
    expect(await t.db.select().from(backtests)).toHaveLength(0);
  });
});
