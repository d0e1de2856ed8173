/**
 * A study's report: a PURE function of its cells' summaries (statistics.ts does the maths).
 *
 * For each sample group (the in-sample / out-of-sample label of each cell: the models' knowledge
 * cutoffs against the window, as a backtest labels itself) and each arm (a variant or a baseline):
 * - cells, complete cells, and those left out (a cell is complete when its backtest succeeded with no
 *   failed decision; intervals and comparisons use complete cells only and say how many were left out);
 * - mean and median excess return over buy-and-hold (total return minus buy-and-hold's on the same span,
 *   same fees), each with a 95% interval from the seeded stationary bootstrap of the paired daily returns;
 * - the share of cells beating buy-and-hold (excess > 0);
 * - Sharpe of the pooled daily returns of its complete cells (x sqrt(365) for display), its PSR against 0,
 *   and for variants the Deflated Sharpe Ratio given the number of variants (N = variants in the study;
 *   V = the sample variance of the variants' per-day Sharpe ratios in that group; N = 1 -> DSR = PSR);
 * - fees paid and LLM spend (all cells, complete or not: money spent is spent);
 * - one plain sentence.
 * Baselines' cells carry the label of the variants' cells on the same symbol and window, so the
 * baselines are reported over the same windows in each group.
 */
import { mulberry32 } from '../backtest/strategies';
import type { SampleLabel } from '../llm/prices';
import {
  bootstrapExcess,
  deflatedSharpe,
  kurtosis,
  mean,
  median,
  probabilisticSharpe,
  sharpe,
  skewness,
} from './statistics';

const DAYS_PER_YEAR = 365;

export interface ReportCell {
  kind: 'variant' | 'baseline';
  label: string;
  symbol: string;
  windowStart: number;
  windowEnd: number;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  sample: SampleLabel;
  complete: boolean;
  /** Why it is not complete (failed decisions, failed backtest), when it is not. */
  incompleteReason: string | null;
  totalReturn: number | null;
  buyAndHoldReturn: number | null;
  dailyStrategy: number[];
  dailyBenchmark: number[];
  feesPaid: number;
  llmUsd: number;
  failedDecisions: number;
}

export interface ArmReport {
  arm: string;
  kind: 'variant' | 'baseline';
  cells: number;
  completeCells: number;
  leftOut: number;
  meanExcess: number | null;
  medianExcess: number | null;
  ci95: { meanLow: number; meanHigh: number; medianLow: number; medianHigh: number } | null;
  shareBeatingBuyAndHold: number | null;
  sharpeAnnualized: number | null;
  psr: number | null;
  dsr: number | null;
  dailyReturns: number;
  feesPaid: number;
  llmUsd: number;
  sentence: string;
}

export interface GroupReport {
  sample: SampleLabel;
  arms: ArmReport[];
}

export interface StudyReport {
  groups: GroupReport[];
  seed: number;
  bootstrap: { replicates: number; method: string; level: number };
  trials: number;
  notes: string[];
}

const GROUP_ORDER: SampleLabel[] = ['out_of_sample', 'mixed', 'in_sample', 'not_applicable'];

export function pct(x: number): string {
  const v = (x * 100).toFixed(1);
  return `${x >= 0 ? '+' : ''}${v}%`;
}

function where(sample: SampleLabel): string {
  switch (sample) {
    case 'out_of_sample':
      return 'out of sample';
    case 'in_sample':
      return 'in sample (the models may have seen these prices)';
    case 'mixed':
      return "on windows across the models' knowledge cutoff";
    default:
      return 'with no model cutoff to split on';
  }
}

function sentence(a: Omit<ArmReport, 'sentence'>, sample: SampleLabel): string {
  const left = a.leftOut > 0 ? `; ${a.leftOut} incomplete cell(s) left out` : '';
  if (a.arm === 'buy_and_hold' && a.kind === 'baseline') {
    return `buy_and_hold is the benchmark itself (excess 0 by construction) ${where(sample)}, over ${a.completeCells} window(s)${left}.`;
  }
  if (a.meanExcess === null || a.completeCells === 0) {
    return `${a.arm}: no complete cell ${where(sample)}${left}, so no comparison with buy-and-hold.`;
  }
  const ci = a.ci95 ? ` [${pct(a.ci95.meanLow)}, ${pct(a.ci95.meanHigh)}]` : '';
  const verdict = !a.ci95
    ? 'cannot be compared with'
    : a.ci95.meanLow > 0
      ? 'beat'
      : a.ci95.meanHigh < 0
        ? 'did worse than'
        : 'did not beat';
  return `${a.arm} ${verdict} buy-and-hold ${where(sample)}: excess ${pct(a.meanExcess)}${ci} over ${a.completeCells} window(s)${left}.`;
}

export function buildStudyReport(
  cells: readonly ReportCell[],
  opts: { variants: readonly string[]; baselines: readonly string[]; seed: number; replicates: number },
): StudyReport {
  // Baselines take the label of the variants' cells on the same symbol and window.
  const labelAt = new Map<string, SampleLabel>();
  for (const c of cells)
    if (c.kind === 'variant' && !labelAt.has(`${c.symbol}|${c.windowStart}|${c.windowEnd}`))
      labelAt.set(`${c.symbol}|${c.windowStart}|${c.windowEnd}`, c.sample);
  const labelled = cells.map((c) =>
    c.kind === 'baseline'
      ? { ...c, sample: labelAt.get(`${c.symbol}|${c.windowStart}|${c.windowEnd}`) ?? c.sample }
      : c,
  );
  const samples = GROUP_ORDER.filter((s) => labelled.some((c) => c.sample === s));
  const arms: { arm: string; kind: 'variant' | 'baseline' }[] = [
    ...opts.variants.map((arm) => ({ arm, kind: 'variant' as const })),
    ...opts.baselines.map((arm) => ({ arm, kind: 'baseline' as const })),
  ];
  const trials = opts.variants.length;
  const groups: GroupReport[] = samples.map((sample, gi) => {
    const inGroup = labelled.filter((c) => c.sample === sample);
    const partial = arms.map(({ arm, kind }) => {
      const mine = inGroup.filter((c) => c.label === arm && c.kind === kind);
      const complete = mine.filter(
        (c) => c.complete && c.totalReturn !== null && c.buyAndHoldReturn !== null,
      );
      const excess = complete.map((c) => (c.totalReturn as number) - (c.buyAndHoldReturn as number));
      const seed = (opts.seed + 7919 * (gi * arms.length + arms.findIndex((a) => a.arm === arm))) >>> 0;
      const iv = complete.length
        ? bootstrapExcess(
            complete.map((c) => ({ strategy: c.dailyStrategy, benchmark: c.dailyBenchmark })),
            { replicates: opts.replicates, seed, rand: mulberry32(seed) },
          )
        : null;
      const pooled = complete.flatMap((c) => c.dailyStrategy);
      const sr = sharpe(pooled);
      const g3 = skewness(pooled);
      const g4 = kurtosis(pooled);
      return {
        arm,
        kind,
        cells: mine.length,
        completeCells: complete.length,
        leftOut: mine.length - complete.length,
        meanExcess: excess.length ? mean(excess) : null,
        medianExcess: excess.length ? median(excess) : null,
        ci95: iv
          ? { meanLow: iv.meanLow, meanHigh: iv.meanHigh, medianLow: iv.medianLow, medianHigh: iv.medianHigh }
          : null,
        shareBeatingBuyAndHold: excess.length ? excess.filter((x) => x > 0).length / excess.length : null,
        sharpeAnnualized: sr === null ? null : sr * Math.sqrt(DAYS_PER_YEAR),
        psr:
          sr === null || g3 === null || g4 === null
            ? null
            : probabilisticSharpe(sr, 0, pooled.length, g3, g4),
        sr,
        g3,
        g4,
        dailyReturns: pooled.length,
        feesPaid: mine.reduce((s, c) => s + c.feesPaid, 0),
        llmUsd: Number(mine.reduce((s, c) => s + c.llmUsd, 0).toFixed(6)),
      };
    });
    const variantSrs = partial
      .filter((a) => a.kind === 'variant' && a.sr !== null)
      .map((a) => a.sr as number);
    const variance =
      variantSrs.length >= 2
        ? variantSrs.reduce((s, x) => s + (x - mean(variantSrs)) ** 2, 0) / (variantSrs.length - 1)
        : 0;
    return {
      sample,
      arms: partial.map(({ sr, g3, g4, ...a }) => {
        const dsr =
          a.kind === 'variant' && sr !== null && g3 !== null && g4 !== null
            ? deflatedSharpe(sr, a.dailyReturns, g3, g4, { n: trials, variance })
            : null;
        const arm = { ...a, dsr };
        return { ...arm, sentence: sentence(arm, sample) };
      }),
    };
  });
  return {
    groups,
    seed: opts.seed,
    bootstrap: {
      replicates: opts.replicates,
      method:
        'stationary block bootstrap (Politis & Romano 1994) of paired daily returns, mean block ceil(n^(1/3)); percentile interval',
      level: 0.95,
    },
    trials,
    notes: [
      'excess = total return - buy-and-hold total return over the same span (from the first decision), both charged the same fees and slippage',
      'complete cells only: a cell with a failed decision or a failed backtest is left out of every interval and comparison',
      `DSR deflates each variant's Sharpe for ${trials} variant(s) tried (Bailey & Lopez de Prado 2014); PSR is against a Sharpe of 0`,
    ],
  };
}
