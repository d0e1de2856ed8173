/**
 * The analysis pipeline's public module: the step functions (steps.ts, re-exported here), the
 * in-process runner and the read model. The in-process runner: the same step functions Step Functions calls, in the same order, with the
 * analysts in parallel; and the read model (`getAnalysis`) that the API returns for a decision.
 *
 * Errors map exactly as the state machine's Catch clauses do: an analyst error marks it unavailable, a
 * researcher/trader/risk error records the decision failed (never a HOLD), and any snapshot failure (a data error, Binance
 * unreachable, or anything else thrown by prepareSnapshot) ends the decision as failed, with no agent
 * called (recordSnapshotFailure). Unexpected errors elsewhere are recorded too (status failed) and
 * rethrown by runAnalysis.
 */
import { eq, sql } from 'drizzle-orm';
import { AGENT_NAMES, type AgentName, type AgentResult, ANALYSTS } from '../agents/schemas';
import { agentLogs, decisions } from '../db/schema';
import { technicalRegime } from '../outcomes/context';
import type { RegimeReading } from '../regime/detector';
import type {
  ConsensusRecord,
  CostSummaryRecord,
  FinalDecisionRecord,
  PortfolioRecord,
  TradeRecord,
} from '../schemas/records';
import { AppError } from '../util/errors';
import { type DecisionClass, decisionClassOf } from './decision-class';
import type { PipelineDeps } from './deps';
import {
  type CreateDecisionInput,
  createDecision,
  type DecisionStatus,
  finalizeDecision,
  markAnalystUnavailable,
  prepareSnapshot,
  recordNoTrade,
  recordSnapshotFailure,
  runAnalyst,
  runResearcher,
  runRisk,
  runTrader,
  type StoredExecution,
} from './steps';

export * from './steps';

function errorOf(e: unknown): { code: string; message: string } {
  const err = e as { code?: unknown; name?: unknown; message?: unknown };
  // LLM errors keep their name (LlmRateLimited, LlmTimeout, ...), as Step Functions' Catch records them.
  const llmName = typeof err.name === 'string' && err.name.startsWith('Llm') ? err.name : undefined;
  const code =
    llmName ??
    (typeof err.code === 'string' ? err.code : typeof err.name === 'string' ? err.name : 'INTERNAL');
  return { code, message: String(err.message ?? e) };
}

/** Run every step after createDecision. Returns the decision's final status. */
export async function runDecisionChain(
  deps: PipelineDeps,
  decisionId: string,
): Promise<{ decisionId: string; status: DecisionStatus }> {
  let prepared: { ok: boolean };
  try {
    prepared = await prepareSnapshot(deps, { decisionId });
  } catch (e) {
    // As the state machine's Catch on the snapshot step: recorded, and the run itself ends normally.
    await recordSnapshotFailure(deps, { decisionId, error: errorOf(e) });
    return statusOf(deps, decisionId);
  }
  if (!prepared.ok) return statusOf(deps, decisionId);
  await Promise.all(
    ANALYSTS.map((analyst) =>
      runAnalyst(deps, { decisionId, analyst }).catch((e) =>
        markAnalystUnavailable(deps, { decisionId, analyst, error: errorOf(e) }),
      ),
    ),
  );
  try {
    const r = await runResearcher(deps, { decisionId });
    if (!r.gated && !r.noConsensus && !r.failed) {
      const t = await runTrader(deps, { decisionId });
      if (!t.failed && t.action !== 'HOLD') await runRisk(deps, { decisionId });
    }
  } catch (e) {
    await recordNoTrade(deps, { decisionId, error: errorOf(e) });
    return statusOf(deps, decisionId);
  }
  const f = await finalizeDecision(deps, { decisionId });
  return { decisionId, status: f.status };
}

async function statusOf(
  deps: PipelineDeps,
  decisionId: string,
): Promise<{ decisionId: string; status: DecisionStatus }> {
  const [row] = await deps.db
    .select({ status: decisions.status })
    .from(decisions)
    .where(eq(decisions.id, decisionId));
  return { decisionId, status: row?.status ?? 'failed' };
}

/** createDecision + the whole chain, in process; answers the stored analysis. */
export async function runAnalysis(deps: PipelineDeps, input: CreateDecisionInput): Promise<AnalysisView> {
  const { decisionId } = await createDecision(deps, input);
  try {
    await runDecisionChain(deps, decisionId);
  } catch (e) {
    await deps.db
      .update(decisions)
      .set({ status: 'failed', error: errorOf(e), completedAt: new Date(deps.now()) })
      .where(eq(decisions.id, decisionId));
    throw e;
  }
  return getAnalysis(deps, decisionId);
}

/**
 * A decision as the pipeline reads it back: every agent's result, the final decision, its execution and
 * the book after it, what it cost, and its error. shared/api/analyses.ts maps it to the API contract.
 */
export interface AnalysisView {
  id: string;
  status: DecisionStatus;
  decisionClass: DecisionClass | null;
  symbol: string;
  timeframe: string;
  mode: 'live' | 'backtest_step' | 'backtest';
  runId: string;
  backtestId: string | null;
  decisionTime: Date;
  provider: 'openai' | 'offline';
  agents: Record<AgentName, AgentResult | null>;
  final: FinalDecisionRecord | null;
  execution: { trade: TradeRecord | null; rejected: string | null; price: number } | null;
  portfolio: PortfolioRecord | null;
  cost: CostSummaryRecord;
  promptVersions: Record<string, string>;
  decisionMode: 'pipeline' | 'consensus';
  consensus: ConsensusRecord | null;
  /** The regime detector's reading, the technical analyst's label, and whether they agree. */
  regime: { detector: RegimeReading | null; technical: string | null; agree: boolean | null };
  error: { code: string; message: string } | null;
  createdAt: Date;
  completedAt: Date | null;
}

/** The detector's reading (in the snapshot), the technical analyst's label, and whether they agree. */
function regimeOfDecision(
  snapshot: unknown,
  outputs: Partial<Record<AgentName, AgentResult>>,
): AnalysisView['regime'] {
  const detector = ((snapshot as { regime?: RegimeReading | null } | null)?.regime ??
    null) as RegimeReading | null;
  const t = outputs.technical;
  const technical = t?.status === 'ok' ? ((t.output as { regime?: string } | null)?.regime ?? null) : null;
  const mapped = technicalRegime(technical);
  return { detector, technical, agree: detector && mapped ? detector.regime === mapped : null };
}

/** The stored decision, read back. */
export async function getAnalysis(deps: PipelineDeps, decisionId: string): Promise<AnalysisView> {
  if (!/^[0-9a-f-]{36}$/i.test(decisionId))
    throw new AppError('NOT_FOUND', `analysis ${decisionId} not found`, { field: 'id' });
  const [row] = await deps.db.select().from(decisions).where(eq(decisions.id, decisionId));
  if (!row) throw new AppError('NOT_FOUND', `analysis ${decisionId} not found`, { field: 'id' });
  const [calls] = await deps.db
    .select({
      calls:
        sql<number>`count(*) filter (where ${agentLogs.cacheHit} = false and ${agentLogs.status} <> 'budget_exceeded')`.mapWith(
          Number,
        ),
      cacheHits: sql<number>`count(*) filter (where ${agentLogs.cacheHit} = true)`.mapWith(Number),
    })
    .from(agentLogs)
    .where(eq(agentLogs.decisionId, decisionId));
  const outputs = (row.outputs ?? {}) as Partial<Record<AgentName, AgentResult>>;
  const agents = Object.fromEntries(
    AGENT_NAMES.map((a) => [a, outputs[a] ?? null]),
  ) as AnalysisView['agents'];
  const stored = row.execution as StoredExecution | null;
  const fill = stored?.fill ?? null;
  return {
    id: row.id,
    status: row.status,
    decisionClass: decisionClassOf(row.status, (row.error as { code?: string } | null)?.code),
    symbol: row.symbol,
    timeframe: row.timeframe,
    mode: row.mode,
    runId: row.runId,
    backtestId: row.backtestId,
    decisionTime: row.decisionTime,
    provider: row.provider === 'openai' ? 'openai' : 'offline',
    agents,
    final: stored?.final ?? null,
    execution: fill
      ? {
          trade: (fill.trade ?? null) as TradeRecord | null,
          rejected: fill.rejected,
          price: fill.price,
        }
      : null,
    portfolio: (stored?.portfolio ?? null) as PortfolioRecord | null,
    cost: {
      calls: calls?.calls ?? 0,
      cacheHits: calls?.cacheHits ?? 0,
      tokensIn: row.tokensIn,
      tokensOut: row.tokensOut,
      costUsd: Number(row.costUsd),
      latencyMs: row.latencyMs,
    },
    promptVersions: (row.promptVersions ?? {}) as Record<string, string>,
    decisionMode: row.decisionMode,
    consensus: (row.consensus ?? null) as ConsensusRecord | null,
    regime: regimeOfDecision(row.snapshot, outputs),
    error: (row.error as AnalysisView['error']) ?? null,
    createdAt: row.createdAt,
    completedAt: row.completedAt,
  };
}
