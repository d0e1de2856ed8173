/**
 * The studies' API shapes (zod, for the OpenAPI document) and the mapping from the studies room's
 * views (shared/studies/read.ts) to them: dates as ISO strings, at the edge.
 */
import { z } from 'zod';
import type { StudyCellView, StudyView } from '../studies/read';
import { costEstimateSchema } from './contract';

const armSchema = z.object({
  arm: z.string(),
  kind: z.enum(['variant', 'baseline']),
  cells: z.number().int(),
  completeCells: z.number().int(),
  leftOut: z.number().int(),
  meanExcess: z.number().nullable(),
  medianExcess: z.number().nullable(),
  ci95: z
    .object({ meanLow: z.number(), meanHigh: z.number(), medianLow: z.number(), medianHigh: z.number() })
    .nullable(),
  shareBeatingBuyAndHold: z.number().nullable(),
  sharpeAnnualized: z.number().nullable(),
  psr: z.number().nullable(),
  dsr: z.number().nullable(),
  dailyReturns: z.number().int(),
  feesPaid: z.number(),
  llmUsd: z.number(),
  sentence: z.string(),
});

export const studyReportSchema = z.object({
  groups: z.array(
    z.object({
      sample: z.enum(['in_sample', 'out_of_sample', 'mixed', 'not_applicable']),
      arms: z.array(armSchema),
    }),
  ),
  seed: z.number().int(),
  bootstrap: z.object({ replicates: z.number().int(), method: z.string(), level: z.number() }),
  trials: z.number().int(),
  notes: z.array(z.string()),
});

export const studyCellSchema = z.object({
  id: z.string(),
  seq: z.number().int(),
  kind: z.enum(['variant', 'baseline']),
  label: z.string(),
  symbol: z.string(),
  windowStart: z.string(),
  windowEnd: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed']),
  backtestId: z.string().nullable(),
  decisions: z.number().int(),
  totalReturn: z.number().nullable(),
  buyAndHoldReturn: z.number().nullable(),
  excess: z.number().nullable(),
  sharpeDaily: z.number().nullable(),
  feesPaid: z.number().nullable(),
  llmUsd: z.number().nullable(),
  sample: z.string().nullable(),
  decisionCounts: z.object({ decided: z.number(), abstained: z.number(), failed: z.number() }).nullable(),
  flagged: z.boolean(),
  complete: z.boolean(),
  curve: z
    .array(z.tuple([z.number(), z.number(), z.number()]))
    .describe('[epoch ms, equity, buy-and-hold equity]'),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

const studyBase = {
  id: z.string(),
  name: z.string(),
  status: z.enum(['pending', 'running', 'succeeded', 'failed']),
  request: z.record(z.string(), z.unknown()),
  estimate: costEstimateSchema.extend({ studyCells: z.number().int() }).nullable(),
  progress: z.object({ done: z.number().int(), total: z.number().int() }),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
};

export const studySchema = z.object({
  ...studyBase,
  report: studyReportSchema.nullable(),
  cells: z.array(studyCellSchema),
});
export const studiesListSchema = z.object({
  items: z.array(z.object(studyBase)),
  nextCursor: z.string().nullable(),
});
export const studyAcceptedSchema = z.object({
  id: z.string(),
  status: z.literal('pending'),
  cells: z.number().int(),
  variantCells: z.number().int(),
  baselineCells: z.number().int(),
  decisions: z.number().int(),
  estimate: costEstimateSchema.extend({ studyCells: z.number().int() }),
  poll: z.string(),
});

/** POST /studies/{id}/resume: the study reopened, and what its rerun will decide. */
export const studyResumedSchema = z.object({
  id: z.string(),
  status: z.literal('pending'),
  poll: z.string(),
  /** Cells that run again: the failed ones and those whose backtest has failed decisions. */
  cells: z.number().int(),
  /** Of those, variant cells whose backtest was reopened. */
  backtestsResumed: z.number().int(),
  /** Decision points decided again over those backtests (failed or never reached). */
  decisionsToRun: z.number().int(),
  /** Decisions kept as they were in those backtests: no new model call. */
  decisionsKept: z.number().int(),
});

export type StudyDto = z.infer<typeof studySchema>;

export function toStudyCellDto(c: StudyCellView): z.infer<typeof studyCellSchema> {
  return { ...c, windowStart: c.windowStart.toISOString(), windowEnd: c.windowEnd.toISOString() };
}

function baseDto(s: StudyView) {
  return {
    id: s.id,
    name: s.name,
    status: s.status,
    request: s.request as unknown as Record<string, unknown>,
    estimate: (s.estimate as StudyDto['estimate']) ?? null,
    progress: s.progress,
    error: s.error,
    createdAt: s.createdAt.toISOString(),
    finishedAt: s.finishedAt ? s.finishedAt.toISOString() : null,
  };
}

export function toStudyDto(s: StudyView & { cells: StudyCellView[] }): StudyDto {
  return { ...baseDto(s), report: s.report, cells: s.cells.map(toStudyCellDto) };
}

export function toStudyListDto(page: { items: StudyView[]; nextCursor: string | null }) {
  return { items: page.items.map(baseDto), nextCursor: page.nextCursor };
}
