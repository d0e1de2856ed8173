/**
 * Backtest steps: create (validate, load and cache candles, pick decision points, pre-flight estimate),
 * plan (the Map's items), one decision point (the same agent chain as an analysis, mode 'backtest', no
 * execution), simulate (the pure simulator over the recorded decisions, persisted into the backtest's
 * own book), fail, read. The backtest state machine calls these as Tasks; `runBacktest` runs the same
 * steps in-process (CLI, tests, the local host's fallback runner).
 *
 * Design decisions:
 * - Decision points are bars, not clock times: bar i is a decision point when it lies in
 *   [start_date, end_date), has WARMUP_BARS of history (indicators are trusted) and a next bar to fill
 *   on; then every `decision_interval` bars, at most `max_decisions`. The decision time is the bar's
 *   close (openTime + interval), exactly what the simulator and the clock-gated market view expect.
 * - Without a `decision_interval`, the decisions are spread evenly over the range:
 *   interval = max(1, floor(barsInRange / max_decisions)), barsInRange being the bars that can carry a
 *   decision. A fixed default of 1 would decide on the first `max_decisions` bars only and leave the
 *   rest of the range undecided, while the buy-and-hold benchmark covers all of it. The chosen interval
 *   is stored (request and column) and printed in the result's assumptions.
 *   The plan is computed once at creation and stored with the backtest, so the estimate, the progress
 *   total and the Map items agree.
 * - The candles of the whole range (warm-up included) are fetched once at creation: the candle
 *   repository fetches only the bars the cache lacks, and every decision point then reads from the
 *   database. Gaps are reported in the result, never filled.
 * - Map items carry only `{ backtestId, decisionTime }` (Step Functions caps a payload at 256 KiB).
 * - Decisions of a backtest are recorded with `backtestId` and the backtest's own run id, never against
 *   the live book: execution happens only in the simulator, into the run whose id is the backtest id.
 * - Progress = decision points whose decision reached a final status. It is recounted from the
 *   decisions table in ONE UPDATE (atomic, and idempotent under Step Functions retries), and read the
 *   same way, so it is right whether the chain ran as states or in-process.
 * - The pre-flight estimate is an upper bound: every decision calls all six agents (gating may skip
 *   two), output at each role's max_tokens, input from the mean of past real calls of that agent when
 *   there are some, else a stated default. Priced with the dated price table.
 */
import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import { AGENT_NAMES, type AgentName } from '../agents/schemas';
import {
  type BacktestDto,
  backtestRequestSchema,
  type CostEstimate,
  type MetricsDto,
  parseDateInput,
} from '../api/contract';
import { decodeCursor, encodeCursor } from '../api/cursor';
import { parseOrThrow } from '../api/validation';
import { type SimulationResult, simulate, type TimedDecision } from '../backtest';
import { selectedProvider } from '../config/settings';
import { agentLogs, backtests, decisions, runs, trades } from '../db/schema';
import { WARMUP_BARS } from '../indicators/compute';
import { ROLE_MAX_TOKENS } from '../llm/client';
import { costUsd, sampleLabel } from '../llm/prices';
import { assertSymbol } from '../market/candle-store';
import { type Candle, type Gap, TIMEFRAME_MS, type Timeframe } from '../market/types';
import { AppError } from '../util/errors';
import { createDecision, runDecisionChain, TERMINAL_STATUSES } from './analysis';
import type { PipelineDeps } from './deps';

/** A stated default when no real call of an agent was logged yet (a compact numeric prompt). */
export const DEFAULT_INPUT_TOKENS_PER_CALL = 900;
const DAY_MS = 86_400_000;
/** Equity points kept in a stored result; longer curves are thinned evenly (the last point kept). */
export const MAX_CURVE_POINTS = 2_000;

export interface BacktestSettingsJson {
  request: {
    symbol: string;
    start_date: string;
    end_date: string;
    timeframe: Timeframe;
    max_decisions: number;
    /** The interval used: the requested one, or the spread one when none was requested. */
    decision_interval: number;
    fill: 'next_open' | 'next_close';
    fee_bps: number;
    slippage_bps: number;
    blind: boolean;
  };
  initialCash: number;
  limits: { maxPositionPct: number; maxTotalExposurePct: number };
  /** How decision_interval was chosen (absent on backtests stored before it could be spread). */
  decisionSpacing?: { source: 'requested' | 'spread'; barsInRange: number };
  decisionTimes: number[];
  /** Open time of the first candle the simulator needs (the first decision's bar). */
  simulateFromMs: number;
  /** Last open time of the range. */
  simulateToMs: number;
  gaps: { after: string; next: string; missingBars: number }[];
  provider: 'openai' | 'offline';
  models: { cheap: string; strong: string };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function gapJson(g: Gap) {
  return { after: iso(g.afterOpenTime), next: iso(g.nextOpenTime), missingBars: g.missingBars };
}

// ---------- creation ----------

/** How many bars can carry a decision: in range, warm, with a later bar to fill on. */
export function countDecisionBars(
  candles: readonly Candle[],
  timeframe: Timeframe,
  startMs: number,
  endMs: number,
): number {
  return pickDecisionPoints(candles, timeframe, startMs, endMs, 1, Number.POSITIVE_INFINITY).length;
}

/** The interval that spreads `maxDecisions` evenly over `barsInRange` bars (see the header). */
export function spreadDecisionInterval(barsInRange: number, maxDecisions: number): number {
  return Math.max(1, Math.floor(barsInRange / maxDecisions));
}

/** Bars that can carry a decision: in range, warm, with a later bar to fill on. */
export function pickDecisionPoints(
  candles: readonly Candle[],
  timeframe: Timeframe,
  startMs: number,
  endMs: number,
  interval: number,
  max: number,
): number[] {
  const tfMs = TIMEFRAME_MS[timeframe];
  const out: number[] = [];
  let next = -1;
  for (let i = 0; i < candles.length - 1 && out.length < max; i++) {
    const c = candles[i] as Candle;
    const decisionTime = c.openTime + tfMs;
    if (c.openTime < startMs || decisionTime > endMs) continue;
    if (i < WARMUP_BARS - 1) continue;
    if (next === -1) next = i;
    if (i === next) {
      out.push(decisionTime);
      next = i + interval;
    }
  }
  return out;
}

export async function estimateBacktestCost(deps: PipelineDeps, decisionCount: number): Promise<CostEstimate> {
  const provider = selectedProvider(deps.settings);
  const rows = await deps.db
    .select({ agent: agentLogs.agent, tokensIn: sql<string>`avg(${agentLogs.tokensIn})::text` })
    .from(agentLogs)
    .where(and(eq(agentLogs.cacheHit, false), sql`${agentLogs.tokensIn} > 0`))
    .groupBy(agentLogs.agent);
  const measured = new Map<string, number>(rows.map((r) => [r.agent, Number(r.tokensIn)]));
  let tokensIn = 0;
  let tokensOut = 0;
  let usd = 0;
  for (const agent of AGENT_NAMES) {
    const route = deps.llm.route(agent as AgentName);
    const inTok = Math.ceil(measured.get(agent) ?? DEFAULT_INPUT_TOKENS_PER_CALL);
    const outTok = ROLE_MAX_TOKENS[agent as AgentName];
    tokensIn += inTok;
    tokensOut += outTok;
    usd += costUsd(route.model, { promptTokens: inTok, completionTokens: outTok, cachedTokens: 0 }) ?? 0;
  }
  const calibrated =
    measured.size > 0
      ? 'input tokens from the mean of past real calls'
      : `input tokens assumed ${DEFAULT_INPUT_TOKENS_PER_CALL} per call (no calls logged yet)`;
  return {
    decisions: decisionCount,
    callsPerDecision: AGENT_NAMES.length,
    tokensIn: tokensIn * decisionCount,
    tokensOut: tokensOut * decisionCount,
    costUsd: Number((usd * decisionCount).toFixed(6)),
    provider,
    models: { cheap: deps.settings.CHEAP_MODEL, strong: deps.settings.STRONG_MODEL },
    note:
      provider === 'offline'
        ? 'offline rules provider: no model is called, the cost is $0 (tokens are what the prompts would use)'
        : `upper bound: all ${AGENT_NAMES.length} agents per decision, output at each role's max_tokens, ${calibrated}; cached answers cost nothing`,
  };
}

/**
 * Validate a backtest request, load its candles (warm-up included), pick its decision points, estimate
 * its cost and record it as 'pending'. Bad input changes nothing.
 */
export async function createBacktest(
  deps: PipelineDeps,
  input: unknown,
): Promise<{ backtestId: string; estimate: CostEstimate }> {
  const req = parseOrThrow(backtestRequestSchema, input, 'body');
  const { settings } = deps;
  assertSymbol(req.symbol, settings.SYMBOLS);
  if (req.max_decisions > settings.BACKTEST_MAX_DECISIONS) {
    throw new AppError(
      'VALIDATION_ERROR',
      `max_decisions: must be at most ${settings.BACKTEST_MAX_DECISIONS} (BACKTEST_MAX_DECISIONS)`,
      { field: 'max_decisions', max: settings.BACKTEST_MAX_DECISIONS },
    );
  }
  const tf = req.timeframe;
  const tfMs = TIMEFRAME_MS[tf];
  const startMs = parseDateInput(req.start_date);
  const endMs = parseDateInput(req.end_date);
  const warmStart = Math.floor(startMs / tfMs) * tfMs - WARMUP_BARS * tfMs;
  // Bars whose close is at or before end_date; one more is needed to fill the last decision.
  const lastOpen = Math.ceil(endMs / tfMs) * tfMs;
  const { candles, gaps } = await deps.candles.getCandles({
    symbol: req.symbol,
    timeframe: tf,
    startMs: Math.max(0, warmStart),
    endMs: lastOpen,
  });
  const barsInRange = countDecisionBars(candles, tf, startMs, endMs);
  const interval = req.decision_interval ?? spreadDecisionInterval(barsInRange, req.max_decisions);
  const points = pickDecisionPoints(candles, tf, startMs, endMs, interval, req.max_decisions);
  if (points.length === 0) {
    const inRange = candles.filter((c) => c.openTime >= startMs && c.openTime < endMs).length;
    throw new AppError(
      'INSUFFICIENT_DATA',
      `start_date: no decision point in ${req.start_date}..${req.end_date} for ${req.symbol} ${tf}: each needs ${WARMUP_BARS} bars of warm-up before it and a bar after it (found ${candles.length} bars from the warm-up start, ${inRange} in range)`,
      { field: 'start_date', warmupBars: WARMUP_BARS, barsFound: candles.length, barsInRange: inRange },
    );
  }
  const estimate = await estimateBacktestCost(deps, points.length);
  if (estimate.provider === 'openai') {
    const status = await deps.llm.budget.status();
    const needed = estimate.tokensIn + estimate.tokensOut;
    if (needed > status.remaining) {
      throw new AppError(
        'BUDGET_EXCEEDED',
        `max_decisions: the estimate (${needed} tokens) exceeds today's remaining token budget (${status.remaining} of ${status.budget}); lower max_decisions or raise DAILY_TOKEN_BUDGET`,
        { field: 'max_decisions', estimateTokens: needed, remaining: status.remaining },
      );
    }
  }
  const firstDecision = points[0] as number;
  const body: BacktestSettingsJson = {
    request: {
      symbol: req.symbol,
      start_date: req.start_date,
      end_date: req.end_date,
      timeframe: tf,
      max_decisions: req.max_decisions,
      decision_interval: interval,
      fill: req.fill,
      fee_bps: req.fee_bps ?? settings.FEE_BPS,
      slippage_bps: req.slippage_bps ?? settings.SLIPPAGE_BPS,
      blind: req.blind,
    },
    initialCash: settings.INITIAL_CASH,
    limits: {
      maxPositionPct: settings.MAX_POSITION_SIZE_PCT,
      maxTotalExposurePct: settings.MAX_TOTAL_EXPOSURE_PCT,
    },
    decisionSpacing: { source: req.decision_interval === undefined ? 'spread' : 'requested', barsInRange },
    decisionTimes: points,
    simulateFromMs: firstDecision - tfMs,
    simulateToMs: lastOpen,
    gaps: gaps.filter((g) => g.nextOpenTime >= startMs).map(gapJson),
    provider: estimate.provider,
    models: estimate.models,
  };
  const backtestId = await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(backtests)
      .values({
        runId: 'pending',
        symbol: req.symbol,
        timeframe: tf,
        startDate: new Date(startMs),
        endDate: new Date(endMs),
        maxDecisions: req.max_decisions,
        decisionInterval: interval,
        status: 'pending',
        progressTotal: points.length,
        settings: body,
        estimate,
      })
      .returning({ id: backtests.id });
    const id = (row as { id: string }).id;
    await tx.update(backtests).set({ runId: id }).where(eq(backtests.id, id));
    const cash = settings.INITIAL_CASH.toFixed(12);
    await tx.insert(runs).values({ id, kind: 'backtest', initialCash: cash, cash }).onConflictDoNothing();
    return id;
  });
  return { backtestId, estimate };
}

// ---------- the workflow's steps ----------

async function loadRow(deps: PipelineDeps, backtestId: string) {
  const [row] = await deps.db.select().from(backtests).where(eq(backtests.id, backtestId));
  if (!row)
    throw new AppError('NOT_FOUND', `backtest ${backtestId} not found`, { field: 'id', id: backtestId });
  return row;
}

function settingsOf(row: typeof backtests.$inferSelect): BacktestSettingsJson {
  return row.settings as BacktestSettingsJson;
}

export async function planBacktest(
  deps: PipelineDeps,
  { backtestId }: { backtestId: string },
): Promise<{ backtestId: string; items: { backtestId: string; decisionTime: number }[] }> {
  const row = await loadRow(deps, backtestId);
  if (row.status === 'pending') {
    await deps.db.update(backtests).set({ status: 'running' }).where(eq(backtests.id, backtestId));
  }
  return {
    backtestId,
    items: settingsOf(row).decisionTimes.map((decisionTime) => ({ backtestId, decisionTime })),
  };
}

function toEpoch(t: number | string): number {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms))
    throw new AppError('VALIDATION_ERROR', 'decisionTime: not a time', { field: 'decisionTime' });
  return ms;
}

/** Create (or find, on a retry) the decision of one decision point. No agent runs here. */
export async function startBacktestDecision(
  deps: PipelineDeps,
  input: { backtestId: string; decisionTime: number | string },
): Promise<{ backtestId: string; decisionId: string }> {
  const row = await loadRow(deps, input.backtestId);
  const t = toEpoch(input.decisionTime);
  if (!settingsOf(row).decisionTimes.includes(t)) {
    throw new AppError(
      'VALIDATION_ERROR',
      `decisionTime: ${iso(t)} is not a decision point of this backtest`,
      {
        field: 'decisionTime',
      },
    );
  }
  const [existing] = await deps.db
    .select({ id: decisions.id })
    .from(decisions)
    .where(and(eq(decisions.backtestId, row.id), eq(decisions.decisionTime, new Date(t))))
    .limit(1);
  if (existing) return { backtestId: row.id, decisionId: existing.id };
  const { decisionId } = await createDecision(deps, {
    symbol: row.symbol,
    timeframe: row.timeframe as Timeframe,
    mode: 'backtest',
    timestamp: iso(t),
    runId: row.runId,
    backtestId: row.id,
  });
  return { backtestId: row.id, decisionId };
}

/** Recount finished decision points into progress_done (one atomic, idempotent UPDATE). */
export async function recordBacktestProgress(deps: PipelineDeps, { backtestId }: { backtestId: string }) {
  await deps.db.execute(sql`
    UPDATE backtests SET progress_done = (
      SELECT count(*)::int FROM decisions
      WHERE backtest_id = ${backtestId} AND status IN ('completed', 'no_trade', 'budget_exceeded', 'failed')
    ) WHERE id = ${backtestId}`);
}

/** One decision point: create its decision, run the agent chain (no execution), count progress. */
export async function runBacktestDecision(
  deps: PipelineDeps,
  input: { backtestId: string; decisionTime: number | string },
): Promise<{ backtestId: string; decisionId: string; status: string }> {
  const { decisionId } = await startBacktestDecision(deps, input);
  const [d] = await deps.db
    .select({ status: decisions.status })
    .from(decisions)
    .where(eq(decisions.id, decisionId));
  let status: string = d?.status ?? 'pending';
  if (!(TERMINAL_STATUSES as readonly string[]).includes(status)) {
    status = (await runDecisionChain(deps, decisionId)).status;
  }
  await recordBacktestProgress(deps, { backtestId: input.backtestId });
  return { backtestId: input.backtestId, decisionId, status };
}

export async function markBacktestFailed(
  deps: PipelineDeps,
  { backtestId, error }: { backtestId: string; error: { code: string; message: string } },
): Promise<{ backtestId: string; status: 'failed' }> {
  await recordBacktestProgress(deps, { backtestId });
  await deps.db
    .update(backtests)
    .set({
      status: 'failed',
      error: { code: error.code, message: error.message },
      finishedAt: new Date(deps.now()),
    })
    .where(eq(backtests.id, backtestId));
  return { backtestId, status: 'failed' };
}

// ---------- simulation ----------

export interface BacktestDecisionRow {
  id: string;
  decisionTime: number;
  status: string;
  action: 'BUY' | 'SELL' | 'HOLD' | null;
  sizePct: number | null;
  stopLossPct: number | null;
  takeProfitPct: number | null;
}

/** The recorded decisions of a backtest, in time order, with the trader's stop/take-profit when set. */
export async function loadBacktestDecisions(
  deps: PipelineDeps,
  backtestId: string,
): Promise<BacktestDecisionRow[]> {
  const rows = await deps.db
    .select({
      id: decisions.id,
      decisionTime: decisions.decisionTime,
      status: decisions.status,
      action: decisions.finalAction,
      sizePct: decisions.finalSizePct,
      outputs: decisions.outputs,
    })
    .from(decisions)
    .where(eq(decisions.backtestId, backtestId))
    .orderBy(decisions.decisionTime, decisions.id);
  const seen = new Set<number>();
  const out: BacktestDecisionRow[] = [];
  for (const r of rows) {
    const t = r.decisionTime.getTime();
    if (seen.has(t)) continue; // a retried decision point: the first recorded decision counts
    seen.add(t);
    const trader = (r.outputs as Record<string, { output?: Record<string, unknown> | null } | undefined>)
      ?.trader?.output;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null);
    out.push({
      id: r.id,
      decisionTime: t,
      status: r.status,
      action: r.action,
      sizePct: r.sizePct === null ? null : Number(r.sizePct),
      stopLossPct: r.action === 'BUY' ? num(trader?.stop_loss_pct) : null,
      takeProfitPct: r.action === 'BUY' ? num(trader?.take_profit_pct) : null,
    });
  }
  return out;
}

/** Decisions as the simulator takes them: a decision without a final action is a HOLD of size 0. */
export function toTimedDecisions(rows: readonly BacktestDecisionRow[]): TimedDecision[] {
  return rows.map((r) => ({
    decisionTime: r.decisionTime,
    action: r.action ?? 'HOLD',
    sizePct: r.action === null || r.action === 'HOLD' ? 0 : Math.min(100, Math.max(0, r.sizePct ?? 0)),
    ...(r.stopLossPct !== null ? { stopLossPct: r.stopLossPct } : {}),
    ...(r.takeProfitPct !== null ? { takeProfitPct: r.takeProfitPct } : {}),
    decisionId: r.id,
  }));
}

/** The simulator's metrics in the API contract's shape (fractions stay fractions; exposure in %). */
export function toMetricsDto(r: SimulationResult): MetricsDto {
  const m = r.metrics;
  const dd = m.maxDrawdown;
  const t = (ms: number | null) => (ms === null ? null : iso(ms));
  return {
    totalReturn: m.totalReturn,
    cagr: m.cagr,
    maxDrawdown: dd.value,
    maxDrawdownPeak: t(dd.peakTime),
    maxDrawdownTrough: t(dd.troughTime),
    maxDrawdownRecovery: t(dd.recoveryTime),
    maxDrawdownDurationDays: dd.durationMs === null ? null : dd.durationMs / DAY_MS,
    sharpeDaily: m.sharpeDaily,
    sharpePerBar: m.sharpePerBar,
    sortino: m.sortinoDaily,
    calmar: m.calmar,
    trades: m.fills,
    roundTrips: m.trades.count,
    winRate: m.trades.winRate,
    profitFactor: m.trades.profitFactor,
    avgWin: m.trades.avgWin,
    avgLoss: m.trades.avgLoss,
    bestTrade: m.trades.best,
    worstTrade: m.trades.worst,
    exposurePct: m.exposure * 100,
    feesPaid: m.feesPaid,
    turnover: m.turnover,
    finalEquity: m.finalEquity,
  };
}

function thin<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = (points.length - 1) / (max - 1);
  const out: T[] = [];
  for (let k = 0; k < max; k++) out.push(points[Math.round(k * step)] as T);
  return out;
}

/** Run the pure simulator on a backtest's recorded decisions (what the simulate step persists). */
export async function simulateRecorded(deps: PipelineDeps, backtestId: string) {
  const row = await loadRow(deps, backtestId);
  const s = settingsOf(row);
  const rows = await loadBacktestDecisions(deps, backtestId);
  if (rows.length === 0) {
    throw new AppError('INSUFFICIENT_DATA', 'no decision of this backtest was recorded', { id: backtestId });
  }
  const { candles } = await deps.candles.getCandles({
    symbol: row.symbol,
    timeframe: row.timeframe as Timeframe,
    startMs: s.simulateFromMs,
    endMs: s.simulateToMs,
  });
  const result = simulate({
    candles,
    timeframe: row.timeframe as Timeframe,
    decisions: toTimedDecisions(rows),
    settings: {
      symbol: row.symbol,
      initialCash: s.initialCash,
      feeBps: s.request.fee_bps,
      slippageBps: s.request.slippage_bps,
      limits: s.limits,
      fillAt: s.request.fill,
    },
  });
  return { row, settings: s, rows, result };
}

export async function simulateBacktest(
  deps: PipelineDeps,
  { backtestId }: { backtestId: string },
): Promise<{ backtestId: string; status: 'succeeded'; tradeListHash: string }> {
  const { row, settings: s, rows, result } = await simulateRecorded(deps, backtestId);
  const runId = row.runId;
  const symbol = row.symbol;
  const baseAsset = symbol.replace(/USDT$/, '');

  // LLM spend of the run, from the decisions (tokens and cost) and the call log (calls, cache hits).
  const ids = rows.map((r) => r.id);
  const [spend] = await deps.db
    .select({
      tokensIn: sql<number>`coalesce(sum(${decisions.tokensIn}), 0)::int`,
      tokensOut: sql<number>`coalesce(sum(${decisions.tokensOut}), 0)::int`,
      costUsd: sql<string>`coalesce(sum(${decisions.costUsd}), 0)::text`,
      latencyMs: sql<number>`coalesce(sum(${decisions.latencyMs}), 0)::int`,
    })
    .from(decisions)
    .where(eq(decisions.backtestId, backtestId));
  const [calls] = ids.length
    ? await deps.db
        .select({
          calls: sql<number>`count(*)::int`,
          cacheHits: sql<number>`count(*) filter (where ${agentLogs.cacheHit})::int`,
          models: sql<string[]>`array_agg(distinct ${agentLogs.model})`,
        })
        .from(agentLogs)
        .where(inArray(agentLogs.decisionId, ids))
    : [{ calls: 0, cacheHits: 0, models: [] as string[] }];
  const estimate = row.estimate as CostEstimate | null;
  const models = (calls?.models ?? []).filter(Boolean);
  const startMs = row.startDate.getTime();
  const endMs = row.endDate.getTime();

  const assumptions = [
    ...result.assumptions,
    `initial cash ${s.initialCash} USDT; fee ${s.request.fee_bps} bps per fill; slippage ${s.request.slippage_bps} bps against the trader`,
    `limits: max position ${s.limits.maxPositionPct}% of equity, max total exposure ${s.limits.maxTotalExposurePct}%`,
    `decisions every ${s.request.decision_interval} ${row.timeframe} bar(s)${spacingNote(s)} after a warm-up of ${WARMUP_BARS} bars; ${rows.length} decision(s)`,
    `agents: provider ${s.provider}${s.request.blind ? ', blind mode (symbol, prices and dates hidden from the model)' : ''}`,
  ];

  await deps.db.transaction(async (tx) => {
    // A rerun of the step replaces the book's ledger instead of appending to it.
    await tx.delete(trades).where(eq(trades.runId, runId));
    let seq = 0;
    const lines = [
      ...result.fills.map((f) => ({ kind: 'fill' as const, at: f.executedAt, f })),
      ...result.rejections.map((r) => ({ kind: 'reject' as const, at: r.executedAt, r })),
    ].sort((a, b) => a.at - b.at);
    const values = lines.map((l) =>
      l.kind === 'fill'
        ? {
            runId,
            seq: ++seq,
            decisionId: l.f.decisionId,
            symbol,
            side: l.f.side,
            status: 'filled' as const,
            reason: l.f.reason,
            quantity: l.f.quantity,
            price: l.f.price,
            referencePrice: l.f.referencePrice,
            notional: l.f.notional,
            fee: l.f.fee,
            feeAsset: l.f.feeAsset,
            feeUsd: l.f.feeUsd,
            realizedPnl: l.f.realizedPnl,
            clamps: l.f.clamps,
            executedAt: new Date(l.f.executedAt),
          }
        : {
            runId,
            seq: ++seq,
            decisionId: l.r.decisionId,
            symbol,
            side: l.r.side,
            status: 'rejected' as const,
            reason: l.r.reason,
            quantity: '0',
            price: '0',
            referencePrice: '0',
            notional: '0',
            fee: '0',
            feeAsset: l.r.side === 'BUY' ? baseAsset : 'USDT',
            feeUsd: '0',
            realizedPnl: '0',
            clamps: l.r.clamps,
            executedAt: new Date(l.r.executedAt),
          },
    );
    const inserted = values.length
      ? await tx.insert(trades).values(values).returning({ id: trades.id, seq: trades.seq })
      : [];
    const idBySeq = new Map(inserted.map((t) => [t.seq, t.id]));
    const book = result.finalBook;
    await tx
      .update(runs)
      .set({
        cash: book.cash,
        feesPaid: book.feesPaid,
        realizedPnl: book.realizedPnl,
        version: sql`${runs.version} + 1`,
        updatedAt: new Date(deps.now()),
      })
      .where(eq(runs.id, runId));
    await tx.execute(sql`DELETE FROM positions WHERE run_id = ${runId}`);
    for (const p of book.positions) {
      await tx.execute(sql`
        INSERT INTO positions (run_id, symbol, quantity, avg_entry_price, cost_basis, realized_pnl, fees_paid)
        VALUES (${runId}, ${p.symbol}, ${p.quantity}, ${p.avgEntryPrice}, ${p.costBasis}, ${p.realizedPnl}, ${p.feesPaid})`);
    }

    const tradeDtos = values.map((v) => ({
      id: idBySeq.get(v.seq) ?? `${runId}:${v.seq}`,
      runId,
      decisionId: v.decisionId,
      symbol,
      side: v.side,
      status: v.status,
      reason: v.reason,
      quantity: Number(v.quantity),
      price: Number(v.price),
      notional: Number(v.notional),
      fee: Number(v.fee),
      feeAsset: v.feeAsset,
      feeUsd: Number(v.feeUsd),
      realizedPnl: Number(v.realizedPnl),
      clamps: v.clamps.map((c) => ({
        rule: String(c.rule),
        requested:
          (c as { requested?: unknown }).requested === undefined
            ? null
            : Number((c as { requested?: unknown }).requested),
        allowed:
          (c as { allowed?: unknown }).allowed === undefined
            ? null
            : Number((c as { allowed?: unknown }).allowed),
        ...(typeof (c as { unit?: unknown }).unit === 'string' ? { unit: (c as { unit: string }).unit } : {}),
        reason: String((c as { reason?: unknown }).reason ?? ''),
      })),
      executedAt: v.executedAt.toISOString(),
    }));
    const bh = result.buyAndHold;
    const resultJson: NonNullable<BacktestDto['result']> = {
      metrics: toMetricsDto(result),
      buyAndHold: {
        totalReturn: bh ? bh.totalReturn : null,
        finalEquity: bh ? bh.finalEquity : s.initialCash,
      },
      equityCurve: thin(result.equityCurve, MAX_CURVE_POINTS).map((p) => ({
        timestamp: iso(p.timestamp),
        equity: p.equity,
      })),
      // Same length as the equity curve, so the same thinning keeps the same timestamps.
      buyAndHoldCurve: bh
        ? thin(bh.equityCurve, MAX_CURVE_POINTS).map((p) => ({
            timestamp: iso(p.timestamp),
            equity: p.equity,
          }))
        : [],
      trades: tradeDtos,
      decisions: rows.map((r) => ({
        id: r.id,
        decisionTime: iso(r.decisionTime),
        status: r.status as NonNullable<BacktestDto['result']>['decisions'][number]['status'],
        action: r.action,
        sizePct: r.sizePct,
      })),
      llmSpend: {
        calls: Number(calls?.calls ?? 0),
        cacheHits: Number(calls?.cacheHits ?? 0),
        tokensIn: Number(spend?.tokensIn ?? 0),
        tokensOut: Number(spend?.tokensOut ?? 0),
        costUsd: Number(Number(spend?.costUsd ?? 0).toFixed(6)),
        latencyMs: Number(spend?.latencyMs ?? 0),
        estimateUsd: estimate ? estimate.costUsd : null,
      },
      assumptions,
      sample: sampleLabel(
        models.length ? models : [s.provider === 'offline' ? 'offline-rules' : s.models.strong],
        startMs,
        endMs,
      ),
      gaps: s.gaps,
    };
    await tx
      .update(backtests)
      .set({
        status: 'succeeded',
        result: { ...resultJson, tradeListHash: result.tradeListHash },
        progressDone: rows.length,
        finishedAt: new Date(deps.now()),
        error: null,
      })
      .where(eq(backtests.id, backtestId));
  });
  return { backtestId, status: 'succeeded', tradeListHash: result.tradeListHash };
}

/** Why the interval is what it is, for the assumptions: spread over the range, or as requested. */
function spacingNote(s: BacktestSettingsJson): string {
  const spacing = s.decisionSpacing;
  if (!spacing) return '';
  if (spacing.source === 'requested') return ' (as requested)';
  return ` (spread evenly: max(1, floor(${spacing.barsInRange} bars in range / ${s.request.max_decisions} max decisions)))`;
}

// ---------- reading ----------

function toDto(row: typeof backtests.$inferSelect, done: number, withResult: boolean): BacktestDto {
  const s = settingsOf(row);
  const result =
    withResult && row.result ? (row.result as BacktestDto['result'] & { tradeListHash?: string }) : null;
  if (result) delete (result as { tradeListHash?: string }).tradeListHash;
  return {
    id: row.id,
    status: row.status,
    symbol: row.symbol,
    timeframe: row.timeframe,
    startDate: row.startDate.toISOString(),
    endDate: row.endDate.toISOString(),
    maxDecisions: row.maxDecisions,
    decisionInterval: row.decisionInterval,
    provider: s.provider,
    progress: { done: Math.min(done, row.progressTotal), total: row.progressTotal },
    estimate: (row.estimate as CostEstimate | null) ?? null,
    result,
    error: (row.error as { code: string; message: string } | null) ?? null,
    createdAt: row.createdAt.toISOString(),
    finishedAt: row.finishedAt ? row.finishedAt.toISOString() : null,
  };
}

async function finishedCounts(deps: PipelineDeps, ids: string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await deps.db
    .select({ id: decisions.backtestId, n: sql<number>`count(distinct ${decisions.decisionTime})::int` })
    .from(decisions)
    .where(and(inArray(decisions.backtestId, ids), inArray(decisions.status, [...TERMINAL_STATUSES])))
    .groupBy(decisions.backtestId);
  return new Map(rows.map((r) => [r.id as string, Number(r.n)]));
}

export async function getBacktest(deps: PipelineDeps, id: string): Promise<BacktestDto> {
  const row = await loadRow(deps, id);
  const done =
    row.status === 'succeeded' ? row.progressTotal : ((await finishedCounts(deps, [id])).get(id) ?? 0);
  return toDto(row, Math.max(done, row.progressDone), true);
}

export async function listBacktests(
  deps: PipelineDeps,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
): Promise<{ items: Omit<BacktestDto, 'result'>[]; nextCursor: string | null }> {
  const key = decodeCursor(cursor);
  const created = sql`date_trunc('milliseconds', ${backtests.createdAt})`;
  const rows = await deps.db
    .select()
    .from(backtests)
    .where(
      key
        ? or(
            lt(created, new Date(key.timeMs)),
            and(eq(created, new Date(key.timeMs)), lt(backtests.id, key.id)),
          )
        : undefined,
    )
    .orderBy(desc(created), desc(backtests.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const counts = await finishedCounts(
    deps,
    page.filter((r) => r.status !== 'succeeded').map((r) => r.id),
  );
  const items = page.map((r) => {
    const done = r.status === 'succeeded' ? r.progressTotal : (counts.get(r.id) ?? 0);
    const { result: _omit, ...rest } = toDto(r, Math.max(done, r.progressDone), false);
    return rest;
  });
  const last = page.at(-1);
  return {
    items,
    nextCursor:
      rows.length > limit && last ? encodeCursor({ timeMs: last.createdAt.getTime(), id: last.id }) : null,
  };
}

// ---------- in-process runner ----------

export interface RunBacktestOptions {
  /** Decision points run at once (the Map's MaxConcurrency). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * plan -> decision points with bounded concurrency -> simulate, in this process. Any failure marks the
 * backtest failed (with the error) and is rethrown.
 */
export async function runBacktest(
  deps: PipelineDeps,
  backtestId: string,
  opts: RunBacktestOptions = {},
): Promise<BacktestDto> {
  const concurrency = Math.max(1, opts.concurrency ?? deps.settings.BACKTEST_MAP_CONCURRENCY);
  try {
    const { items } = await planBacktest(deps, { backtestId });
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (;;) {
        const k = next++;
        const item = items[k];
        if (!item) return;
        await runBacktestDecision(deps, item);
        done++;
        opts.onProgress?.(done, items.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
    await simulateBacktest(deps, { backtestId });
  } catch (e) {
    const error =
      e instanceof AppError
        ? { code: e.code, message: e.message }
        : { code: 'INTERNAL', message: (e as Error)?.message ?? String(e) };
    await markBacktestFailed(deps, { backtestId, error }).catch(() => undefined);
    throw e;
  }
  return getBacktest(deps, backtestId);
}
