/**
 * The learning loop's API shapes (zod: request validation and the OpenAPI document) and the mapping from
 * the learning room's records (shared/learning/review.ts, shared/strategy/store.ts) to them, at the edge:
 * dates as ISO strings, numbers as numbers.
 */
import { z } from 'zod';
import type { AdjustmentRecord, CycleRecord } from '../learning/review';
import { ADJUSTMENT_STATUSES } from '../learning/review';
import type { StrategyVersion } from '../strategy/store';
import { wholeNumberQuery } from './contract';

// ---------- requests ----------

/** `POST /learning/cycles`: the live book's cycle now; an empty body (or `{}`) is fine. */
export const learningCycleRequestSchema = z
  .object({
    /** Let this cycle apply auto-applicable proposals (default: SELF_LEARNING_ENABLED). Only false narrows it. */
    auto_apply: z.boolean({ error: 'auto_apply must be true or false' }).optional(),
  })
  .strict();
export type LearningCycleRequest = z.infer<typeof learningCycleRequestSchema>;

const MAX_REVIEWER_CHARS = 100;
/** `POST /adjustments/{id}/approve|reject|rollback`: who decided (recorded), optional. */
export const reviewRequestSchema = z
  .object({
    by: z
      .string({ error: 'by must be a string' })
      .trim()
      .min(1, 'by must not be empty')
      .max(MAX_REVIEWER_CHARS, `by is at most ${MAX_REVIEWER_CHARS} characters`)
      .regex(/^[\w .@:-]+$/, 'by may hold letters, digits, spaces and . _ @ : - only')
      .optional(),
  })
  .strict();

export const cyclesQuerySchema = z.object({
  limit: wholeNumberQuery('limit', 1, 200).default(50),
  backtest_id: z.uuid({ error: 'backtest_id must be a UUID' }).optional(),
});

export const adjustmentsQuerySchema = z.object({
  status: z
    .enum(ADJUSTMENT_STATUSES, { error: `status must be one of ${ADJUSTMENT_STATUSES.join(', ')}` })
    .optional(),
  limit: wholeNumberQuery('limit', 1, 200).default(100),
});

// ---------- responses ----------

const isoOrNull = z.string().nullable();
const errorSchema = z.object({ code: z.string(), message: z.string() }).nullable();
const costSchema = z.object({ tokensIn: z.number().int(), tokensOut: z.number().int(), costUsd: z.number() });

export const adjustmentSchema = z.object({
  id: z.string(),
  cycleId: z.string(),
  runId: z.string(),
  kind: z.enum(['parameter', 'lesson']),
  parameter: z.string().nullable(),
  agent: z.string().nullable(),
  oldValue: z.unknown(),
  newValue: z.unknown(),
  confidence: z.number(),
  riskLevel: z.string(),
  priority: z.string(),
  reasoning: z.string(),
  patterns: z.array(z.string()),
  evidence: z.number().int(),
  status: z.enum(ADJUSTMENT_STATUSES),
  invalidReason: z.string().nullable(),
  baseVersionId: z.string().nullable(),
  appliedVersionId: z.string().nullable(),
  rollbackVersionId: z.string().nullable().optional(),
  promptVersion: z.string().nullable(),
  decidedBy: z.string().nullable(),
  decidedAt: isoOrNull,
  createdAt: z.string(),
});
export type AdjustmentDto = z.infer<typeof adjustmentSchema>;

export const patternDtoSchema = z.object({
  name: z.string(),
  kind: z.enum(['winning', 'losing']),
  dimension: z.string(),
  bucket: z.string(),
  evidence: z.number().int(),
  win_rate: z.number().nullable(),
  mean_pnl_pct: z.number().nullable(),
  note: z.string(),
});

const agentRunSchema = z.object({
  status: z.enum(['ok', 'abstained', 'budget_exceeded']),
  reason: z.string().nullable(),
  provider: z.string(),
  model: z.string(),
  promptVersion: z.string(),
  tokensIn: z.number().int(),
  tokensOut: z.number().int(),
  costUsd: z.number(),
  cacheHit: z.boolean(),
});

export const cycleStatusSchema = z.enum([
  'pending',
  'running',
  'succeeded',
  'insufficient_history',
  'failed',
]);

export const cycleListItemSchema = z.object({
  id: z.string(),
  runId: z.string(),
  backtestId: z.string().nullable(),
  trigger: z.string(),
  status: cycleStatusSchema,
  asOf: z.string(),
  lookbackFrom: z.string(),
  autoApply: z.boolean(),
  /** Closed outcomes the cycle read (null before its summary). */
  trades: z.number().int().nullable(),
  cost: costSchema,
  error: errorSchema,
  createdAt: z.string(),
  finishedAt: isoOrNull,
});

export const cycleSchema = cycleListItemSchema.extend({
  strategyVersionId: z.string().nullable(),
  /** The code's summary of the outcomes read (shared/learning/summary.ts), null before it is made. */
  summary: z.record(z.string(), z.unknown()).nullable(),
  patterns: z.array(patternDtoSchema),
  agents: z.record(z.string(), agentRunSchema),
  proposals: z.array(adjustmentSchema),
});
export type CycleDto = z.infer<typeof cycleSchema>;

export const cyclesListSchema = z.object({ items: z.array(cycleListItemSchema) });
export const adjustmentsListSchema = z.object({ items: z.array(adjustmentSchema) });

export const cycleAcceptedSchema = z.object({
  id: z.string(),
  status: z.literal('pending'),
  poll: z.string(),
});

const paramsSchema = z.object({
  researcherMinConfidence: z.number(),
  minAgreement: z.number(),
  decisionMode: z.enum(['pipeline', 'consensus']),
  kellyFraction: z.number(),
  defaultStopLossPct: z.number(),
  defaultTakeProfitPct: z.number(),
  maxPositionSizePct: z.number(),
});

const resultsSchema = z.object({
  /** Closed outcomes whose entry decision ran under this version. */
  trades: z.number().int(),
  winRate: z.number().nullable(),
  meanPnlPct: z.number().nullable(),
  payoffRatio: z.number().nullable(),
  totalPnlUsdt: z.number(),
});

export const strategyVersionSchema = z.object({
  id: z.string(),
  runId: z.string(),
  seq: z.number().int(),
  params: paramsSchema,
  change: z
    .object({ parameter: z.string(), from: z.unknown(), to: z.unknown() })
    .nullable()
    .describe('What this version changed (null for a base or settings version).'),
  appliedBy: z.enum(['settings', 'inherited', 'learning', 'person', 'rollback']),
  adjustmentId: z.string().nullable(),
  reason: z.string().nullable(),
  effectiveAt: z.string(),
  createdAt: z.string(),
});
export type StrategyVersionDto = z.infer<typeof strategyVersionSchema>;

export const strategyVersionsSchema = z.object({
  items: z.array(strategyVersionSchema.extend({ results: resultsSchema })),
});

// ---------- mapping ----------

export function toAdjustmentDto(a: AdjustmentRecord & { rollbackVersionId?: string }): AdjustmentDto {
  return { ...a, ...(a.rollbackVersionId ? { rollbackVersionId: a.rollbackVersionId } : {}) };
}

function tradesOf(summary: unknown): number | null {
  const t = (summary as { trades?: unknown } | null)?.trades;
  return typeof t === 'number' ? t : null;
}

export function toCycleListItem(c: CycleRecord) {
  return {
    id: c.id,
    runId: c.runId,
    backtestId: c.backtestId,
    trigger: c.trigger,
    status: c.status as z.infer<typeof cycleStatusSchema>,
    asOf: c.asOf,
    lookbackFrom: c.lookbackFrom,
    autoApply: c.autoApply,
    trades: tradesOf(c.summary),
    cost: c.cost,
    error: (c.error ?? null) as { code: string; message: string } | null,
    createdAt: c.createdAt,
    finishedAt: c.finishedAt,
  };
}

export function toCycleDto(c: CycleRecord & { proposals: AdjustmentRecord[] }): CycleDto {
  const agents: CycleDto['agents'] = {};
  for (const [name, raw] of Object.entries((c.agents ?? {}) as Record<string, Record<string, unknown>>)) {
    agents[name] = {
      status: raw.status as 'ok',
      reason: (raw.reason as string | null) ?? null,
      provider: String(raw.provider),
      model: String(raw.model),
      promptVersion: String(raw.promptVersion),
      tokensIn: Number(raw.tokensIn ?? 0),
      tokensOut: Number(raw.tokensOut ?? 0),
      costUsd: Number(raw.costUsd ?? 0),
      cacheHit: raw.cacheHit === true,
    };
  }
  return {
    ...toCycleListItem(c),
    strategyVersionId: c.strategyVersionId,
    summary: (c.summary ?? null) as Record<string, unknown> | null,
    patterns: (c.patterns ?? []) as CycleDto['patterns'],
    agents,
    proposals: c.proposals.map(toAdjustmentDto),
  };
}

export function toStrategyVersionDto(v: StrategyVersion): StrategyVersionDto {
  return {
    id: v.id,
    runId: v.runId,
    seq: v.seq,
    params: v.params,
    change: v.change,
    appliedBy: v.appliedBy,
    adjustmentId: v.adjustmentId,
    reason: v.reason,
    effectiveAt: new Date(v.effectiveAt).toISOString(),
    createdAt: new Date(v.createdAt).toISOString(),
  };
}
