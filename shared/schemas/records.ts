/**
 * The JSON records the firm stores and the API passes through as they are: trades and their clamps, a
 * book's portfolio view, a decision's final choice, cost and consensus, a backtest's cost estimate,
 * metrics and result. The pipeline writes them (shared/pipeline, shared/portfolio); the API contract
 * (shared/api/contract.ts) composes its responses from them.
 *
 * Conventions as the API's: camelCase, times as ISO-8601 UTC strings, money as a JSON number rounded
 * for display (the database keeps exact decimals).
 */
import { z } from 'zod';

/**
 * A hard-limit clamp: what was asked, what the rule allowed, and why. `unit` says what requested and
 * allowed are in: CLAMP_UNIT_PCT for the sizing rules, else the asset code the order rule counts in (the
 * quote asset for notional rules like MAX_POSITION or CASH, the base asset for quantity rules like
 * LOT_SIZE), as shared/portfolio/order.ts records it. Absent on clamps recorded before it existed.
 */
export const clampSchema = z.object({
  rule: z.string(),
  requested: z.number().nullable(),
  allowed: z.number().nullable(),
  unit: z.string().optional(),
  reason: z.string(),
});

export const tradeRecordSchema = z.object({
  id: z.string(),
  runId: z.string(),
  decisionId: z.string().nullable(),
  symbol: z.string(),
  side: z.enum(['BUY', 'SELL']),
  status: z.enum(['filled', 'rejected']),
  reason: z.string().nullable(),
  quantity: z.number(),
  price: z.number(),
  notional: z.number(),
  fee: z.number(),
  feeAsset: z.string(),
  feeUsd: z.number(),
  realizedPnl: z.number(),
  clamps: z.array(clampSchema),
  executedAt: z.string(),
});
export type TradeRecord = z.infer<typeof tradeRecordSchema>;

export const positionRecordSchema = z.object({
  symbol: z.string(),
  quantity: z.number(),
  avgEntryPrice: z.number(),
  currentPrice: z.number().nullable(),
  marketValue: z.number().nullable(),
  unrealizedPnl: z.number().nullable(),
});

export const portfolioSchema = z.object({
  runId: z.string(),
  initialCash: z.number(),
  cash: z.number(),
  equity: z.number(),
  positionsValue: z.number(),
  totalReturnPct: z.number(),
  realizedPnl: z.number(),
  unrealizedPnl: z.number(),
  feesPaid: z.number(),
  positions: z.array(positionRecordSchema),
  asOf: z.string(),
  pricesNote: z.string().nullable(),
});
export type PortfolioRecord = z.infer<typeof portfolioSchema>;

export const finalDecisionSchema = z.object({
  action: z.enum(['BUY', 'SELL', 'HOLD']),
  sizePct: z.number(),
  gated: z.boolean(),
  reason: z.string(),
  clamps: z.array(clampSchema),
});

export type FinalDecisionRecord = z.infer<typeof finalDecisionSchema>;

export const costSummarySchema = z.object({
  calls: z.number().int(),
  cacheHits: z.number().int(),
  tokensIn: z.number().int(),
  tokensOut: z.number().int(),
  costUsd: z.number(),
  latencyMs: z.number(),
});
export type CostSummaryRecord = z.infer<typeof costSummarySchema>;

const voteSchema = z.enum(['BUY', 'SELL', 'HOLD']);
const voterSchema = z.enum(['technical', 'sentiment', 'tokenomics', 'researcher']);
export const consensusSchema = z.object({
  voters: z.array(voterSchema),
  minAgreement: z.number().int(),
  votes: z.array(z.object({ voter: voterSchema, vote: voteSchema, confidence: z.number() })),
  absent: z.array(z.object({ voter: voterSchema, status: z.string() })),
  voted: z.number().int(),
  tally: z.object({ BUY: z.number().int(), SELL: z.number().int(), HOLD: z.number().int() }),
  agreed: z.enum(['BUY', 'SELL']).nullable(),
  reached: z.boolean(),
  reason: z.string(),
});
export type ConsensusRecord = z.infer<typeof consensusSchema>;

export const analysisStatusSchema = z.enum([
  'pending',
  'running',
  'completed',
  'no_trade',
  'budget_exceeded',
  'failed',
]);

/**
 * What the firm did with a finished decision (shared/pipeline/decision-class.ts): decided (BUY, SELL or
 * HOLD by the firm), abstained (the model answered, nothing valid came of it) or failed (the model
 * provider, Binance or the budget failed it: never a HOLD). Null while the decision runs.
 */
export const decisionClassSchema = z.enum(['decided', 'abstained', 'failed']);
export const recordedErrorSchema = z.object({ code: z.string(), message: z.string() });

export const equityPointSchema = z.object({ timestamp: z.string(), equity: z.number() });

export const costEstimateSchema = z.object({
  decisions: z.number().int(),
  callsPerDecision: z.number(),
  tokensIn: z.number().int(),
  tokensOut: z.number().int(),
  costUsd: z.number(),
  provider: z.enum(['openai', 'offline']),
  models: z.object({ cheap: z.string(), strong: z.string() }),
  /** Walk-forward backtests: the learning cycles included (two strong-tier calls each). */
  learningCycles: z.number().int().optional(),
  note: z.string(),
});
export type CostEstimate = z.infer<typeof costEstimateSchema>;

export const metricsSchema = z.object({
  totalReturn: z.number().nullable(),
  cagr: z.number().nullable(),
  maxDrawdown: z.number().nullable(),
  maxDrawdownPeak: z.string().nullable(),
  maxDrawdownTrough: z.string().nullable(),
  maxDrawdownRecovery: z.string().nullable(),
  maxDrawdownDurationDays: z.number().nullable(),
  sharpeDaily: z.number().nullable(),
  sharpePerBar: z.number().nullable(),
  sortino: z.number().nullable(),
  calmar: z.number().nullable(),
  trades: z.number().int(),
  roundTrips: z.number().int(),
  winRate: z.number().nullable(),
  profitFactor: z.number().nullable(),
  avgWin: z.number().nullable(),
  avgLoss: z.number().nullable(),
  bestTrade: z.number().nullable(),
  worstTrade: z.number().nullable(),
  exposurePct: z.number().nullable(),
  feesPaid: z.number(),
  turnover: z.number().nullable(),
  finalEquity: z.number(),
});
export type MetricsRecord = z.infer<typeof metricsSchema>;

export const backtestStatusSchema = z.enum(['pending', 'running', 'succeeded', 'failed']);
export const llmSpendSchema = costSummarySchema.extend({ estimateUsd: z.number().nullable() });

/** A finished (or stopped) backtest's stored result: shared/pipeline/backtest/steps.ts writes it. */
export const backtestResultSchema = z.object({
  metrics: metricsSchema,
  buyAndHold: z.object({ totalReturn: z.number().nullable(), finalEquity: z.number() }),
  equityCurve: z.array(equityPointSchema),
  buyAndHoldCurve: z.array(equityPointSchema),
  trades: z.array(tradeRecordSchema),
  decisions: z.array(
    z.object({
      id: z.string(),
      decisionTime: z.string(),
      status: analysisStatusSchema,
      class: decisionClassSchema.nullable(),
      /** Null for a failed decision: it made no choice (never listed as a HOLD). */
      action: z.enum(['BUY', 'SELL', 'HOLD']).nullable(),
      sizePct: z.number().nullable(),
      error: recordedErrorSchema.nullable(),
      /**
       * Why this decision's order was not executed although it chose to trade (its fill, the next
       * bar, would fall after end_date), or null.
       */
      notFilled: z.string().nullable(),
    }),
  ),
  /** Decisions by class; the metrics hold over the decided and abstained ones (failed made no choice). */
  decisionCounts: z.object({
    decided: z.number().int(),
    abstained: z.number().int(),
    failed: z.number().int(),
  }),
  /** True when any decision failed: the metrics are not the firm's over the whole range. */
  degraded: z.boolean(),
  /** The earliest failed decision's error (by decision time), or null. */
  firstError: recordedErrorSchema.nullable(),
  /**
   * Whether the metrics may be read as the firm's performance and set against buy-and-hold: false when
   * the run ended failed (more failed decisions than BACKTEST_MAX_FAILED_PCT); its result is partial.
   */
  comparable: z.boolean(),
  llmSpend: llmSpendSchema,
  assumptions: z.array(z.string()),
  sample: z.enum(['in_sample', 'out_of_sample', 'mixed', 'not_applicable']),
  gaps: z.array(z.object({ after: z.string(), next: z.string(), missingBars: z.number() })),
});
export type BacktestResultRecord = z.infer<typeof backtestResultSchema>;

/** A walk-forward backtest's learning: the cycles and the strategy timeline. */
export const walkForwardLearningSchema = z.object({
  every: z.number().int(),
  cycles: z.array(
    z.object({
      id: z.string(),
      asOf: z.string(),
      status: z.string(),
      trades: z.number().int().nullable(),
      applied: z.number().int(),
      wouldNeedReview: z.number().int(),
      invalid: z.number().int(),
      costUsd: z.number(),
    }),
  ),
  timeline: z.array(
    z.object({
      seq: z.number().int(),
      effectiveAt: z.string(),
      appliedBy: z.string(),
      change: z.object({ parameter: z.string(), from: z.unknown(), to: z.unknown() }).nullable(),
      reason: z.string().nullable(),
      adjustmentId: z.string().nullable(),
    }),
  ),
});
export type WalkForwardLearningRecord = z.infer<typeof walkForwardLearningSchema>;
