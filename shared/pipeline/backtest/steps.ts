/**
 * The backtest state machine's steps: plan (the Map's items), one decision point (the same agent chain
 * as an analysis, mode 'backtest', no execution), simulate (the pure simulator over the recorded
 * decisions, persisted into the backtest's own book). `runBacktest` (runner.ts) runs the same steps
 * in-process.
 *
 * - Map items carry only `{ backtestId, decisionTime }` (Step Functions caps a payload at 256 KiB).
 * - Decisions of a backtest are recorded with `backtestId` and the backtest's own run id, never against
 *   the live book: execution happens only in the simulator, into the run whose id is the backtest id.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { simulate } from '../../backtest';
import { backtests, decisions } from '../../db/schema';
import { WARMUP_BARS } from '../../indicators/compute';
import { sampleLabel } from '../../llm/prices';
import type { Timeframe } from '../../market/types';
import { replaceRunOutcomes } from '../../outcomes/repository';
import type { BacktestResultRecord, CostEstimate } from '../../schemas/records';
import { AppError } from '../../util/errors';
import { createDecision, runDecisionChain, TERMINAL_STATUSES } from '../analysis';
import { countClasses, decisionClassOf } from '../decision-class';
import type { PipelineDeps } from '../deps';
import { backtestContext } from './context';
import { spacingNote, thin, toMetricsRecord, toResultTrades } from './result';
import { DECIDED_STATUSES, NOT_RUN_CODE, recordNotRunPoints } from './resume';
import { iso, MAX_CURVE_POINTS, segmentsOf, settingsOf, simulationSettingsOf } from './settings';
import {
  loadBacktestDecisions,
  loadBacktestSpend,
  loadRow,
  recordBacktestProgress,
  toTimedDecisions,
  writeSimulatedBook,
} from './store';

/**
 * The decision points of one segment (`segment`, default 0). Without walk-forward learning there is one
 * segment: every decision point. With `learning: { every }`, segment k holds decisions k*every ..
 * (k+1)*every - 1; `endBacktestSegment` runs between segments.
 */
export async function planBacktest(
  deps: PipelineDeps,
  { backtestId, segment = 0 }: { backtestId: string; segment?: number },
): Promise<{
  backtestId: string;
  items: { backtestId: string; decisionTime: number }[];
  /** The decision Map's tolerated failure percentage (BACKTEST_MAX_FAILED_PCT). */
  maxFailedPct: number;
  segment: number;
  segments: number;
  /** Decision points of the whole backtest. */
  decisions: number;
}> {
  const row = await loadRow(deps, backtestId);
  if (row.status === 'pending') {
    await deps.db.update(backtests).set({ status: 'running' }).where(eq(backtests.id, backtestId));
  }
  const plan = settingsOf(row);
  const segments = segmentsOf(plan);
  const times = segments[segment];
  if (!times)
    throw new AppError('VALIDATION_ERROR', `segment: ${segment} is not a segment of this backtest`, {
      field: 'segment',
      segments: segments.length,
    });
  // Points already decided (a resumed run) are not decided again: no call, no cost.
  const decided = await deps.db
    .select({ t: decisions.decisionTime })
    .from(decisions)
    .where(and(eq(decisions.backtestId, backtestId), inArray(decisions.status, [...DECIDED_STATUSES])));
  const skip = new Set(decided.map((d) => d.t.getTime()));
  return {
    backtestId,
    items: times.filter((t) => !skip.has(t)).map((decisionTime) => ({ backtestId, decisionTime })),
    maxFailedPct: deps.settings.BACKTEST_MAX_FAILED_PCT,
    segment,
    segments: segments.length,
    decisions: plan.decisionTimes.length,
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
  const row = await backtestContext(deps.db, input.backtestId);
  const t = toEpoch(input.decisionTime);
  if (!row.decisionTimes.has(t)) {
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
    // Nothing after end_date: the final mark is the last close inside the range.
    settings: { ...simulationSettingsOf(row, s), endTime: row.endDate.getTime() },
  });
  return { row, settings: s, rows, result };
}

/**
 * Simulate and persist. The result counts the decisions by class (decision-class.ts); a run with any
 * failed decision is `degraded` (count and first error in the result); past BACKTEST_MAX_FAILED_PCT it
 * ends `failed` (error TOO_MANY_FAILED_DECISIONS): the partial result is stored and readable, but marked
 * `comparable: false`, so nothing presents it as the firm's performance or sets it against buy-and-hold.
 */
export async function simulateBacktest(
  deps: PipelineDeps,
  { backtestId }: { backtestId: string },
): Promise<{ backtestId: string; status: 'succeeded' | 'failed'; tradeListHash: string }> {
  // A run the decision Map stopped (past BACKTEST_MAX_FAILED_PCT) lists the points it never reached as
  // failed (NOT_RUN), so every planned point is accounted for and resume knows what to run.
  await recordNotRunPoints(
    deps,
    backtestId,
    `the run stopped before this point: more than BACKTEST_MAX_FAILED_PCT (${deps.settings.BACKTEST_MAX_FAILED_PCT}%) of its decisions had failed`,
  );
  const { row, settings: s, rows, result } = await simulateRecorded(deps, backtestId);
  const classes = rows.map((r) => decisionClassOf(r.status, r.error?.code));
  const counts = countClasses(classes);
  // The first error is the upstream's, not a point the stopped run never reached.
  const firstFailed =
    rows.find((r, i) => classes[i] === 'failed' && r.error?.code !== NOT_RUN_CODE) ??
    rows.find((_, i) => classes[i] === 'failed');
  const firstError = firstFailed
    ? (firstFailed.error ?? { code: 'FAILED', message: `decision ${firstFailed.id} failed` })
    : null;
  const failedPct = rows.length ? (counts.failed / rows.length) * 100 : 0;
  const maxFailedPct = deps.settings.BACKTEST_MAX_FAILED_PCT;
  const tooManyFailed = failedPct > maxFailedPct;
  const runError = tooManyFailed
    ? {
        code: 'TOO_MANY_FAILED_DECISIONS',
        message: `${counts.failed} of ${rows.length} decisions failed (${failedPct.toFixed(1)}% > BACKTEST_MAX_FAILED_PCT ${maxFailedPct}%); first: ${firstError?.code}: ${firstError?.message}. The partial result is not the firm's performance; resume the backtest once the upstream recovers`,
      }
    : null;
  const runId = row.runId;
  const symbol = row.symbol;

  const { spend, calls } = await loadBacktestSpend(
    deps,
    backtestId,
    rows.map((r) => r.id),
  );
  const estimate = row.estimate as CostEstimate | null;
  const models = (calls?.models ?? []).filter(Boolean);
  const startMs = row.startDate.getTime();
  const endMs = row.endDate.getTime();

  const notFilled = new Map(result.unfilled.map((u) => [u.decisionId, u.reason]));
  const assumptions = [
    ...result.assumptions,
    `initial cash ${s.initialCash} USDT; fee ${s.request.fee_bps} bps per fill; slippage ${s.request.slippage_bps} bps against the trader`,
    `limits: max position ${s.limits.maxPositionPct}% of equity, max total exposure ${s.limits.maxTotalExposurePct}%`,
    `decisions every ${s.request.decision_interval} ${row.timeframe} bar(s)${spacingNote(s)} after a warm-up of ${WARMUP_BARS} bars; ${rows.length} decision(s)`,
    `agents: provider ${s.provider}${s.request.blind ? ', blind mode (symbol, prices and dates hidden from the model)' : ''}`,
    s.request.decision_mode === 'consensus'
      ? `decisions by consensus vote: the trader is called only when MIN_AGREEMENT of CONSENSUS_VOTERS agree (as configured when each decision ran: ${deps.settings.MIN_AGREEMENT} of ${deps.settings.CONSENSUS_VOTERS.join(', ')})`
      : 'decisions by the pipeline (researcher, gate, trader)',
    `metrics over ${counts.decided + counts.abstained} of ${rows.length} decisions (${counts.decided} decided, ${counts.abstained} abstained); ${counts.failed} failed decision(s) made no choice and are left out (the position stayed as it was)`,
  ];

  await deps.db.transaction(async (tx) => {
    const { values, idBySeq } = await writeSimulatedBook(tx, { runId, symbol, result, now: deps.now() });
    // The firm's memory of this backtest: its closed lots, and what is still open at the final mark.
    await replaceRunOutcomes(tx, {
      runId,
      backtestId,
      finalMarks: { [symbol]: result.finalMark },
    });
    const tradeDtos = toResultTrades(runId, symbol, values, idBySeq);
    const bh = result.buyAndHold;
    const resultJson: BacktestResultRecord = {
      metrics: toMetricsRecord(result),
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
      decisions: rows.map((r, i) => ({
        id: r.id,
        decisionTime: iso(r.decisionTime),
        status: r.status as BacktestResultRecord['decisions'][number]['status'],
        class: classes[i] ?? null,
        action: classes[i] === 'failed' ? null : r.action,
        sizePct: classes[i] === 'failed' ? null : r.sizePct,
        error: r.error ? { code: r.error.code, message: r.error.message } : null,
        notFilled: r.action === 'BUY' || r.action === 'SELL' ? (notFilled.get(r.id) ?? null) : null,
      })),
      decisionCounts: counts,
      degraded: counts.failed > 0,
      firstError,
      comparable: !tooManyFailed,
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
        status: tooManyFailed ? 'failed' : 'succeeded',
        result: { ...resultJson, tradeListHash: result.tradeListHash },
        progressDone: rows.length,
        finishedAt: new Date(deps.now()),
        error: runError,
      })
      .where(eq(backtests.id, backtestId));
  });
  deps.metrics?.backtestFinished({
    status: tooManyFailed ? 'failed' : 'succeeded',
    durationMs: Math.max(0, deps.now() - row.createdAt.getTime()),
    decisions: rows.length,
  });
  return { backtestId, status: tooManyFailed ? 'failed' : 'succeeded', tradeListHash: result.tradeListHash };
}
