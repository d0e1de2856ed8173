/**
 * Review of the proposals (seed 003 strategy_adjustments): list, approve, reject, roll back; and the
 * cycles as records.
 *
 * Decisions:
 * - Approve applies a pending proposal as a new strategy version (applied by a person). If the
 *   parameter's value in force is no longer the proposal's old value (something changed it since), the
 *   approval is a 409 CONFLICT and nothing changes: a stale proposal never silently overwrites.
 * - Rollback applies an applied change's old value as a NEW version (history is never rewritten); it is
 *   a 409 too when the parameter has changed again since.
 * - Each of these runs in one transaction with the proposal's row locked (SELECT … FOR UPDATE), and the
 *   version append is guarded by the (run, seq) unique index, so two reviewers cannot both win.
 * - Only the live book's proposals are reviewed here; a backtest's are records ("would need review").
 */
import { and, desc, eq, lt, or } from 'drizzle-orm';
import { learningCycles, strategyAdjustments } from '../db/schema';
import type { StrategyParamName, StrategyParams } from '../strategy/params';
import { appendStrategyVersion, LIVE_STRATEGY_RUN, strategyInForce } from '../strategy/store';
import { AppError } from '../util/errors';
import type { LearningDeps } from './ports';

export const ADJUSTMENT_STATUSES = [
  'invalid',
  'pending',
  'applied',
  'rejected',
  'rolled_back',
  'would_need_review',
] as const;
export type AdjustmentStatus = (typeof ADJUSTMENT_STATUSES)[number];

type AdjustmentRow = typeof strategyAdjustments.$inferSelect;
type CycleRow = typeof learningCycles.$inferSelect;

export interface AdjustmentRecord {
  id: string;
  cycleId: string;
  runId: string;
  kind: 'parameter' | 'lesson';
  parameter: string | null;
  agent: string | null;
  oldValue: unknown;
  newValue: unknown;
  confidence: number;
  riskLevel: string;
  priority: string;
  reasoning: string;
  patterns: string[];
  evidence: number;
  status: AdjustmentStatus;
  invalidReason: string | null;
  baseVersionId: string | null;
  appliedVersionId: string | null;
  promptVersion: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  createdAt: string;
}

export function toAdjustment(r: AdjustmentRow): AdjustmentRecord {
  return {
    id: r.id,
    cycleId: r.cycleId,
    runId: r.runId,
    kind: r.kind,
    parameter: r.parameter,
    agent: r.agent,
    oldValue: r.oldValue,
    newValue: r.newValue,
    confidence: r.confidence,
    riskLevel: r.riskLevel,
    priority: r.priority,
    reasoning: r.reasoning,
    patterns: r.patterns as string[],
    evidence: r.evidence,
    status: r.status,
    invalidReason: r.invalidReason,
    baseVersionId: r.baseVersionId,
    appliedVersionId: r.appliedVersionId,
    promptVersion: r.promptVersion,
    decidedBy: r.decidedBy,
    decidedAt: r.decidedAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
  };
}

export interface CycleRecord {
  id: string;
  runId: string;
  backtestId: string | null;
  trigger: string;
  status: string;
  asOf: string;
  lookbackFrom: string;
  autoApply: boolean;
  strategyVersionId: string | null;
  summary: unknown;
  patterns: unknown;
  agents: unknown;
  cost: { tokensIn: number; tokensOut: number; costUsd: number };
  error: unknown;
  createdAt: string;
  finishedAt: string | null;
}

export function toCycle(r: CycleRow): CycleRecord {
  return {
    id: r.id,
    runId: r.runId,
    backtestId: r.backtestId,
    trigger: r.trigger,
    status: r.status,
    asOf: r.asOf.toISOString(),
    lookbackFrom: r.lookbackFrom.toISOString(),
    autoApply: r.autoApply,
    strategyVersionId: r.strategyVersionId,
    summary: r.summary,
    patterns: r.patterns,
    agents: r.agents,
    cost: { tokensIn: r.tokensIn, tokensOut: r.tokensOut, costUsd: Number(r.costUsd) },
    error: r.error,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

export async function getCycle(deps: LearningDeps, id: string) {
  const [row] = await deps.db.select().from(learningCycles).where(eq(learningCycles.id, id));
  if (!row) throw new AppError('NOT_FOUND', `learning cycle ${id} not found`, { field: 'id' });
  const proposals = await deps.db
    .select()
    .from(strategyAdjustments)
    .where(eq(strategyAdjustments.cycleId, id))
    .orderBy(strategyAdjustments.createdAt, strategyAdjustments.id);
  return { ...toCycle(row), proposals: proposals.map(toAdjustment) };
}

/** Newest first; `before` is the createdAt/id cursor of the last item of the previous page. */
export async function listCycles(
  deps: LearningDeps,
  o: { runId?: string; backtestId?: string; limit: number },
) {
  const where = o.backtestId
    ? eq(learningCycles.backtestId, o.backtestId)
    : eq(learningCycles.runId, o.runId ?? LIVE_STRATEGY_RUN);
  const rows = await deps.db
    .select()
    .from(learningCycles)
    .where(where)
    .orderBy(o.backtestId ? learningCycles.asOf : desc(learningCycles.createdAt))
    .limit(o.limit);
  return { items: rows.map(toCycle) };
}

export async function listAdjustments(
  deps: LearningDeps,
  o: { status?: AdjustmentStatus; runId?: string; limit: number; before?: { createdAt: Date; id: string } },
) {
  const runId = o.runId ?? LIVE_STRATEGY_RUN;
  const conds = [eq(strategyAdjustments.runId, runId)];
  if (o.status) conds.push(eq(strategyAdjustments.status, o.status));
  if (o.before)
    conds.push(
      or(
        lt(strategyAdjustments.createdAt, o.before.createdAt),
        and(eq(strategyAdjustments.createdAt, o.before.createdAt), lt(strategyAdjustments.id, o.before.id)),
      )!,
    );
  const rows = await deps.db
    .select()
    .from(strategyAdjustments)
    .where(and(...conds))
    .orderBy(desc(strategyAdjustments.createdAt), desc(strategyAdjustments.id))
    .limit(o.limit);
  return { items: rows.map(toAdjustment) };
}

async function lockAdjustment(tx: LearningDeps['db'], id: string) {
  const [row] = await tx
    .select()
    .from(strategyAdjustments)
    .where(eq(strategyAdjustments.id, id))
    .for('update');
  if (!row) throw new AppError('NOT_FOUND', `adjustment ${id} not found`, { field: 'id' });
  if (row.runId !== LIVE_STRATEGY_RUN)
    throw new AppError(
      'CONFLICT',
      `adjustment ${id} belongs to backtest run ${row.runId}: it is a record, not reviewable`,
    );
  return row;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export async function approveAdjustment(deps: LearningDeps, id: string, by = 'person') {
  return deps.db.transaction(async (tx) => {
    const row = await lockAdjustment(tx as unknown as LearningDeps['db'], id);
    if (row.status !== 'pending')
      throw new AppError(
        'CONFLICT',
        `adjustment ${id} is ${row.status}; only a pending one can be approved`,
        {
          status: row.status,
        },
      );
    const decidedAt = new Date(deps.now());
    if (row.kind === 'lesson') {
      if (!deps.lessons)
        throw new AppError(
          'NOT_IMPLEMENTED',
          'prompt lessons need the prompt registry (agent_prompts), not available here',
        );
      const made = await deps.lessons.addLesson(tx, {
        agent: row.agent as 'researcher' | 'trader',
        lesson: String(row.newValue),
        adjustmentId: row.id,
      });
      const [done] = await tx
        .update(strategyAdjustments)
        .set({ status: 'applied', promptVersion: made.promptVersion, decidedBy: by, decidedAt })
        .where(eq(strategyAdjustments.id, id))
        .returning();
      return toAdjustment(done!);
    }
    const parameter = row.parameter as StrategyParamName;
    const current = await strategyInForce(tx, { settings: deps.settings, now: deps.now() });
    if (!same(current.params[parameter], row.oldValue))
      throw new AppError(
        'CONFLICT',
        `adjustment ${id} is stale: ${parameter} is now ${JSON.stringify(current.params[parameter])} (version ${current.seq}), not the ${JSON.stringify(row.oldValue)} it was proposed against`,
        {
          parameter,
          current: current.params[parameter],
          proposedAgainst: row.oldValue,
          version: current.seq,
        },
      );
    const version = await appendStrategyVersion(tx, {
      base: current,
      parameter,
      value: row.newValue as StrategyParams[StrategyParamName],
      appliedBy: 'person',
      adjustmentId: row.id,
      reason: `approved by ${by}: ${row.reasoning}`,
      effectiveAt: deps.now(),
    });
    const [done] = await tx
      .update(strategyAdjustments)
      .set({ status: 'applied', appliedVersionId: version.id, decidedBy: by, decidedAt })
      .where(eq(strategyAdjustments.id, id))
      .returning();
    return toAdjustment(done!);
  });
}

export async function rejectAdjustment(deps: LearningDeps, id: string, by = 'person') {
  return deps.db.transaction(async (tx) => {
    const row = await lockAdjustment(tx as unknown as LearningDeps['db'], id);
    if (row.status !== 'pending')
      throw new AppError(
        'CONFLICT',
        `adjustment ${id} is ${row.status}; only a pending one can be rejected`,
        {
          status: row.status,
        },
      );
    const [done] = await tx
      .update(strategyAdjustments)
      .set({ status: 'rejected', decidedBy: by, decidedAt: new Date(deps.now()) })
      .where(eq(strategyAdjustments.id, id))
      .returning();
    return toAdjustment(done!);
  });
}

export async function rollbackAdjustment(deps: LearningDeps, id: string, by = 'person') {
  return deps.db.transaction(async (tx) => {
    const row = await lockAdjustment(tx as unknown as LearningDeps['db'], id);
    if (row.status !== 'applied')
      throw new AppError(
        'CONFLICT',
        `adjustment ${id} is ${row.status}; only an applied one can be rolled back`,
        {
          status: row.status,
        },
      );
    if (row.kind === 'lesson')
      throw new AppError(
        'NOT_IMPLEMENTED',
        'rolling back a prompt lesson is done in the prompt registry (pin the parent version)',
      );
    const parameter = row.parameter as StrategyParamName;
    const current = await strategyInForce(tx, { settings: deps.settings, now: deps.now() });
    if (!same(current.params[parameter], row.newValue))
      throw new AppError(
        'CONFLICT',
        `adjustment ${id} cannot be rolled back: ${parameter} is now ${JSON.stringify(current.params[parameter])} (version ${current.seq}), changed again since it applied ${JSON.stringify(row.newValue)}`,
        { parameter, current: current.params[parameter], applied: row.newValue, version: current.seq },
      );
    const version = await appendStrategyVersion(tx, {
      base: current,
      parameter,
      value: row.oldValue as StrategyParams[StrategyParamName],
      appliedBy: 'rollback',
      adjustmentId: row.id,
      reason: `rollback of adjustment ${row.id} by ${by}`,
      effectiveAt: deps.now(),
    });
    const [done] = await tx
      .update(strategyAdjustments)
      .set({ status: 'rolled_back', decidedBy: by, decidedAt: new Date(deps.now()) })
      .where(eq(strategyAdjustments.id, id))
      .returning();
    return { ...toAdjustment(done!), rollbackVersionId: version.id };
  });
}
