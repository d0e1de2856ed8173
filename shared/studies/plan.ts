/**
 * Creating a study: validate the request, lay out its cells, count its decisions, estimate its cost and
 * record it as 'pending' with every cell. Bad input (and too large a study) changes nothing.
 *
 * - Cells: symbols x windows x variants (each one backtest), plus every baseline per symbol and window.
 *   `seq` orders them: per symbol, per window, the variants then the baselines.
 * - Decision counts are exact, from the candles: the candles of each symbol are loaded once over the
 *   whole span of the windows (warm-up included; the candle repository caches them, as a backtest's
 *   creation does), then each window's decision points are picked exactly as createBacktest picks them.
 *   Over STUDY_MAX_DECISIONS the request is a 400 that says how large it is.
 * - The random baseline gets the firm's decision points of its symbol and window (the first variant's,
 *   or the default spread grid in a baseline-only study): the same count and spacing, the same chances.
 * - The estimate is the backtests' own pre-flight estimate over the study's variant decisions (the
 *   baselines call no model: $0). An unchanged rerun reads every answer from the response cache, $0.
 */
import { studies, studyCells } from '../db/schema';
import { WARMUP_BARS } from '../indicators/compute';
import { assertSymbol } from '../market/candle-store';
import { type Candle, TIMEFRAME_MS } from '../market/types';
import { estimateBacktestCost, pickDecisionPoints, spreadDecisionInterval } from '../pipeline/backtest/plan';
import type { PipelineDeps } from '../pipeline/deps';
import { AppError } from '../util/errors';
import { cellBacktestRequest, expandStudyRequest, type StudyRequest, type StudyWindow } from './request';

export interface VariantCellSpec {
  kind: 'variant';
  /** The cell's backtest request, as POST /backtests takes it. */
  backtest: Record<string, unknown>;
}

export interface BaselineCellSpec {
  kind: 'baseline';
  baseline: StudyRequest['baselines'][number];
  symbol: string;
  timeframe: StudyRequest['timeframe'];
  decisionTimes: number[];
  params: { fast?: number; slow?: number; seed?: number };
  /** Costs and fill timing as the firm's cells (the first variant's, else the defaults). */
  fill: 'next_open' | 'next_close';
  feeBps: number;
  slippageBps: number;
}

export type CellSpec = VariantCellSpec | BaselineCellSpec;

export interface StudyPlanCell {
  seq: number;
  kind: 'variant' | 'baseline';
  label: string;
  symbol: string;
  window: StudyWindow;
  decisions: number;
  spec: CellSpec;
}

export interface StudyCreated {
  studyId: string;
  cells: number;
  variantCells: number;
  baselineCells: number;
  decisions: number;
  estimate: Awaited<ReturnType<typeof estimateBacktestCost>> & { studyCells: number };
}

/** Decision points of one symbol/window as a backtest with these options would pick them. */
function pointsFor(
  candles: readonly Candle[],
  req: StudyRequest,
  w: StudyWindow,
  decisionInterval: number | undefined,
): number[] {
  const all = pickDecisionPoints(candles, req.timeframe, w.startMs, w.endMs, 1, Number.POSITIVE_INFINITY);
  const interval = decisionInterval ?? spreadDecisionInterval(all.length, req.max_decisions);
  return pickDecisionPoints(candles, req.timeframe, w.startMs, w.endMs, interval, req.max_decisions);
}

/** Lay out the cells of a study (no writes). Exported for the tests and the CLI's dry run. */
export async function planStudyCells(
  deps: PipelineDeps,
  input: unknown,
): Promise<{ request: StudyRequest; cells: StudyPlanCell[]; decisions: number }> {
  const { request: req, windows } = expandStudyRequest(input);
  for (const s of req.symbols) assertSymbol(s, deps.settings.SYMBOLS);
  // Upper bound first: a study far too large is refused before any candle is loaded.
  const upper = req.symbols.length * windows.length * req.variants.length * req.max_decisions;
  const tfMs = TIMEFRAME_MS[req.timeframe];
  const first = Math.min(...windows.map((w) => w.startMs));
  const last = Math.max(...windows.map((w) => w.endMs));
  const cells: StudyPlanCell[] = [];
  let total = 0;
  const tooLarge = (n: number, exact: boolean) =>
    new AppError(
      'VALIDATION_ERROR',
      `the study is too large: ${req.symbols.length} symbol(s) x ${windows.length} window(s) x ${req.variants.length} variant(s) = ${req.symbols.length * windows.length * req.variants.length} backtests, ${exact ? '' : 'up to '}${n} decisions, over STUDY_MAX_DECISIONS (${deps.settings.STUDY_MAX_DECISIONS}); use fewer windows, variants or max_decisions`,
      { field: 'max_decisions', decisions: n, exact, max: deps.settings.STUDY_MAX_DECISIONS },
    );
  // Far over (5x) even at the upper bound: refuse without loading data.
  if (upper > 5 * deps.settings.STUDY_MAX_DECISIONS) throw tooLarge(upper, false);
  for (const symbol of req.symbols) {
    const { candles } = await deps.candles.getCandles({
      symbol,
      timeframe: req.timeframe,
      startMs: Math.max(0, Math.floor(first / tfMs) * tfMs - WARMUP_BARS * tfMs),
      endMs: Math.ceil(last / tfMs) * tfMs,
    });
    for (const [wi, w] of windows.entries()) {
      let firmPoints: number[] | null = null;
      let costs = {
        fill: 'next_open' as 'next_open' | 'next_close',
        feeBps: deps.settings.FEE_BPS,
        slippageBps: deps.settings.SLIPPAGE_BPS,
      };
      for (const [vi, v] of req.variants.entries()) {
        const br = cellBacktestRequest(req, v.options, symbol, w, `variants.${vi}.options`);
        const points = pointsFor(candles, req, w, br.decision_interval);
        if (points.length === 0) {
          throw new AppError(
            'INSUFFICIENT_DATA',
            `windows.${wi}: no decision point in ${w.start_date}..${w.end_date} for ${symbol} ${req.timeframe} (each needs ${WARMUP_BARS} bars of warm-up and a bar after it)`,
            { field: `windows.${wi}`, symbol },
          );
        }
        if (firmPoints === null) {
          firmPoints = points;
          costs = {
            fill: br.fill,
            feeBps: br.fee_bps ?? deps.settings.FEE_BPS,
            slippageBps: br.slippage_bps ?? deps.settings.SLIPPAGE_BPS,
          };
        }
        total += points.length;
        cells.push({
          seq: cells.length,
          kind: 'variant',
          label: v.label,
          symbol,
          window: w,
          decisions: points.length,
          spec: {
            kind: 'variant',
            backtest: {
              ...v.options,
              symbol,
              start_date: w.start_date,
              end_date: w.end_date,
              timeframe: req.timeframe,
              max_decisions: req.max_decisions,
            },
          },
        });
      }
      if (total > deps.settings.STUDY_MAX_DECISIONS) throw tooLarge(total, false);
      const grid = firmPoints ?? pointsFor(candles, req, w, undefined);
      if (grid.length === 0) {
        throw new AppError(
          'INSUFFICIENT_DATA',
          `windows.${wi}: no decision point in ${w.start_date}..${w.end_date} for ${symbol} ${req.timeframe}`,
          { field: `windows.${wi}`, symbol },
        );
      }
      for (const baseline of req.baselines) {
        cells.push({
          seq: cells.length,
          kind: 'baseline',
          label: baseline,
          symbol,
          window: w,
          decisions: baseline === 'random' ? grid.length : 0,
          spec: {
            kind: 'baseline',
            baseline,
            symbol,
            timeframe: req.timeframe,
            decisionTimes: grid,
            params:
              baseline === 'sma_crossover'
                ? { fast: req.sma.fast, slow: req.sma.slow }
                : baseline === 'random'
                  ? { seed: req.seed }
                  : {},
            ...costs,
          },
        });
      }
    }
  }
  if (total > deps.settings.STUDY_MAX_DECISIONS) throw tooLarge(total, true);
  return { request: req, cells, decisions: total };
}

/** Validate, lay out, estimate and record a study as 'pending' with its cells. */
export async function createStudy(deps: PipelineDeps, input: unknown): Promise<StudyCreated> {
  const { request, cells, decisions } = await planStudyCells(deps, input);
  const estimate = { ...(await estimateBacktestCost(deps, decisions)), studyCells: cells.length };
  const studyId = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(studies)
      .values({ name: request.name, status: 'pending', request, estimate, cellsTotal: cells.length })
      .returning({ id: studies.id });
    const id = (row as { id: string }).id;
    const CHUNK = 500;
    for (let i = 0; i < cells.length; i += CHUNK) {
      await tx.insert(studyCells).values(
        cells.slice(i, i + CHUNK).map((c) => ({
          studyId: id,
          seq: c.seq,
          kind: c.kind,
          label: c.label,
          symbol: c.symbol,
          windowStart: new Date(c.window.startMs),
          windowEnd: new Date(c.window.endMs),
          spec: c.spec,
          decisions: c.decisions,
        })),
      );
    }
    return id;
  });
  const variantCells = cells.filter((c) => c.kind === 'variant').length;
  return {
    studyId,
    cells: cells.length,
    variantCells,
    baselineCells: cells.length - variantCells,
    decisions,
    estimate,
  };
}
