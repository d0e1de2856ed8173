/**
 * The study state machine's steps: plan (the cell Map's items), start a cell (create its backtest, or
 * run a baseline at once), record a cell (its summary from the finished backtest), report, mark failed.
 * `runStudy` (runner.ts) runs the same steps in-process.
 *
 * - Map items carry `{ studyId, cellId }` only. A cell is one backtest (a nested Backtest execution on
 *   AWS; locally the same Backtest definition through the same local runner), whose decisions share the
 *   response cache with every other cell and run: a rerun of an unchanged study costs $0.
 * - Planning lists the cells not yet succeeded, so a study started again runs only what is missing.
 * - A cell's summary keeps the paired daily returns (strategy and buy-and-hold, E_0 as the base so that
 *   they compound to the total returns exactly), the excess, fees, LLM spend, sample label and decision
 *   classes; and a thinned equity pair for the overlays. The full result stays in the backtest.
 * - Decision classes: `decisionCounts` of the backtest result when the backtest reports them, else
 *   derived from the decision statuses (completed = decided, no_trade = abstained, failed and
 *   budget_exceeded = failed). A cell with any failed decision is flagged and is not complete.
 */
import { and, asc, eq, inArray, ne, sql } from 'drizzle-orm';
import { runBaseline } from '../backtest/strategies';
import { backtests, studies, studyCells } from '../db/schema';
import { WARMUP_BARS } from '../indicators/compute';
import { type SampleLabel, sampleLabel } from '../llm/prices';
import { TIMEFRAME_MS } from '../market/types';
import { createBacktest, simulateRecorded, thin } from '../pipeline/backtest';
import type { PipelineDeps } from '../pipeline/deps';
import type { BacktestResultRecord } from '../schemas/records';
import { AppError } from '../util/errors';
import type { BaselineCellSpec, CellSpec } from './plan';
import { buildStudyReport, type ReportCell } from './report';
import type { StudyRequest } from './request';

const DAY_MS = 86_400_000;
/** Points kept per cell for the equity overlays. */
export const CELL_CURVE_POINTS = 120;

export interface DecisionCounts {
  decided: number;
  abstained: number;
  failed: number;
}

export interface CellResult {
  totalReturn: number;
  buyAndHoldReturn: number;
  excess: number;
  sharpeDaily: number | null;
  maxDrawdown: number;
  feesPaid: number;
  fills: number;
  llmUsd: number;
  llmCalls: number;
  cacheHits: number;
  sample: SampleLabel;
  decisionCounts: DecisionCounts;
  complete: boolean;
  incompleteReason: string | null;
  daily: { strategy: number[]; benchmark: number[] };
  /** [timestamp ms, strategy equity, buy-and-hold equity], thinned. */
  curve: [number, number, number][];
  tradeListHash: string;
  params?: Record<string, unknown>;
}

/** Daily UTC returns with the starting equity as the base: they compound to E_T / E_0 - 1 exactly. */
export function dailyReturnsFromStart(curve: readonly { timestamp: number; equity: number }[]): number[] {
  if (curve.length === 0) return [];
  const closes: number[] = [(curve[0] as { equity: number }).equity];
  let day = Number.NaN;
  for (let i = 1; i < curve.length; i++) {
    const p = curve[i] as { timestamp: number; equity: number };
    const d = Math.floor((p.timestamp - 1) / DAY_MS);
    if (d === day) closes[closes.length - 1] = p.equity;
    else {
      closes.push(p.equity);
      day = d;
    }
  }
  const out: number[] = [];
  for (let k = 1; k < closes.length; k++) out.push((closes[k] as number) / (closes[k - 1] as number) - 1);
  return out;
}

function pairCurve(
  s: readonly { timestamp: number; equity: number }[],
  b: readonly { timestamp: number; equity: number }[],
): [number, number, number][] {
  const pts = s.map((p, i) => [p.timestamp, p.equity, b[i]?.equity ?? p.equity] as [number, number, number]);
  return thin(pts, CELL_CURVE_POINTS).map(([t, e, h]) => [t, Number(e.toFixed(2)), Number(h.toFixed(2))]);
}

async function loadStudy(deps: PipelineDeps, studyId: string) {
  const [row] = await deps.db.select().from(studies).where(eq(studies.id, studyId));
  if (!row) throw new AppError('NOT_FOUND', `study ${studyId} not found`, { field: 'id', id: studyId });
  return row;
}

async function loadCell(deps: PipelineDeps, studyId: string, cellId: string) {
  const [row] = await deps.db
    .select()
    .from(studyCells)
    .where(and(eq(studyCells.id, cellId), eq(studyCells.studyId, studyId)));
  if (!row)
    throw new AppError('NOT_FOUND', `cell ${cellId} of study ${studyId} not found`, { field: 'cellId' });
  return row;
}

/** Recount finished cells (one idempotent UPDATE). */
export async function recordStudyProgress(deps: PipelineDeps, studyId: string): Promise<void> {
  await deps.db.execute(sql`
    UPDATE studies SET cells_done = (
      SELECT count(*)::int FROM study_cells WHERE study_id = ${studyId} AND status IN ('succeeded', 'failed')
    ) WHERE id = ${studyId}`);
}

export async function planStudy(
  deps: PipelineDeps,
  { studyId }: { studyId: string },
): Promise<{ studyId: string; items: { studyId: string; cellId: string }[] }> {
  const row = await loadStudy(deps, studyId);
  if (row.status !== 'running') {
    await deps.db
      .update(studies)
      .set({ status: 'running', error: null, finishedAt: null })
      .where(eq(studies.id, studyId));
  }
  const cells = await deps.db
    .select({ id: studyCells.id })
    .from(studyCells)
    .where(and(eq(studyCells.studyId, studyId), ne(studyCells.status, 'succeeded')))
    .orderBy(asc(studyCells.seq));
  return { studyId, items: cells.map((c) => ({ studyId, cellId: c.id })) };
}

async function runBaselineCell(
  deps: PipelineDeps,
  spec: BaselineCellSpec,
  windowEnd: number,
): Promise<CellResult> {
  const tfMs = TIMEFRAME_MS[spec.timeframe];
  const first = spec.decisionTimes[0] as number;
  const { candles } = await deps.candles.getCandles({
    symbol: spec.symbol,
    timeframe: spec.timeframe,
    startMs: Math.max(0, first - (WARMUP_BARS + 1) * tfMs),
    endMs: Math.ceil(windowEnd / tfMs) * tfMs,
  });
  const run = runBaseline(spec.baseline, {
    candles,
    timeframe: spec.timeframe,
    settings: {
      symbol: spec.symbol,
      initialCash: deps.settings.INITIAL_CASH,
      feeBps: spec.feeBps,
      slippageBps: spec.slippageBps,
      fillAt: spec.fill,
      endTime: windowEnd,
    },
    decisionTimes: spec.decisionTimes,
    params: spec.params,
  });
  const bh = run.buyAndHold;
  const bhCurve = bh?.equityCurve ?? run.equityCurve;
  const bhReturn = bh ? bh.totalReturn : 0;
  return {
    totalReturn: run.metrics.totalReturn,
    buyAndHoldReturn: bhReturn,
    excess: run.metrics.totalReturn - bhReturn,
    sharpeDaily: run.metrics.sharpeDaily,
    maxDrawdown: run.metrics.maxDrawdown.value,
    feesPaid: run.metrics.feesPaid,
    fills: run.fills.length,
    llmUsd: 0,
    llmCalls: 0,
    cacheHits: 0,
    sample: 'not_applicable',
    decisionCounts: { decided: run.decisionsTaken, abstained: 0, failed: 0 },
    complete: true,
    incompleteReason: null,
    daily: { strategy: dailyReturnsFromStart(run.equityCurve), benchmark: dailyReturnsFromStart(bhCurve) },
    curve: pairCurve(run.equityCurve, bhCurve),
    tradeListHash: run.tradeListHash,
    params: run.params as Record<string, unknown>,
  };
}

/**
 * Start one cell: a baseline runs here and is recorded; a variant gets its backtest (created once; a
 * cell whose backtest did not succeed gets a new one, whose decisions already made come from the
 * response cache). Answers whether a backtest execution must run.
 */
export async function startStudyCell(
  deps: PipelineDeps,
  { studyId, cellId }: { studyId: string; cellId: string },
): Promise<{ studyId: string; cellId: string; run: boolean; backtestId: string | null }> {
  const cell = await loadCell(deps, studyId, cellId);
  const spec = cell.spec as CellSpec;
  if (spec.kind === 'baseline') {
    const result = await runBaselineCell(deps, spec, cell.windowEnd.getTime());
    await deps.db
      .update(studyCells)
      .set({ status: 'succeeded', result, error: null, finishedAt: new Date(deps.now()) })
      .where(eq(studyCells.id, cellId));
    await recordStudyProgress(deps, studyId);
    return { studyId, cellId, run: false, backtestId: null };
  }
  if (cell.backtestId) {
    const [bt] = await deps.db
      .select({ status: backtests.status })
      .from(backtests)
      .where(eq(backtests.id, cell.backtestId));
    if (bt?.status === 'succeeded') return { studyId, cellId, run: false, backtestId: cell.backtestId };
    if (bt && (bt.status === 'pending' || bt.status === 'running'))
      return { studyId, cellId, run: true, backtestId: cell.backtestId };
  }
  const { backtestId } = await createBacktest(deps, spec.backtest);
  await deps.db
    .update(studyCells)
    .set({ backtestId, status: 'running', error: null })
    .where(eq(studyCells.id, cellId));
  return { studyId, cellId, run: true, backtestId };
}

function countsOf(result: BacktestResultRecord & { decisionCounts?: DecisionCounts }): DecisionCounts {
  if (result.decisionCounts) return result.decisionCounts;
  const c: DecisionCounts = { decided: 0, abstained: 0, failed: 0 };
  for (const d of result.decisions) {
    if (d.status === 'completed') c.decided++;
    else if (d.status === 'no_trade') c.abstained++;
    else if (d.status === 'failed' || d.status === 'budget_exceeded') c.failed++;
  }
  return c;
}

/** Record a cell from its finished backtest (or its failure), and recount the study's progress. */
export async function recordStudyCell(
  deps: PipelineDeps,
  input: { studyId: string; cellId: string; error?: { code: string; message: string } },
): Promise<{ studyId: string; cellId: string; status: string }> {
  const cell = await loadCell(deps, input.studyId, input.cellId);
  if (cell.kind === 'baseline' || cell.status === 'succeeded') {
    await recordStudyProgress(deps, input.studyId);
    return { studyId: input.studyId, cellId: input.cellId, status: cell.status };
  }
  const fail = async (error: { code: string; message: string }) => {
    await deps.db
      .update(studyCells)
      .set({ status: 'failed', error, finishedAt: new Date(deps.now()) })
      .where(eq(studyCells.id, cell.id));
    await recordStudyProgress(deps, input.studyId);
    return { studyId: input.studyId, cellId: input.cellId, status: 'failed' };
  };
  if (!cell.backtestId) return fail(input.error ?? { code: 'INTERNAL', message: 'the cell has no backtest' });
  const [bt] = await deps.db.select().from(backtests).where(eq(backtests.id, cell.backtestId));
  if (bt?.status !== 'succeeded' || !bt.result) {
    const err = (bt?.error as { code: string; message: string } | null) ??
      input.error ?? { code: 'WORKFLOW_FAILED', message: `backtest ${cell.backtestId} did not succeed` };
    return fail(err);
  }
  const stored = bt.result as BacktestResultRecord & {
    decisionCounts?: DecisionCounts;
    degraded?: boolean;
  };
  const counts = countsOf(stored);
  const { result } = await simulateRecorded(deps, cell.backtestId);
  const bh = result.buyAndHold;
  const bhCurve = bh?.equityCurve ?? result.equityCurve;
  const bhReturn = bh ? bh.totalReturn : 0;
  const complete = counts.failed === 0 && stored.degraded !== true;
  const summary: CellResult = {
    totalReturn: result.metrics.totalReturn,
    buyAndHoldReturn: bhReturn,
    excess: result.metrics.totalReturn - bhReturn,
    sharpeDaily: result.metrics.sharpeDaily,
    maxDrawdown: result.metrics.maxDrawdown.value,
    feesPaid: result.metrics.feesPaid,
    fills: result.fills.length,
    llmUsd: stored.llmSpend.costUsd,
    llmCalls: stored.llmSpend.calls,
    cacheHits: stored.llmSpend.cacheHits,
    sample: stored.sample,
    decisionCounts: counts,
    complete,
    incompleteReason: complete ? null : `${counts.failed} failed decision(s)`,
    daily: { strategy: dailyReturnsFromStart(result.equityCurve), benchmark: dailyReturnsFromStart(bhCurve) },
    curve: pairCurve(result.equityCurve, bhCurve),
    tradeListHash: result.tradeListHash,
  };
  await deps.db
    .update(studyCells)
    .set({ status: 'succeeded', result: summary, error: null, finishedAt: new Date(deps.now()) })
    .where(eq(studyCells.id, cell.id));
  await recordStudyProgress(deps, input.studyId);
  return { studyId: input.studyId, cellId: input.cellId, status: 'succeeded' };
}

/** Build and store the report from every cell; the study succeeds. */
export async function reportStudy(
  deps: PipelineDeps,
  { studyId }: { studyId: string },
): Promise<{ studyId: string; status: 'succeeded' }> {
  const row = await loadStudy(deps, studyId);
  const req = row.request as StudyRequest;
  const cells = await deps.db
    .select()
    .from(studyCells)
    .where(eq(studyCells.studyId, studyId))
    .orderBy(asc(studyCells.seq));
  const models = [deps.settings.CHEAP_MODEL, deps.settings.STRONG_MODEL];
  const reportCells: ReportCell[] = cells.map((c) => {
    const r = c.result as CellResult | null;
    const windowStart = c.windowStart.getTime();
    const windowEnd = c.windowEnd.getTime();
    return {
      kind: c.kind,
      label: c.label,
      symbol: c.symbol,
      windowStart,
      windowEnd,
      status: c.status,
      sample:
        r?.sample ?? (c.kind === 'variant' ? sampleLabel(models, windowStart, windowEnd) : 'not_applicable'),
      complete: c.status === 'succeeded' && (r?.complete ?? false),
      incompleteReason:
        c.status !== 'succeeded'
          ? `cell ${c.status}${c.error ? `: ${(c.error as { code: string }).code}` : ''}`
          : (r?.incompleteReason ?? null),
      totalReturn: r?.totalReturn ?? null,
      buyAndHoldReturn: r?.buyAndHoldReturn ?? null,
      dailyStrategy: r?.daily.strategy ?? [],
      dailyBenchmark: r?.daily.benchmark ?? [],
      feesPaid: r?.feesPaid ?? 0,
      llmUsd: r?.llmUsd ?? 0,
      failedDecisions: r?.decisionCounts.failed ?? 0,
    };
  });
  const report = buildStudyReport(reportCells, {
    variants: req.variants.map((v) => v.label),
    baselines: req.baselines,
    seed: req.seed,
    replicates: req.bootstrap_replicates,
  });
  await deps.db
    .update(studies)
    .set({ status: 'succeeded', report, finishedAt: new Date(deps.now()), error: null })
    .where(eq(studies.id, studyId));
  deps.metrics?.studyFinished({
    status: 'succeeded',
    durationMs: Math.max(0, deps.now() - row.createdAt.getTime()),
    cells: cells.length,
  });
  await recordStudyProgress(deps, studyId);
  return { studyId, status: 'succeeded' };
}

export async function markStudyFailed(
  deps: PipelineDeps,
  { studyId, error }: { studyId: string; error: { code: string; message: string } },
): Promise<{ studyId: string; status: 'failed' }> {
  await recordStudyProgress(deps, studyId);
  const [row] = await deps.db
    .update(studies)
    .set({ status: 'failed', error, finishedAt: new Date(deps.now()) })
    .where(eq(studies.id, studyId))
    .returning({ createdAt: studies.createdAt, cells: studies.cellsTotal });
  if (row)
    deps.metrics?.studyFinished({
      status: 'failed',
      durationMs: Math.max(0, deps.now() - row.createdAt.getTime()),
      cells: row.cells,
    });
  return { studyId, status: 'failed' };
}

/** Cells still pending or running (the runner and tests use it). */
export async function unfinishedCells(deps: PipelineDeps, studyId: string): Promise<number> {
  const rows = await deps.db
    .select({ n: sql<number>`count(*)::int` })
    .from(studyCells)
    .where(and(eq(studyCells.studyId, studyId), inArray(studyCells.status, ['pending', 'running'])));
  return Number(rows[0]?.n ?? 0);
}
