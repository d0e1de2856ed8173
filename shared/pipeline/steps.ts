/**
 * The analysis pipeline as step functions. Each step takes `{ decisionId, ... }`, reads what it needs
 * from the `decisions` row, persists its own output there, and answers a tiny JSON: so Step Functions
 * can call each one through a thin Lambda handler, and the in-process runner (analysis.ts) calls the same
 * functions in the same order.
 *
 *   createDecision -> prepareSnapshot -> runAnalyst x3 (parallel) -> runResearcher -> runTrader
 *   -> runRisk -> finalizeDecision (hard limits, live fill)
 *   |  on failure: markAnalystUnavailable, recordNoTrade, recordSnapshotFailure
 *
 * Design decisions:
 * - Decision time. live: "now" rounded down to the timeframe, i.e. the moment the last bar CLOSED, so
 *   the agents see only closed bars. backtest_step and backtest: the given timestamp. Either way the
 *   snapshot comes from a clock-gated market view (createMarketView(...).at(decisionTime)), which makes
 *   later bars unreachable.
 * - Books. Only mode 'live' executes, against the live book (run 'live'). backtest_step and backtest
 *   never touch a book: a backtest's trades come from its own simulation afterwards. Their runId is a
 *   label: backtest decisions carry the backtest's run id; backtest_step decisions default to the
 *   scratch label 'scratch' (no run row is created). Because backtest decisions run in parallel (Map),
 *   they cannot know the position the simulation will hold; the trader and risk manager see a flat
 *   book with INITIAL_CASH (`portfolio.source: 'flat'` in the snapshot says so).
 * - Parallel analysts write the same row: each merges its result with one UPDATE
 *   (`outputs = outputs || {...}`, counters incremented in place), which PostgreSQL applies on the
 *   latest row version under the row lock, so no result is lost.
 * - Failure is a value, and a failed decision is never a HOLD (decision-class.ts). An analyst's provider
 *   error after retries escapes runAnalyst (the state machine's Catch calls markAnalystUnavailable); an
 *   abstention, a budget refusal or missing static data is stored as the analyst's status. A
 *   researcher/trader/risk call that THROWS (the provider failed it) ends the decision `failed` with the
 *   error's code and no final action (recordNoTrade, a historic name); one that abstains ends `no_trade`
 *   (class abstained, finalizeDecision). No analyst answering because the provider failed them all is
 *   `failed` too (combineFinal).
 *   A snapshot failure (market data missing, broken, or Binance unreachable) is not an agent's: the
 *   decision ends `failed` with that error and no agent is called (recordSnapshotFailure).
 * - Recorded error codes are the product's (shared/util/errors.ts): an LLM error caught by its name
 *   (LlmRateLimited, LlmTimeout, LlmUpstreamError) is recorded as UPSTREAM_LLM_RATE_LIMITED,
 *   LLM_TIMEOUT, UPSTREAM_LLM, so the API can say the model provider failed.
 * - Gating: a researcher confidence under the strategy's researcherMinConfidence (RESEARCHER_MIN_CONFIDENCE
 *   until the learning loop changes it) records trader and risk as `gated` and the decision is HOLD
 *   without calling them.
 * - Strategy version: prepareSnapshot records the strategy version in force at the decision time
 *   (shared/strategy/store.ts: the live book's at "now", a backtest's at its decision time) on the row and
 *   in the snapshot; the gate and the position cap read its parameters, never above the hard ceilings. A trader HOLD skips the risk manager (nothing to review).
 * - Prompt versions: createDecision assigns every decision agent its prompt version once
 *   (shared/prompts/registry.ts: a backtest's fixed versions, else the live PROMPT_AB arm by a hash of the
 *   decision id, else the agent's active version) and stores them in `prompt_versions`; each agent step
 *   sends that version's text, and its result carries the version. Outcomes copy them into their entry
 *   context, which is what the registry's scores read.
 * - finalizeDecision is idempotent: a decision already final is returned as stored, so a retried
 *   finalize cannot fill twice.
 */

import { randomUUID } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { callAgentDeferringLog, resultWithoutCall } from '../agents/call';
import {
  type AnalystOutputs,
  type DecisionSnapshot,
  researcherInput,
  riskInput,
  sentimentInput,
  type TraderConsensus,
  technicalInput,
  tokenomicsInput,
  traderInput,
} from '../agents/inputs';
import {
  type AgentName,
  type AgentResult,
  ANALYSTS,
  type AnalystName,
  type ResearcherOutput,
  type TraderOutput,
} from '../agents/schemas';
import { type ConsensusResult, tallyVotes } from '../consensus/votes';
import { decisions } from '../db/schema';
import { computeIndicators, WARMUP_BARS } from '../indicators/compute';
import { createMarketView, type MarketSummary, summarizeForAgents } from '../indicators/market-view';
import type { AgentLogRow } from '../llm/client';
import { isLlmCallError, llmProviderErrorCode } from '../llm/errors';
import { fingerprintCandles } from '../market/fingerprint';
import { filtersFor, isTimeframe, TIMEFRAME_MS, type Timeframe } from '../market/types';
import { listOutcomes } from '../outcomes/repository';
import { sizeBuy } from '../outcomes/sizing';
import type { KellyResult } from '../outcomes/stats';
import { CLAMP_UNIT_PCT } from '../portfolio/order';
import { BUILTIN_PROMPTS } from '../prompts/builtin';
import { assignDecisionPrompts, promptForDecision } from '../prompts/registry';
import { detectRegime, type RegimeReading } from '../regime/detector';
import { defaultStrategyParams } from '../strategy/defaults';
import type { DecisionMode as StrategyDecisionMode, StrategyParams } from '../strategy/params';
import { getStrategyVersion, strategyInForce } from '../strategy/store';
import { perOwnerCache } from '../util/bounded-cache';
import { AppError, isAppError } from '../util/errors';
import { backtestContext } from './backtest/context';
import { decisionClassOf } from './decision-class';
import {
  type DecisionRow,
  forgetDecision,
  loadDecision,
  loadForAgent,
  persistResults,
  rememberSettled,
} from './decision-store';
import type { PipelineDeps } from './deps';
import { combineFinal, type FinalDecision, withStops } from './final';
import { executeLive, liveBookView } from './live-book';

export type DecisionMode = 'live' | 'backtest_step' | 'backtest';
/** How the firm decides whether to call the trader (shared/strategy/params.ts). */
export type DecisionModeName = StrategyDecisionMode;
export type DecisionStatus = 'pending' | 'running' | 'completed' | 'no_trade' | 'budget_exceeded' | 'failed';
export const TERMINAL_STATUSES: readonly DecisionStatus[] = [
  'completed',
  'no_trade',
  'budget_exceeded',
  'failed',
];

export const LIVE_RUN_ID = 'live';
/** The run label of backtest_step decisions: no book behind it (see header). */
export const SCRATCH_RUN_ID = 'scratch';
/** Bars fetched beyond the indicator warm-up, for the summary's return windows. */
export const SNAPSHOT_EXTRA_BARS = 40;

export interface CreateDecisionInput {
  symbol: string;
  timeframe: Timeframe | string;
  mode: DecisionMode;
  /** ISO time or epoch ms; required for backtest modes, refused for live. */
  timestamp?: string | number;
  /** Defaults: 'live' for live, 'scratch' for backtest_step; required for backtest. */
  runId?: string;
  backtestId?: string | null;
  /** Blind mode; defaults to the backtest's `blind` setting, else false. */
  blind?: boolean;
  /** pipeline or consensus; defaults to the backtest's `decision_mode`, else DECISION_MODE. */
  decisionMode?: DecisionModeName;
}

/** What finalizeDecision stores in `decisions.execution`. */
export interface StoredExecution {
  final: FinalDecision | null;
  fill: { trade: unknown | null; rejected: string | null; price: number } | null;
  portfolio: unknown | null;
  /** The Kelly computation at the fill (SIZING kelly or min, BUYs only). */
  kelly?: KellyResult | null;
}

// ---------- helpers ----------

function snapshotOf(row: { snapshot: unknown; id: string }): DecisionSnapshot {
  const s = row.snapshot as Partial<DecisionSnapshot> | null;
  if (!s?.market)
    throw new AppError(
      'CONFLICT',
      `decision ${row.id} has no market snapshot yet (run prepareSnapshot first)`,
      {
        field: 'decisionId',
      },
    );
  return s as DecisionSnapshot;
}

type Outputs = Partial<Record<AgentName, AgentResult>>;
const outputsOf = (row: { outputs: unknown }) => (row.outputs ?? {}) as Outputs;

/** The prompt version a decision assigned an agent at creation (absent on older decisions: the builtin's). */
function assignedVersion(row: { promptVersions: unknown }, agent: AgentName): string {
  const v = (row.promptVersions as Record<string, unknown> | null)?.[agent];
  return typeof v === 'string' ? v : BUILTIN_PROMPTS[agent].version;
}

/**
 * The call context of a decision's agents, with the decision's deadline: DECISION_DEADLINE_MS after the
 * row was created (the database's clock, the same wall time every step of every Lambda reads).
 */
function context(
  row: { id: string; runId: string; symbol: string; createdAt: Date },
  settings: { DECISION_DEADLINE_MS: number },
) {
  return {
    decisionId: row.id,
    runId: row.runId,
    symbol: row.symbol,
    deadlineAt: row.createdAt.getTime() + settings.DECISION_DEADLINE_MS,
  };
}

/**
 * callAgent, and when the call fails after spending tokens (a first attempt billed before a failed
 * repair), those tokens and their cost are added to the decision before the error goes on, so the
 * decision's totals match agent_logs. The agent's slot stays empty: a retry of the step still runs.
 */
async function callAgentAccounted<A extends AgentName>(
  deps: PipelineDeps,
  agent: A,
  input: unknown,
  row: DecisionRow,
) {
  const ctx = context(row, deps.settings);
  // The version the decision was assigned at creation (shared/prompts/registry.ts), and its text.
  const prompt = await promptForDecision(deps.db, agent, assignedVersion(row, agent));
  try {
    // The call's log row is written with its result (persistResults), in one statement.
    return await callAgentDeferringLog(deps.llm, agent, input, ctx, prompt);
  } catch (e) {
    const spent = isLlmCallError(e) ? e.spent : undefined;
    if (spent && (spent.tokensIn > 0 || spent.tokensOut > 0 || spent.costUsd > 0))
      await deps.db
        .update(decisions)
        .set({
          tokensIn: sql`${decisions.tokensIn} + ${spent.tokensIn}`,
          tokensOut: sql`${decisions.tokensOut} + ${spent.tokensOut}`,
          costUsd: sql`${decisions.costUsd} + ${spent.costUsd.toFixed(8)}`,
        })
        .where(eq(decisions.id, ctx.decisionId));
    throw e;
  }
}

/** The strategy's position cap, never above the configured hard ceiling MAX_POSITION_SIZE_PCT. */
function positionCap(deps: PipelineDeps, params: StrategyParams | undefined): number {
  const ceiling = deps.settings.MAX_POSITION_SIZE_PCT;
  return params ? Math.min(ceiling, params.maxPositionSizePct) : ceiling;
}

function parseTime(t: string | number | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = typeof t === 'number' ? t : Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t);
  if (!Number.isFinite(ms))
    throw new AppError('VALIDATION_ERROR', `timestamp is not a valid time: ${t}`, { field: 'timestamp' });
  return ms;
}

/**
 * What the agents see of the market at `decisionTime`: the clock-gated view of the closed bars before
 * it (warm-up included), and its summary. Throws INSUFFICIENT_DATA when there are too few for the indicators, and the candle
 * repository's errors (Binance) as they come.
 */
async function marketSummaryAt(deps: PipelineDeps, symbol: string, tf: Timeframe, decisionTime: number) {
  const tfMs = TIMEFRAME_MS[tf];
  // Nothing can have closed before the epoch: no request to make.
  if (decisionTime <= 0)
    throw new AppError('INSUFFICIENT_DATA', `no bar closed before ${new Date(decisionTime).toISOString()}`);
  const { candles } = await deps.candles.getCandles({
    symbol,
    timeframe: tf,
    startMs: Math.max(0, decisionTime - (WARMUP_BARS + SNAPSHOT_EXTRA_BARS) * tfMs),
    endMs: decisionTime - 1,
  });
  // The same closed bars give the same reading: variants of a study deciding at the same points, or a
  // resumed point, compute it once. Keyed by the bars themselves (a 64-bit fingerprint of every field
  // of every bar), never by the time alone, so a repaired or corrected series is computed afresh.
  const key = candles.length
    ? `${symbol}|${tf}|${decisionTime}|${candles.length}|${fingerprintCandles(candles)}`
    : undefined;
  const memo = key ? marketReadings(deps.candles).get(key) : undefined;
  if (memo) return memo;
  const series = computeIndicators(candles, tf);
  const view = createMarketView(candles, series, tf).at(decisionTime);
  const market = summarizeForAgents(view);
  // The regime detector reads the same clock-gated view the agents' summary comes from.
  const detected = detectRegime(view.recentCandles(view.length), tf);
  const reading = { market, regime: detected.ok ? detected.reading : null };
  if (key) marketReadings(deps.candles).set(key, reading);
  return reading;
}

/**
 * Compute, in the background, the market reading of the decision point BACKTEST_MAP_CONCURRENCY after
 * this backtest decision's into the memo (PipelineDeps.readAhead). Errors are left for that point's own
 * snapshot step to meet and record.
 */
async function readAheadOf(deps: PipelineDeps, row: DecisionRow): Promise<void> {
  const bt = await backtestContext(deps.db, row.backtestId!);
  const times = bt.settings.decisionTimes;
  const ahead = times[times.indexOf(row.decisionTime.getTime()) + deps.settings.BACKTEST_MAP_CONCURRENCY];
  if (ahead === undefined) return;
  // After the current turn: this point's own calls go out first.
  setImmediate(() => {
    marketSummaryAt(deps, row.symbol, row.timeframe as Timeframe, ahead).catch(() => undefined);
  });
}

/** Market readings by their bars, per candle source (a pure function of the bars: see marketSummaryAt). */
const marketReadings = perOwnerCache<string, { market: MarketSummary; regime: RegimeReading | null }>(256);

/**
 * Pre-flight of a backtest_step analysis: a timestamp before the symbol's first candle, or before the
 * indicators' warm-up is possible, is a 422 INSUFFICIENT_DATA naming `timestamp`, answered before any
 * record or workflow exists (like every other bad input). The candles it loads are cached, so the
 * snapshot step reads them from the database.
 */
export async function assertMarketDataAt(
  deps: PipelineDeps,
  input: { symbol: string; timeframe: Timeframe; decisionTime: number },
): Promise<void> {
  try {
    await marketSummaryAt(deps, input.symbol, input.timeframe, input.decisionTime);
  } catch (e) {
    if (isAppError(e) && e.code === 'INSUFFICIENT_DATA')
      throw new AppError(
        'INSUFFICIENT_DATA',
        `timestamp: not enough ${input.symbol} ${input.timeframe} market data before ${new Date(input.decisionTime).toISOString()} ` +
          `for the indicators (they need ${WARMUP_BARS} closed bars of warm-up; ${e.message}). Choose a later timestamp.`,
        { field: 'timestamp', symbol: input.symbol, timeframe: input.timeframe, warmupBars: WARMUP_BARS },
      );
    throw e;
  }
}

// ---------- steps ----------

export async function createDecision(
  deps: PipelineDeps,
  input: CreateDecisionInput,
): Promise<{ decisionId: string }> {
  const { settings } = deps;
  if (!settings.SYMBOLS.includes(input.symbol))
    throw new AppError(
      'UNKNOWN_SYMBOL',
      `symbol ${input.symbol} is not supported (supported: ${settings.SYMBOLS.join(', ')})`,
      {
        field: 'symbol',
      },
    );
  if (!isTimeframe(input.timeframe))
    throw new AppError('UNSUPPORTED_TIMEFRAME', `timeframe ${input.timeframe} is not supported`, {
      field: 'timeframe',
    });
  const tf = input.timeframe;
  const ts = parseTime(input.timestamp);
  const now = deps.now();
  let decisionTime: number;
  if (input.mode === 'live') {
    if (ts !== undefined)
      throw new AppError('VALIDATION_ERROR', 'timestamp is only allowed with backtest modes', {
        field: 'timestamp',
      });
    decisionTime = Math.floor(now / TIMEFRAME_MS[tf]) * TIMEFRAME_MS[tf];
  } else {
    if (ts === undefined)
      throw new AppError('VALIDATION_ERROR', `timestamp is required for mode ${input.mode}`, {
        field: 'timestamp',
      });
    if (ts > now)
      throw new AppError('VALIDATION_ERROR', 'timestamp must not be in the future', { field: 'timestamp' });
    decisionTime = ts;
  }
  let runId = input.runId;
  if (input.mode === 'live') runId = LIVE_RUN_ID;
  else if (input.mode === 'backtest_step') runId = runId ?? SCRATCH_RUN_ID;
  else if (!runId)
    throw new AppError('VALIDATION_ERROR', 'runId is required for mode backtest', { field: 'runId' });

  let blind = input.blind;
  let decisionMode = input.decisionMode;
  let pinnedPrompts: Partial<Record<AgentName, string>> | undefined;
  let pinnedStrategy: string | undefined;
  if (input.backtestId) {
    const bt = await backtestContext(deps.db, input.backtestId);
    blind ??= bt.blind;
    decisionMode ??= bt.decisionMode;
    // The backtest fixed its prompt versions when it was created (its pins, else the active ones then),
    // and, without learning, the live strategy version then in force.
    pinnedPrompts = bt.promptVersions;
    if (!bt.learning && bt.runId === runId) pinnedStrategy = bt.strategyVersionId;
  }
  // The id is made here so the A/B arm (a hash of it) is known before the row exists.
  const decisionId = randomUUID();
  const promptVersions = await assignDecisionPrompts(deps.db, {
    settings: deps.settings,
    decisionId,
    live: input.mode === 'live',
    pinned: pinnedPrompts ?? null,
  });
  // The strategy version in force: the live book's versions are in wall-clock time (a backtest_step is
  // the firm as it is now, looking at the past); a walk-forward backtest's own versions in market time.
  const strategyRun = input.mode === 'live' || runId === SCRATCH_RUN_ID ? LIVE_RUN_ID : runId;
  const strategy =
    (pinnedStrategy ? await getStrategyVersion(deps.db, pinnedStrategy) : null) ??
    (await strategyInForce(deps.db, {
      settings: deps.settings,
      runId: strategyRun,
      at: strategyRun === LIVE_RUN_ID ? now : decisionTime,
    }));
  const [row] = await deps.db
    .insert(decisions)
    .values({
      id: decisionId,
      runId,
      backtestId: input.backtestId ?? null,
      symbol: input.symbol,
      timeframe: tf,
      mode: input.mode,
      decisionTime: new Date(decisionTime),
      status: 'pending',
      provider: deps.llm.provider,
      strategyVersionId: strategy.id,
      decisionMode: decisionMode ?? strategy.params.decisionMode,
      promptVersions,
      snapshot: { blind: blind === true },
    })
    .returning({ id: decisions.id });
  return { decisionId: row!.id };
}

/**
 * Market-data failures that end a decision as 'failed' before any agent is called: the data is missing
 * or broken, or Binance could not serve it (after the client's own bounded retries). Recorded as a
 * value, so both hosts end the same way; anything else escapes to the caller (the state machine's
 * Catch, the runner), which records it with recordSnapshotFailure.
 */
const SNAPSHOT_FAILURES = new Set([
  'INSUFFICIENT_DATA',
  'DATA_GAP',
  'UNKNOWN_SYMBOL',
  'UNSUPPORTED_TIMEFRAME',
  'UPSTREAM_BINANCE',
  'UPSTREAM_BINANCE_RATE_LIMITED',
]);

type RecordedError = { code: string; message: string };

/** An error as recorded: LLM error names become the product's codes (LlmRateLimited -> UPSTREAM_LLM_RATE_LIMITED). */
function recordedError(error: RecordedError | string, fallbackCode: string): RecordedError {
  const e = typeof error === 'string' ? { code: fallbackCode, message: error } : error;
  return { code: llmProviderErrorCode(e.code) ?? e.code, message: e.message };
}

export async function prepareSnapshot(deps: PipelineDeps, { decisionId }: { decisionId: string }) {
  const row = await loadDecision(deps, decisionId);
  if ((row.snapshot as Partial<DecisionSnapshot> | null)?.market) return { decisionId, ok: true };
  if (TERMINAL_STATUSES.includes(row.status)) return { decisionId, ok: false };
  const tf = row.timeframe as Timeframe;
  const decisionTime = row.decisionTime.getTime();
  const blind = (row.snapshot as { blind?: boolean } | null)?.blind === true;
  try {
    // Sentiment is read beside the candles (each of its sources fails on its own, never the snapshot);
    // not in blind mode, where the sentiment analyst is unavailable.
    const [{ market, regime }, sentiment] = await Promise.all([
      marketSummaryAt(deps, row.symbol, tf, decisionTime),
      blind ? undefined : deps.sentiment?.summaryAt(row.symbol, decisionTime),
    ]);
    let price = market.lastClose;
    let priceSource: DecisionSnapshot['priceSource'] = 'last_close';
    if (row.mode === 'live' && deps.latestPrice) {
      const p = await deps.latestPrice(row.symbol).catch(() => null);
      if (p !== null && Number.isFinite(p) && p > 0) {
        price = p;
        priceSource = 'ticker';
      }
    }
    const strategy =
      (row.strategyVersionId ? await getStrategyVersion(deps.db, row.strategyVersionId) : null) ??
      (await strategyInForce(deps.db, { settings: deps.settings }));
    const limits = {
      maxPositionPct: positionCap(deps, strategy.params),
      maxTotalExposurePct: deps.settings.MAX_TOTAL_EXPOSURE_PCT,
    };
    const portfolio =
      row.mode === 'live'
        ? await liveBookView(deps, row.symbol, price)
        : {
            source: 'flat' as const,
            cash: deps.settings.INITIAL_CASH,
            equity: deps.settings.INITIAL_CASH,
            positionQty: 0,
            positionValue: 0,
            positionPct: 0,
            exposurePct: 0,
          };
    const snapshot: DecisionSnapshot = {
      regime,
      symbol: row.symbol,
      baseAsset: filtersFor(row.symbol).baseAsset,
      timeframe: tf,
      decisionTime,
      blind,
      market,
      price,
      priceSource,
      portfolio,
      limits,
      ...(sentiment ? { sentiment } : {}),
      strategy: { version: strategy.id, seq: strategy.seq, params: strategy.params },
    };
    // Only a decision still under way: one that ended meanwhile (a stopped run listed it NOT_RUN while
    // this step was still computing) is not brought back to `running`.
    const stored = await deps.db
      .update(decisions)
      .set({ snapshot, status: 'running', strategyVersionId: strategy.id })
      .where(and(eq(decisions.id, decisionId), inArray(decisions.status, ['pending', 'running'])))
      .returning({ id: decisions.id });
    if (stored.length === 0) return { decisionId, ok: false };
    rememberSettled(deps, { ...row, snapshot, status: 'running', strategyVersionId: strategy.id });
    return { decisionId, ok: true };
  } catch (e) {
    if (isAppError(e) && SNAPSHOT_FAILURES.has(e.code)) {
      await recordSnapshotFailure(deps, { decisionId, error: { code: e.code, message: e.message } });
      return { decisionId, ok: false };
    }
    throw e;
  }
}

/**
 * The decision could not get its market snapshot: it ends `failed` with the error, and no agent was
 * called (so no agent carries the blame). prepareSnapshot records its known market-data failures
 * itself; the state machine's Catch on the snapshot step, and the in-process runner, record the rest.
 */
export async function recordSnapshotFailure(
  deps: PipelineDeps,
  input: { decisionId: string; error: RecordedError | string },
) {
  const row = await loadDecision(deps, input.decisionId);
  if (TERMINAL_STATUSES.includes(row.status)) return { decisionId: row.id, status: row.status };
  const completedAt = new Date(deps.now());
  const ended = await deps.db
    .update(decisions)
    .set({
      status: 'failed',
      error: recordedError(input.error, 'INTERNAL'),
      completedAt,
      latencyMs: Math.max(0, completedAt.getTime() - row.createdAt.getTime()),
    })
    .where(and(eq(decisions.id, row.id), inArray(decisions.status, ['pending', 'running'])))
    .returning({ id: decisions.id });
  forgetDecision(deps, row.id);
  if (ended.length > 0) decisionMetric(deps, row.mode, 'failed', recordedError(input.error, 'INTERNAL').code);
  return { decisionId: row.id, status: 'failed' as const };
}

/** One metric per decision that reached its end here (a retried step that found it ended emits none). */
function decisionMetric(
  deps: PipelineDeps,
  mode: string,
  status: string,
  errorCode: string | null | undefined,
) {
  deps.metrics?.decisionFinished({ status, decisionClass: decisionClassOf(status, errorCode), mode });
}

export async function runAnalyst(
  deps: PipelineDeps,
  { decisionId, analyst }: { decisionId: string; analyst: AnalystName },
): Promise<AgentResult> {
  if (!(ANALYSTS as readonly string[]).includes(analyst))
    throw new AppError('VALIDATION_ERROR', `analyst must be one of ${ANALYSTS.join(', ')}`, {
      field: 'analyst',
    });
  const { row, stored } = await loadForAgent(deps, decisionId, analyst);
  if (stored) return stored;
  const snap = snapshotOf(row);
  // While this point's analysts wait for the model, read the market of the point the Map will start
  // next in its place (BACKTEST_MAP_CONCURRENCY ahead), so that point's snapshot finds it ready.
  if (analyst === 'technical' && deps.readAhead && row.backtestId) await readAheadOf(deps, row);
  let called: { result: AgentResult; log?: AgentLogRow | undefined };
  if (analyst === 'technical') {
    called = await callAgentAccounted(deps, 'technical', technicalInput(snap), row);
  } else {
    const input = analyst === 'sentiment' ? sentimentInput(snap) : tokenomicsInput(snap);
    called = input.ok
      ? await callAgentAccounted(deps, analyst, input.data, row)
      : {
          result: resultWithoutCall(
            deps.llm,
            analyst,
            'unavailable',
            input.reason,
            assignedVersion(row, analyst),
          ),
        };
  }
  await persistResults(deps, decisionId, [called.result], { logs: [called.log] });
  return called.result;
}

export async function markAnalystUnavailable(
  deps: PipelineDeps,
  input: { decisionId: string; analyst: AnalystName; error: { code: string; message: string } | string },
): Promise<AgentResult> {
  const error = typeof input.error === 'string' ? null : recordedError(input.error, 'AGENT_ERROR');
  const reason = error ? `${error.code}: ${error.message}` : (input.error as string);
  const row = await loadDecision(deps, input.decisionId);
  const result = resultWithoutCall(
    deps.llm,
    input.analyst,
    'unavailable',
    reason,
    assignedVersion(row, input.analyst),
  );
  await persistResults(deps, input.decisionId, [result]);
  return result;
}

export async function runResearcher(deps: PipelineDeps, { decisionId }: { decisionId: string }) {
  const row = await loadDecision(deps, decisionId);
  const outputs = outputsOf(row);
  const done = outputs.researcher;
  if (done) {
    const noConsensus = (row.consensus as ConsensusResult | null)?.reached === false && done.status === 'ok';
    return {
      decisionId,
      gated: !noConsensus && outputs.trader?.status === 'gated',
      noConsensus,
      failed: done.status !== 'ok',
    };
  }
  const snap = snapshotOf(row);
  const slot = (name: AnalystName) => {
    const r = outputs[name];
    return r?.status === 'ok' && r.output
      ? r.output
      : { unavailable: r ? `${r.status}${r.reason ? `: ${r.reason}` : ''}` : 'no result' };
  };
  const analysts = {
    technical: slot('technical'),
    sentiment: slot('sentiment'),
    tokenomics: slot('tokenomics'),
  } as AnalystOutputs;
  if (!ANALYSTS.some((a) => outputs[a]?.status === 'ok')) {
    await persistResults(deps, decisionId, [
      resultWithoutCall(
        deps.llm,
        'researcher',
        'skipped',
        'no analyst was available',
        assignedVersion(row, 'researcher'),
      ),
    ]);
    return { decisionId, gated: false, noConsensus: false, failed: true };
  }
  const { result, log } = await callAgentAccounted(deps, 'researcher', researcherInput(snap, analysts), row);
  const results: AgentResult[] = [result];
  let gated = false;
  let noConsensus = false;
  let consensus: ConsensusResult | null = null;
  if (row.decisionMode === 'consensus') {
    // The vote reads answers already given (no model call). Without a quorum the trader and the risk
    // manager are not called, like the gate, and the decision is HOLD with reason no_consensus.
    consensus = tallyVotes(
      { ...outputs, researcher: result },
      {
        voters: deps.settings.CONSENSUS_VOTERS,
        minAgreement: snap.strategy?.params.minAgreement ?? deps.settings.MIN_AGREEMENT,
      },
    );
    if (result.status === 'ok' && !consensus.reached) {
      noConsensus = true;
      results.push(
        resultWithoutCall(deps.llm, 'trader', 'gated', consensus.reason, assignedVersion(row, 'trader')),
        resultWithoutCall(deps.llm, 'risk', 'gated', consensus.reason, assignedVersion(row, 'risk')),
      );
    }
  }
  if (result.status === 'ok' && !noConsensus) {
    const confidence = (result.output as ResearcherOutput).confidence;
    const learned = snap.strategy?.params.researcherMinConfidence;
    const min = learned ?? deps.settings.RESEARCHER_MIN_CONFIDENCE;
    if (confidence < min) {
      gated = true;
      const why =
        learned === undefined
          ? `researcher confidence ${confidence} is below RESEARCHER_MIN_CONFIDENCE ${min}`
          : `researcher confidence ${confidence} is below RESEARCHER_MIN_CONFIDENCE ${min} (strategy version ${snap.strategy!.seq})`;
      results.push(
        resultWithoutCall(deps.llm, 'trader', 'gated', why, assignedVersion(row, 'trader')),
        resultWithoutCall(deps.llm, 'risk', 'gated', why, assignedVersion(row, 'risk')),
      );
    }
  }
  await persistResults(deps, decisionId, results, { logs: [log], ...(consensus ? { consensus } : {}) });
  return { decisionId, gated, noConsensus, failed: result.status !== 'ok' };
}

/** The trader's view of a reached consensus (undefined in pipeline mode). */
function traderConsensus(stored: unknown): TraderConsensus | undefined {
  const c = stored as ConsensusResult | null;
  if (!c?.agreed) return undefined;
  const agreeing = c.votes.filter((v) => v.vote === c.agreed);
  const mean = agreeing.reduce((a, v) => a + v.confidence, 0) / Math.max(1, agreeing.length);
  return {
    agreed: c.agreed,
    agreeing_confidence: Math.round(mean * 100) / 100,
    tally: c.tally,
    voted: c.voted,
  };
}

export async function runTrader(deps: PipelineDeps, { decisionId }: { decisionId: string }) {
  const row = await loadDecision(deps, decisionId);
  const outputs = outputsOf(row);
  const done = outputs.trader;
  const actionOf = (r: AgentResult | undefined) =>
    r?.status === 'ok' ? (r.output as TraderOutput).action : ('HOLD' as const);
  if (done)
    return { decisionId, failed: done.status !== 'ok' && done.status !== 'gated', action: actionOf(done) };
  const researcher = outputs.researcher;
  if (researcher?.status !== 'ok') {
    await persistResults(deps, decisionId, [
      resultWithoutCall(
        deps.llm,
        'trader',
        'skipped',
        'the researcher did not answer',
        assignedVersion(row, 'trader'),
      ),
    ]);
    return { decisionId, failed: true, action: 'HOLD' as const };
  }
  const snap = snapshotOf(row);
  const { result, log } = await callAgentAccounted(
    deps,
    'trader',
    traderInput(snap, researcher.output as ResearcherOutput, traderConsensus(row.consensus)),
    row,
  );
  const results: AgentResult[] = [result];
  if (result.status === 'ok' && (result.output as TraderOutput).action === 'HOLD')
    results.push(
      resultWithoutCall(
        deps.llm,
        'risk',
        'skipped',
        'the trader proposed HOLD: nothing to review',
        assignedVersion(row, 'risk'),
      ),
    );
  await persistResults(deps, decisionId, results, { logs: [log] });
  return { decisionId, failed: result.status !== 'ok', action: actionOf(result) };
}

export async function runRisk(deps: PipelineDeps, { decisionId }: { decisionId: string }) {
  const row = await loadDecision(deps, decisionId);
  const outputs = outputsOf(row);
  const done = outputs.risk;
  if (done) return { decisionId, failed: !['ok', 'gated', 'skipped'].includes(done.status) };
  const trader = outputs.trader;
  const researcher = outputs.researcher;
  if (trader?.status !== 'ok' || researcher?.status !== 'ok') {
    await persistResults(deps, decisionId, [
      resultWithoutCall(
        deps.llm,
        'risk',
        'skipped',
        'no trade proposal to review',
        assignedVersion(row, 'risk'),
      ),
    ]);
    return { decisionId, failed: false };
  }
  const snap = snapshotOf(row);
  const { result, log } = await callAgentAccounted(
    deps,
    'risk',
    riskInput(snap, researcher.output as ResearcherOutput, trader.output as TraderOutput),
    row,
  );
  await persistResults(deps, decisionId, [result], { logs: [log] });
  return { decisionId, failed: result.status !== 'ok' };
}

export async function finalizeDecision(deps: PipelineDeps, { decisionId }: { decisionId: string }) {
  const row = await loadDecision(deps, decisionId);
  if (TERMINAL_STATUSES.includes(row.status)) {
    const stored = row.execution as StoredExecution | null;
    return {
      decisionId,
      action: row.finalAction ?? null,
      sizePct: row.finalSizePct === null ? null : Number(row.finalSizePct),
      status: row.status,
      gated: stored?.final?.gated ?? false,
    };
  }
  const outputs = outputsOf(row);
  const strategy = (row.snapshot as Partial<DecisionSnapshot> | null)?.strategy;
  const outcome = combineFinal(
    { ...outputs, consensus: (row.consensus as ConsensusResult | null) ?? null },
    { maxPositionPct: positionCap(deps, strategy?.params) },
  );
  // A BUY carries its stops: the trader's, else the defaults of the decision's strategy version.
  if (outcome.final) {
    const trader = outputs.trader?.status === 'ok' ? (outputs.trader.output as TraderOutput) : null;
    outcome.final = withStops(
      outcome.final,
      trader,
      strategy?.params ?? defaultStrategyParams(deps.settings),
    );
  }
  const execution: StoredExecution = { final: outcome.final, fill: null, portfolio: null };
  const final = outcome.final;
  if (row.mode === 'live' && outcome.status === 'completed' && final) {
    const snap = snapshotOf(row);
    if (final.action === 'BUY') {
      const params = strategy?.params;
      execution.kelly = await kellySizeLive(
        deps,
        row.decisionTime.getTime(),
        final,
        params?.kellyFraction ?? deps.settings.KELLY_FRACTION,
      );
    }
    const live = await executeLive(deps, {
      decisionId,
      symbol: row.symbol,
      action: final.action,
      sizePct: final.sizePct,
      price: snap.price,
      time: deps.now(),
    });
    final.clamps.push(...live.clamps);
    execution.fill = { trade: live.trade, rejected: live.rejected, price: snap.price };
    execution.portfolio = live.portfolio;
  }
  const completedAt = new Date(deps.now());
  const status = outcome.status;
  const ended = await deps.db
    .update(decisions)
    .set({
      status,
      finalAction: final?.action ?? null,
      finalSizePct: final ? final.sizePct.toFixed(4) : null,
      execution,
      error: 'error' in outcome ? outcome.error : null,
      completedAt,
      latencyMs: Math.max(0, completedAt.getTime() - row.createdAt.getTime()),
    })
    .where(and(eq(decisions.id, decisionId), inArray(decisions.status, ['pending', 'running'])))
    .returning({ id: decisions.id });
  forgetDecision(deps, decisionId);
  if (ended.length > 0)
    decisionMetric(deps, row.mode, status, 'error' in outcome ? (outcome.error?.code ?? null) : null);
  return {
    decisionId,
    action: final?.action ?? null,
    sizePct: final?.sizePct ?? null,
    status,
    gated: final?.gated ?? false,
  };
}

/**
 * A researcher, trader or risk manager whose step threw (the provider failed it after the retries, or the
 * step itself broke): the decision ends `failed` with the error's product code, the agent that failed
 * carries it, and there is no final action (a failed decision is not a HOLD). The name is historic (the
 * state machine's Catch state calls it); before the decision classes it recorded "no trade".
 */
/**
 * SIZING at the live fill (shared/outcomes/sizing.ts): Kelly from the live book's outcomes closed
 * strictly before the decision time; the size change (or why Kelly did not apply) is a KELLY_SIZING
 * clamp on the final decision. A Kelly size of 0 turns the BUY into a HOLD.
 */
async function kellySizeLive(
  deps: PipelineDeps,
  decisionTime: number,
  final: FinalDecision,
  /** The strategy version's KELLY_FRACTION (the decision's own version, recorded in its snapshot). */
  fraction: number,
) {
  const s = deps.settings;
  if (s.SIZING === 'trader') return null;
  const sample = await listOutcomes(deps.db, {
    runId: LIVE_RUN_ID,
    closedBefore: decisionTime,
    limit: s.KELLY_LOOKBACK,
  });
  const sized = sizeBuy(final.sizePct, sample, {
    mode: s.SIZING,
    lookback: s.KELLY_LOOKBACK,
    fraction,
    minTrades: s.KELLY_MIN_TRADES,
  });
  if (sized.note)
    final.clamps.push({
      rule: 'KELLY_SIZING',
      requested: sized.note.requested,
      allowed: sized.note.allowed,
      unit: CLAMP_UNIT_PCT,
      reason: sized.note.reason,
    });
  final.sizePct = sized.sizePct;
  if (sized.sizePct <= 0) {
    final.action = 'HOLD';
    final.reason = `${final.reason}; Kelly sized it at 0% of equity`;
  }
  return sized.kelly;
}

export async function recordNoTrade(
  deps: PipelineDeps,
  input: { decisionId: string; error: { code: string; message: string } | string },
) {
  const row = await loadDecision(deps, input.decisionId);
  if (TERMINAL_STATUSES.includes(row.status)) return { decisionId: row.id, status: row.status };
  const error = recordedError(input.error, 'AGENT_ERROR');
  const outputs = outputsOf(row);
  // The first of the chain's agents without a result is the one that failed.
  const failedAgent = (['researcher', 'trader', 'risk'] as const).find((a) => !outputs[a]);
  if (failedAgent)
    await persistResults(deps, row.id, [
      resultWithoutCall(
        deps.llm,
        failedAgent,
        'error',
        `${error.code}: ${error.message}`,
        assignedVersion(row, failedAgent),
      ),
    ]);
  const completedAt = new Date(deps.now());
  const ended = await deps.db
    .update(decisions)
    .set({
      status: 'failed',
      finalAction: null,
      finalSizePct: null,
      execution: { final: null, fill: null, portfolio: null } satisfies StoredExecution,
      error,
      completedAt,
      latencyMs: Math.max(0, completedAt.getTime() - row.createdAt.getTime()),
    })
    .where(and(eq(decisions.id, row.id), inArray(decisions.status, ['pending', 'running'])))
    .returning({ id: decisions.id });
  forgetDecision(deps, row.id);
  if (ended.length > 0) decisionMetric(deps, row.mode, 'failed', error.code);
  return { decisionId: row.id, status: 'failed' as const };
}
