/**
 * The `decisions` row as the agent steps read and write it.
 *
 * - Reading. A decision's identity, prompt versions and market snapshot never change once its snapshot
 *   is stored (prepareSnapshot writes it once and returns early ever after). The first read in a process
 *   keeps that part in a bounded memo per database handle; every later step of the chain reads only the
 *   columns that do change (status, outputs, consensus, totals, final fields), so a chain of eight steps
 *   parses its ~10 KB snapshot once, not eight times. Another process (another Lambda container) simply
 *   reads the whole row the first time.
 * - Writing. Each agent's result is merged into `outputs` with ONE statement (`outputs || {...}`,
 *   counters incremented in place), which PostgreSQL applies on the latest row version under the row
 *   lock, so parallel analysts lose nothing; the calls' agent_logs rows are inserted by the same
 *   statement (a data-modifying WITH), so the decision's totals and its logs cannot disagree and a step
 *   makes one round trip instead of two.
 */
import { eq, sql } from 'drizzle-orm';
import type { AgentName, AgentResult } from '../agents/schemas';
import { agentLogs, decisions } from '../db/schema';
import type { AgentLogRow } from '../llm/client';
import { perOwnerCache } from '../util/bounded-cache';
import { AppError } from '../util/errors';
import type { PipelineDeps } from './deps';

export type DecisionRow = typeof decisions.$inferSelect;

/** The columns a running decision changes. */
const CHANGING = {
  status: decisions.status,
  outputs: decisions.outputs,
  consensus: decisions.consensus,
  promptVersions: decisions.promptVersions,
  execution: decisions.execution,
  finalAction: decisions.finalAction,
  finalSizePct: decisions.finalSizePct,
  error: decisions.error,
  tokensIn: decisions.tokensIn,
  tokensOut: decisions.tokensOut,
  costUsd: decisions.costUsd,
  latencyMs: decisions.latencyMs,
  completedAt: decisions.completedAt,
  executionId: decisions.executionId,
} as const;

/** Rows whose snapshot is stored: their unchanging part (the changing columns are always read again). */
const settled = perOwnerCache<string, DecisionRow>(1_024);

function hasMarket(row: { snapshot: unknown }): boolean {
  return Boolean((row.snapshot as { market?: unknown } | null)?.market);
}

export async function loadDecision(deps: PipelineDeps, decisionId: string): Promise<DecisionRow> {
  const cache = settled(deps.db);
  const known = cache.get(decisionId);
  if (known) {
    const [changing] = await deps.db.select(CHANGING).from(decisions).where(eq(decisions.id, decisionId));
    if (changing) return { ...known, ...changing };
    cache.delete(decisionId);
  } else {
    const [row] = await deps.db.select().from(decisions).where(eq(decisions.id, decisionId));
    if (row) {
      if (hasMarket(row)) cache.set(decisionId, row);
      return row;
    }
  }
  throw new AppError('NOT_FOUND', `decision ${decisionId} not found`, { field: 'decisionId' });
}

/**
 * What one agent step needs: the row (its unchanging part from the memo when this process holds it) and
 * that agent's stored result, if any (a repeated step answers it and calls nothing). With the memo, the
 * round trip reads that one result only, not the other agents' outputs.
 */
export async function loadForAgent(
  deps: PipelineDeps,
  decisionId: string,
  agent: AgentName,
): Promise<{ row: DecisionRow; stored: AgentResult | undefined }> {
  const known = settled(deps.db).get(decisionId);
  if (known) {
    const [hit] = await deps.db
      .select({ stored: sql<AgentResult | null>`${decisions.outputs} -> ${agent}` })
      .from(decisions)
      .where(eq(decisions.id, decisionId));
    if (hit) return { row: known, stored: hit.stored ?? undefined };
  }
  const row = await loadDecision(deps, decisionId);
  const stored = (row.outputs as Partial<Record<AgentName, AgentResult>> | null)?.[agent];
  return { row, stored };
}

/** prepareSnapshot stored the snapshot: keep the row's unchanging part for the rest of the chain. */
export function rememberSettled(deps: PipelineDeps, row: DecisionRow): void {
  if (hasMarket(row)) settled(deps.db).set(row.id, row);
}

/** The decision reached its end: no later step of its chain needs the memo. */
export function forgetDecision(deps: PipelineDeps, decisionId: string): void {
  settled(deps.db).delete(decisionId);
}

/**
 * Merge agent results into the row, and insert the calls' log rows, in one statement (safe under
 * concurrent analysts).
 */
export async function persistResults(
  deps: PipelineDeps,
  decisionId: string,
  results: AgentResult[],
  also: {
    /** The calls' log rows (callAgentDeferringLog), inserted by the same statement. */
    logs?: readonly (AgentLogRow | undefined)[];
    /** The researcher step's vote tally (consensus mode), stored by the same statement. */
    consensus?: unknown;
  } = {},
): Promise<void> {
  const patch: Record<string, AgentResult> = {};
  const versions: Record<string, string> = {};
  let tokensIn = 0;
  let tokensOut = 0;
  let cost = 0;
  for (const r of results) {
    patch[r.agent] = r;
    versions[r.agent] = r.promptVersion;
    tokensIn += r.tokensIn;
    tokensOut += r.tokensOut;
    cost += r.costUsd;
  }
  const update = deps.db
    .update(decisions)
    .set({
      outputs: sql`${decisions.outputs} || ${JSON.stringify(patch)}::jsonb`,
      // The versions assigned at creation stay (keys on the right win); older decisions get the results'.
      promptVersions: sql`${JSON.stringify(versions)}::jsonb || ${decisions.promptVersions}`,
      tokensIn: sql`${decisions.tokensIn} + ${tokensIn}`,
      tokensOut: sql`${decisions.tokensOut} + ${tokensOut}`,
      costUsd: sql`${decisions.costUsd} + ${cost.toFixed(8)}`,
      ...(also.consensus ? { consensus: also.consensus } : {}),
    })
    .where(eq(decisions.id, decisionId));
  const rows = (also.logs ?? []).filter((l): l is AgentLogRow => l !== undefined);
  if (rows.length === 0) {
    await update;
    return;
  }
  const insert = deps.db.insert(agentLogs).values(rows);
  await deps.db.execute(sql`WITH logged AS (${insert.getSQL()}) ${update.getSQL()}`);
}
