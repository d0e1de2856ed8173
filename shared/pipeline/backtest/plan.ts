/**
 * Creating a backtest: validate the request, load and cache its candles, pick its decision points and
 * estimate its cost, then record it as 'pending' with its own book.
 *
 * Design decisions:
 * - Decision points are bars, not clock times: bar i is a decision point when it lies in
 *   [start_date, end_date), has WARMUP_BARS of history (indicators are trusted) and a next bar to fill
 *   on; then every `decision_interval` bars, at most `max_decisions`. The decision time is the bar's
 *   close (openTime + interval), exactly what the simulator and the clock-gated market view expect.
 *   The last bar of the range closes at end_date, so a decision taken there would fill on the bar after
 *   the range: it is still decided (the firm's view at the range's end), and the simulator, which uses no
 *   bar after end_date (`endTime`), records it as not filled with that reason.
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
 * - The pre-flight estimate is an upper bound: every decision calls all six agents (gating may skip
 *   two), output at each role's max_tokens, input from the mean of past real calls of that agent when
 *   there are some, else a stated default. Priced with the dated price table.
 */
import { and, eq, sql } from 'drizzle-orm';
import { AGENT_NAMES, type AgentName } from '../../agents/schemas';
import { MAX_LEARNING_SEGMENTS } from '../../backtest/limits';
import { selectedProvider } from '../../config/settings';
import { agentLogs, backtests, runs } from '../../db/schema';
import { WARMUP_BARS } from '../../indicators/compute';
import { ROLE_MAX_TOKENS } from '../../llm/client';
import { costUsd } from '../../llm/prices';
import { assertSymbol } from '../../market/candle-store';
import { type Candle, TIMEFRAME_MS, type Timeframe } from '../../market/types';
import { assertPromptVersionsExist, assignDecisionPrompts } from '../../prompts/registry';
import { backtestRequestSchema } from '../../schemas/backtest-request';
import { parseDateInput } from '../../schemas/fields';
import type { CostEstimate } from '../../schemas/records';
import { inheritLiveStrategy, strategyInForce } from '../../strategy/store';
import { AppError } from '../../util/errors';
import { parseOrThrow } from '../../util/validation';
import type { PipelineDeps } from '../deps';
import { SNAPSHOT_EXTRA_BARS } from '../steps';
import { type BacktestSettingsJson, DEFAULT_INPUT_TOKENS_PER_CALL, gapJson } from './settings';

/** A learning agent's input (the summary, the strategy, the patterns): a stated default per call. */
const LEARNING_INPUT_TOKENS_PER_CALL = 3000;

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
  // Pinned prompt versions must be registered (400 naming prompt_versions.<agent>); the rest are the
  // active versions now, fixed for the whole backtest so a lesson applied meanwhile cannot change it.
  const pins = Object.fromEntries(
    Object.entries(req.prompt_versions ?? {}).filter(([, v]) => v !== undefined),
  ) as Partial<Record<AgentName, string>>;
  await assertPromptVersionsExist(deps.db, pins, 'prompt_versions');
  const promptVersions = await assignDecisionPrompts(deps.db, {
    settings,
    decisionId: '',
    live: false,
    pinned: pins,
  });
  const tf = req.timeframe;
  const tfMs = TIMEFRAME_MS[tf];
  const startMs = parseDateInput(req.start_date);
  const endMs = parseDateInput(req.end_date);
  // Every bar a decision's snapshot reads (its warm-up and the summary's extra bars), so no decision
  // point has to reach Binance again.
  const warmStart = Math.floor(startMs / tfMs) * tfMs - (WARMUP_BARS + SNAPSHOT_EXTRA_BARS) * tfMs;
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
  const every = req.learning?.every;
  if (every && Math.ceil(points.length / every) > MAX_LEARNING_SEGMENTS) {
    const least = Math.ceil(points.length / MAX_LEARNING_SEGMENTS);
    throw new AppError(
      'VALIDATION_ERROR',
      `learning.every: ${points.length} decisions in segments of ${every} make ${Math.ceil(points.length / every)} segments, more than ${MAX_LEARNING_SEGMENTS}; use every >= ${least}`,
      { field: 'learning.every', min: least, segments: Math.ceil(points.length / every) },
    );
  }
  const cycles = every ? Math.max(0, Math.ceil(points.length / every) - 1) : 0;
  const estimate = withLearningCycles(deps, await estimateBacktestCost(deps, points.length), cycles, every);
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
  // Without learning, the live strategy version in force now is the backtest's for all its decisions
  // (like its prompt versions); a walk-forward run gets its own copy below.
  const strategyVersionId = every ? undefined : (await strategyInForce(deps.db, { settings })).id;
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
      decision_mode: req.decision_mode ?? settings.DECISION_MODE,
      ...(every ? { learning: { every } } : {}),
      ...(Object.keys(pins).length ? { prompt_versions: pins } : {}),
    },
    promptVersions,
    ...(strategyVersionId ? { strategyVersionId } : {}),
    initialCash: settings.INITIAL_CASH,
    limits: {
      maxPositionPct: settings.MAX_POSITION_SIZE_PCT,
      maxTotalExposurePct: settings.MAX_TOTAL_EXPOSURE_PCT,
    },
    sizing: {
      mode: settings.SIZING,
      lookback: settings.KELLY_LOOKBACK,
      fraction: settings.KELLY_FRACTION,
      minTrades: settings.KELLY_MIN_TRADES,
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
  // A walk-forward backtest's strategy timeline starts from a copy of the live version in force now: its
  // cycles change only this copy, never the live book.
  if (every) await inheritLiveStrategy(deps.db, { settings, runId: backtestId });
  return { backtestId, estimate };
}

/**
 * The learning cycles of a walk-forward backtest in its pre-flight estimate: two strong-tier calls each
 * (learning, strategy_builder), input from past real calls or the stated default, output at max_tokens.
 */
export function withLearningCycles(
  deps: PipelineDeps,
  estimate: CostEstimate,
  cycles: number,
  every: number | undefined,
): CostEstimate {
  if (!every) return estimate;
  let tokensIn = 0;
  let tokensOut = 0;
  let usd = 0;
  for (const agent of ['learning', 'strategy_builder'] as const) {
    const route = deps.llm.route(agent);
    const inTok = LEARNING_INPUT_TOKENS_PER_CALL;
    const outTok = ROLE_MAX_TOKENS[agent];
    tokensIn += inTok;
    tokensOut += outTok;
    usd += costUsd(route.model, { promptTokens: inTok, completionTokens: outTok, cachedTokens: 0 }) ?? 0;
  }
  return {
    ...estimate,
    tokensIn: estimate.tokensIn + tokensIn * cycles,
    tokensOut: estimate.tokensOut + tokensOut * cycles,
    costUsd: Number((estimate.costUsd + usd * cycles).toFixed(6)),
    learningCycles: cycles,
    note: `${estimate.note}; plus ${cycles} learning cycle(s) (one after every ${every} decisions but the last segment), 2 strong-tier calls each`,
  };
}
