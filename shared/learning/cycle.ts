/**
 * A learning cycle as step functions (the Learning state machine calls them, and runLearningCycle calls
 * the same ones in order):
 *
 *   createLearningCycle -> summarizeLearningCycle (code: outcomes closed before the cycle's time, in the
 *   lookback window; fewer than SELF_LEARNING_MIN_TRADES ends it `insufficient_history`)
 *   -> runLearningAgent (strong tier: patterns) -> runStrategyBuilder (strong tier: proposals)
 *   -> validateAndApplyProposals (code: validation, the auto-apply policy, new strategy versions)
 *   |  on failure: markLearningCycleFailed
 *
 * Decisions:
 * - Walk-forward by construction: the cycle has a time (`asOf`: now for the live book, the segment's end
 *   in a backtest) and reads outcomes with the strict `closedBefore: asOf`; the summary filters again,
 *   and the stored summary's window says what was read.
 * - The models see the code's summary, never raw trades; the evidence behind a proposal is re-counted
 *   from the summary (validation.ts).
 * - A cycle the models could not complete (an abstention, the budget) ends `failed` with that error:
 *   never "no proposals". Provider errors escape the step (after the LLM client's own retries), and the
 *   Learning state machine's Catch marks the cycle failed.
 * - Steps are idempotent: a step whose output is stored returns it, so a retried step does not call a
 *   model twice or apply a change twice.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { learningCycles, strategyAdjustments } from '../db/schema';
import type { LlmCallMeta } from '../llm/client';
import { isLlmCallError } from '../llm/errors';
import { listOutcomes } from '../outcomes/repository';
import {
  appendStrategyVersion,
  getStrategyVersion,
  type StrategyVersion,
  strategyInForce,
} from '../strategy/store';
import { AppError } from '../util/errors';
import {
  buildLearningMessages,
  buildStrategyBuilderMessages,
  LEARNING_PROMPT_VERSION,
  type LearningInput,
  type LearningOutput,
  learningOutputSchema,
  type ProposalDraft,
  STRATEGY_BUILDER_PROMPT_VERSION,
  type StrategyBuilderInput,
  type StrategyBuilderOutput,
  strategyBuilderOutputSchema,
} from './agents';
import type { LearningDeps } from './ports';
import { type LearningSummary, summarizeOutcomes } from './summary';
import { LESSON_AGENTS, parameterBriefs, policyFor, validateProposal } from './validation';

export const DAY_MS = 86_400_000;
export type CycleTrigger = 'api' | 'cli' | 'schedule' | 'backtest';
export type CycleStatus = 'pending' | 'running' | 'succeeded' | 'insufficient_history' | 'failed';
export const TERMINAL_CYCLE_STATUSES: readonly CycleStatus[] = [
  'succeeded',
  'insufficient_history',
  'failed',
];

/** What a learning agent's call cost and how it ended, as stored on the cycle. */
export interface CycleAgentRecord {
  status: 'ok' | 'abstained' | 'budget_exceeded';
  reason: string | null;
  provider: string;
  model: string;
  tier: string;
  promptVersion: string;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  latencyMs: number;
  cacheHit: boolean;
  output: unknown;
}

async function loadCycle(deps: LearningDeps, cycleId: string) {
  const [row] = await deps.db.select().from(learningCycles).where(eq(learningCycles.id, cycleId));
  if (!row) throw new AppError('NOT_FOUND', `learning cycle ${cycleId} not found`, { field: 'id' });
  return row;
}

export async function createLearningCycle(
  deps: LearningDeps,
  o: {
    trigger: CycleTrigger;
    runId?: string;
    backtestId?: string | null;
    asOf?: number;
    autoApply?: boolean;
  },
): Promise<{ cycleId: string }> {
  const asOf = o.asOf ?? deps.now();
  const [row] = await deps.db
    .insert(learningCycles)
    .values({
      runId: o.runId ?? 'live',
      backtestId: o.backtestId ?? null,
      trigger: o.trigger,
      status: 'pending',
      asOf: new Date(asOf),
      lookbackFrom: new Date(asOf - deps.settings.SELF_LEARNING_LOOKBACK_DAYS * DAY_MS),
      autoApply: o.autoApply ?? deps.settings.SELF_LEARNING_ENABLED,
    })
    .returning({ id: learningCycles.id });
  return { cycleId: row!.id };
}

async function finish(
  deps: LearningDeps,
  cycleId: string,
  status: Exclude<CycleStatus, 'pending' | 'running'>,
  error: { code: string; message: string } | null = null,
) {
  await deps.db
    .update(learningCycles)
    .set({ status, error, finishedAt: new Date(deps.now()) })
    .where(and(eq(learningCycles.id, cycleId), inArray(learningCycles.status, ['pending', 'running'])));
}

export async function summarizeLearningCycle(
  deps: LearningDeps,
  { cycleId }: { cycleId: string },
): Promise<{ cycleId: string; enough: boolean }> {
  const row = await loadCycle(deps, cycleId);
  if (row.summary) return { cycleId, enough: row.status !== 'insufficient_history' };
  if (TERMINAL_CYCLE_STATUSES.includes(row.status)) return { cycleId, enough: false };
  const asOf = row.asOf.getTime();
  const from = row.lookbackFrom.getTime();
  const read = deps.readOutcomes ?? listOutcomes;
  const outcomes = await read(deps.db, { runId: row.runId, closedBefore: asOf, closedFrom: from });
  const late = outcomes.find((x) => x.exitTime >= asOf);
  if (late)
    throw new AppError(
      'INTERNAL',
      `the outcome reader returned ${late.id}, closed at or after the cycle's time`,
    );
  const summary = summarizeOutcomes(outcomes, { from, to: asOf });
  const strategy = await strategyInForce(deps.db, {
    settings: deps.settings,
    runId: row.runId,
    at: asOf,
    now: deps.now(),
  });
  const enough = summary.trades >= deps.settings.SELF_LEARNING_MIN_TRADES;
  await deps.db
    .update(learningCycles)
    .set({ summary, strategyVersionId: strategy.id, status: 'running' })
    .where(eq(learningCycles.id, cycleId));
  if (!enough) await finish(deps, cycleId, 'insufficient_history');
  return { cycleId, enough };
}

function record(
  status: CycleAgentRecord['status'],
  meta: LlmCallMeta,
  output: unknown,
  reason: string | null,
): CycleAgentRecord {
  return {
    status,
    reason,
    provider: meta.provider,
    model: meta.model,
    tier: meta.tier,
    promptVersion: meta.promptVersion,
    tokensIn: meta.tokensIn,
    tokensOut: meta.tokensOut,
    costUsd: meta.costUsd,
    latencyMs: meta.latencyMs,
    cacheHit: meta.cacheHit,
    output,
  };
}

async function storeAgent(
  deps: LearningDeps,
  cycleId: string,
  agent: string,
  r: CycleAgentRecord,
  extra = {},
) {
  await deps.db
    .update(learningCycles)
    .set({
      agents: sql`${learningCycles.agents} || ${JSON.stringify({ [agent]: r })}::jsonb`,
      tokensIn: sql`${learningCycles.tokensIn} + ${r.tokensIn}`,
      tokensOut: sql`${learningCycles.tokensOut} + ${r.tokensOut}`,
      costUsd: sql`${learningCycles.costUsd} + ${r.costUsd.toFixed(8)}`,
      ...extra,
    })
    .where(eq(learningCycles.id, cycleId));
}

async function callLearningAgent<T>(
  deps: LearningDeps,
  row: { id: string; runId: string },
  agent: 'learning' | 'strategy_builder',
  o: {
    promptVersion: string;
    messages: ReturnType<typeof buildLearningMessages>;
    schema: z.ZodType<T>;
    input: unknown;
  },
): Promise<{ ok: true; output: T; record: CycleAgentRecord } | { ok: false; record: CycleAgentRecord }> {
  try {
    const out = await deps.llm.call({
      agent,
      promptVersion: o.promptVersion,
      messages: o.messages,
      schemaName: agent,
      schema: o.schema,
      input: o.input,
      context: { runId: row.runId },
    });
    if (out.status === 'ok')
      return { ok: true, output: out.output, record: record('ok', out.meta, out.output, null) };
    return { ok: false, record: record(out.status, out.meta, null, out.reason) };
  } catch (e) {
    // Spend of a failed call stays on the cycle before the error goes on (as decisions do).
    const spent = isLlmCallError(e) ? e.spent : undefined;
    if (spent && (spent.tokensIn > 0 || spent.costUsd > 0))
      await deps.db
        .update(learningCycles)
        .set({
          tokensIn: sql`${learningCycles.tokensIn} + ${spent.tokensIn}`,
          tokensOut: sql`${learningCycles.tokensOut} + ${spent.tokensOut}`,
          costUsd: sql`${learningCycles.costUsd} + ${spent.costUsd.toFixed(8)}`,
        })
        .where(eq(learningCycles.id, row.id));
    throw e;
  }
}

function failureOf(agent: string, r: CycleAgentRecord) {
  return {
    code: r.status === 'budget_exceeded' ? 'BUDGET_EXCEEDED' : 'LLM_INVALID_OUTPUT',
    message: `${agent} ${r.status}${r.reason ? `: ${r.reason}` : ''}`,
  };
}

async function learningInput(
  deps: LearningDeps,
  row: typeof learningCycles.$inferSelect,
): Promise<LearningInput> {
  const version = row.strategyVersionId ? await getStrategyVersion(deps.db, row.strategyVersionId) : null;
  if (!row.summary || !version)
    throw new AppError('CONFLICT', `learning cycle ${row.id} has no summary yet (summarize first)`, {
      field: 'cycleId',
    });
  return {
    summary: row.summary as LearningSummary,
    strategy: { version: version.seq, params: version.params },
    minEvidence: deps.settings.SELF_LEARNING_MIN_EVIDENCE,
  };
}

type Agents = Partial<Record<'learning' | 'strategy_builder', CycleAgentRecord>>;

export async function runLearningAgent(
  deps: LearningDeps,
  { cycleId }: { cycleId: string },
): Promise<{ cycleId: string; ok: boolean }> {
  const row = await loadCycle(deps, cycleId);
  const done = (row.agents as Agents).learning;
  if (done) return { cycleId, ok: done.status === 'ok' };
  if (TERMINAL_CYCLE_STATUSES.includes(row.status)) return { cycleId, ok: false };
  const input = await learningInput(deps, row);
  const r = await callLearningAgent(deps, row, 'learning', {
    promptVersion: LEARNING_PROMPT_VERSION,
    messages: buildLearningMessages(input),
    schema: learningOutputSchema,
    input,
  });
  await storeAgent(deps, cycleId, 'learning', r.record, r.ok ? { patterns: r.output.patterns } : {});
  if (!r.ok) await finish(deps, cycleId, 'failed', failureOf('learning', r.record));
  return { cycleId, ok: r.ok };
}

export async function runStrategyBuilder(
  deps: LearningDeps,
  { cycleId }: { cycleId: string },
): Promise<{ cycleId: string; ok: boolean }> {
  const row = await loadCycle(deps, cycleId);
  const agents = row.agents as Agents;
  if (agents.strategy_builder) return { cycleId, ok: agents.strategy_builder.status === 'ok' };
  if (TERMINAL_CYCLE_STATUSES.includes(row.status)) return { cycleId, ok: false };
  if (agents.learning?.status !== 'ok')
    throw new AppError(
      'CONFLICT',
      `learning cycle ${cycleId} has no patterns yet (run the learning agent first)`,
    );
  const base = await learningInput(deps, row);
  const input: StrategyBuilderInput = {
    ...base,
    patterns: (row.patterns ?? []) as LearningOutput['patterns'],
    parameters: parameterBriefs(deps.settings, base.strategy.params),
    lessonAgents: LESSON_AGENTS,
  };
  const r = await callLearningAgent(deps, row, 'strategy_builder', {
    promptVersion: STRATEGY_BUILDER_PROMPT_VERSION,
    messages: buildStrategyBuilderMessages(input),
    schema: strategyBuilderOutputSchema,
    input,
  });
  await storeAgent(deps, cycleId, 'strategy_builder', r.record);
  if (!r.ok) await finish(deps, cycleId, 'failed', failureOf('strategy_builder', r.record));
  return { cycleId, ok: r.ok };
}

export interface ApplyOutcome {
  cycleId: string;
  status: CycleStatus;
  applied: number;
  pending: number;
  invalid: number;
}

/**
 * Validate every proposal, apply the auto-applicable ones as new strategy versions, queue the rest.
 * In a backtest, a proposal the policy would queue is recorded `would_need_review` and not applied
 * (there is no person in a backtest). One transaction: the proposals and the versions they made are
 * written together or not at all.
 */
export async function validateAndApplyProposals(
  deps: LearningDeps,
  { cycleId }: { cycleId: string },
): Promise<ApplyOutcome> {
  const row = await loadCycle(deps, cycleId);
  const counts = async (): Promise<ApplyOutcome> => {
    const rows = await deps.db
      .select({ status: strategyAdjustments.status })
      .from(strategyAdjustments)
      .where(eq(strategyAdjustments.cycleId, cycleId));
    const n = (s: string[]) => rows.filter((r) => s.includes(r.status)).length;
    const now = await loadCycle(deps, cycleId);
    return {
      cycleId,
      status: now.status,
      applied: n(['applied', 'rolled_back']),
      pending: n(['pending', 'would_need_review', 'rejected']),
      invalid: n(['invalid']),
    };
  };
  if (TERMINAL_CYCLE_STATUSES.includes(row.status)) return counts();
  const agents = row.agents as Agents;
  const builder = agents.strategy_builder;
  if (builder?.status !== 'ok')
    throw new AppError(
      'CONFLICT',
      `learning cycle ${cycleId} has no proposals yet (run the strategy builder first)`,
    );
  const drafts = (builder.output as StrategyBuilderOutput).proposals;
  const summary = row.summary as LearningSummary;
  const patterns = (row.patterns ?? []) as LearningOutput['patterns'];
  const inBacktest = row.backtestId !== null;
  const asOf = row.asOf.getTime();

  await deps.db.transaction(async (tx) => {
    const existing = await tx
      .select({ id: strategyAdjustments.id })
      .from(strategyAdjustments)
      .where(eq(strategyAdjustments.cycleId, cycleId))
      .limit(1);
    if (existing.length) return;
    // Changes append to the run's latest version (a backtest's cycles run in time order, so its latest
    // is the one in force at the cycle's time).
    let version: StrategyVersion = await strategyInForce(tx, {
      settings: deps.settings,
      runId: row.runId,
      now: deps.now(),
    });
    const baseVersionId = row.strategyVersionId ?? version.id;
    // Proposals are judged against the version the cycle read; a change made since then by someone
    // else makes a proposal stale at approval time, not here.
    const params = version.params;
    const seen = new Set<string>();
    for (const draft of drafts) {
      const v = validateProposal(draft, { settings: deps.settings, params, patterns, summary, seen });
      const common = {
        cycleId,
        runId: row.runId,
        kind: draft.kind,
        parameter: draft.kind === 'parameter' ? draft.parameter : null,
        agent: draft.kind === 'lesson' ? draft.agent : null,
        confidence: Math.round(draft.confidence),
        riskLevel: draft.risk_level,
        priority: draft.priority,
        reasoning: draft.reasoning,
        patterns: draft.patterns,
        evidence: v.evidence,
        baseVersionId,
      };
      if (!v.valid) {
        await tx.insert(strategyAdjustments).values({
          ...common,
          oldValue: v.oldValue ?? null,
          newValue: v.newValue ?? null,
          status: 'invalid',
          invalidReason: v.reason,
        });
        continue;
      }
      const decision = policyFor(draft, {
        autoApply: row.autoApply,
        threshold: deps.settings.SELF_LEARNING_AUTO_APPLY_THRESHOLD,
      });
      const queued = inBacktest ? 'would_need_review' : 'pending';
      if (v.kind === 'lesson') {
        const [adj] = await tx
          .insert(strategyAdjustments)
          .values({ ...common, oldValue: null, newValue: v.lesson, status: queued })
          .returning({ id: strategyAdjustments.id });
        // A lesson applies itself only where a prompt registry can take it, and never inside a backtest
        // (prompt versions are shared with the live firm).
        if (decision === 'apply' && deps.lessons && !inBacktest) {
          const made = await deps.lessons.addLesson(tx, {
            agent: v.agent,
            lesson: v.lesson,
            adjustmentId: adj!.id,
          });
          await tx
            .update(strategyAdjustments)
            .set({
              status: 'applied',
              promptVersion: made.promptVersion,
              decidedBy: 'learning',
              decidedAt: new Date(deps.now()),
            })
            .where(eq(strategyAdjustments.id, adj!.id));
        }
        continue;
      }
      const [adj] = await tx
        .insert(strategyAdjustments)
        .values({
          ...common,
          oldValue: v.oldValue,
          newValue: v.newValue,
          status: decision === 'apply' ? 'applied' : queued,
          decidedBy: decision === 'apply' ? 'learning' : null,
          decidedAt: decision === 'apply' ? new Date(deps.now()) : null,
        })
        .returning({ id: strategyAdjustments.id });
      if (decision === 'apply') {
        version = await appendStrategyVersion(tx, {
          base: version,
          parameter: v.parameter,
          value: v.newValue,
          appliedBy: 'learning',
          adjustmentId: adj!.id,
          reason: `${draft.reasoning} (confidence ${Math.round(draft.confidence)}, ${draft.risk_level} risk, ${draft.priority} priority)`,
          effectiveAt: inBacktest ? asOf : deps.now(),
        });
        await tx
          .update(strategyAdjustments)
          .set({ appliedVersionId: version.id })
          .where(eq(strategyAdjustments.id, adj!.id));
      }
    }
  });
  await finish(deps, cycleId, 'succeeded');
  return counts();
}

export async function markLearningCycleFailed(
  deps: LearningDeps,
  { cycleId, error }: { cycleId: string; error: { code: string; message: string } },
) {
  await loadCycle(deps, cycleId);
  await finish(deps, cycleId, 'failed', error);
  return { cycleId, status: 'failed' as const };
}

/** The whole cycle in-process, the same steps in the same order as the Learning state machine. */
export async function runLearningCycle(deps: LearningDeps, cycleId: string): Promise<ApplyOutcome> {
  try {
    const s = await summarizeLearningCycle(deps, { cycleId });
    if (
      s.enough &&
      (await runLearningAgent(deps, { cycleId })).ok &&
      (await runStrategyBuilder(deps, { cycleId })).ok
    )
      return await validateAndApplyProposals(deps, { cycleId });
  } catch (e) {
    const err = e as { code?: unknown; name?: unknown; message?: unknown };
    const code =
      typeof err.code === 'string' ? err.code : typeof err.name === 'string' ? err.name : 'INTERNAL';
    await markLearningCycleFailed(deps, { cycleId, error: { code, message: String(err.message ?? e) } });
    throw e;
  }
  const row = await loadCycle(deps, cycleId);
  return { cycleId, status: row.status, applied: 0, pending: 0, invalid: 0 };
}

export type { ProposalDraft };
