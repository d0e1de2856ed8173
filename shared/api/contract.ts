/**
 * The REST API contract: request and response schemas for every endpoint, shared by the handlers
 * (validation), the OpenAPI document (generated from these schemas), the CLI and the web app.
 * The web app imports this file and shared/agents/schemas.ts only.
 *
 * Conventions: JSON field names are snake_case in requests (as the spec names them) and camelCase in
 * responses; times are ISO-8601 UTC strings; money is a JSON number in USDT rounded for display (the
 * database keeps exact decimals); every error is `{ error: { code, message, details? } }`.
 */
import { z } from 'zod';
import { agentResultSchema } from '../agents/schemas';
import { TIMEFRAME_MS } from '../market/types';
import { decisionModeSchema } from '../schemas/backtest-request';
import {
  booleanField,
  dateInputSchema,
  parseDateInput,
  symbolSchema,
  timeframeSchema,
  wholeNumberQuery,
} from '../schemas/fields';
import {
  analysisStatusSchema,
  backtestResultSchema,
  backtestStatusSchema,
  consensusSchema,
  costEstimateSchema,
  costSummarySchema,
  decisionClassSchema,
  equityPointSchema,
  finalDecisionSchema,
  portfolioSchema,
  tradeRecordSchema,
  walkForwardLearningSchema,
} from '../schemas/records';

export * from '../schemas/backtest-request';
export * from '../schemas/fields';
export type {
  ConsensusRecord as ConsensusDto,
  MetricsRecord as MetricsDto,
  PortfolioRecord as PortfolioDto,
  TradeRecord as TradeDto,
} from '../schemas/records';
export * from '../schemas/records';
// The stored records' shapes under the names the API's users know them by.
export {
  positionRecordSchema as positionDtoSchema,
  tradeRecordSchema as tradeDtoSchema,
} from '../schemas/records';

export type DecisionClassDto = z.infer<typeof decisionClassSchema>;

// ---------- common ----------
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

// ---------- health, market ----------
export const healthResponseSchema = z.object({ status: z.literal('ok') });

export const symbolsResponseSchema = z.object({
  symbols: z.array(
    z.object({
      symbol: z.string(),
      baseAsset: z.string(),
      quoteAsset: z.string(),
      dataNote: z.string().nullable(),
    }),
  ),
  timeframes: z.array(z.string()),
});

export const candleDtoSchema = z.object({
  time: z.number().int(), // open time, epoch ms
  open: z.number(),
  high: z.number(),
  low: z.number(),
  close: z.number(),
  volume: z.number(),
});
export type CandleDto = z.infer<typeof candleDtoSchema>;

export const indicatorValuesSchema = z.object({
  rsi14: z.number().nullable(),
  macd: z.number().nullable(),
  macdSignal: z.number().nullable(),
  macdHistogram: z.number().nullable(),
  ema20: z.number().nullable(),
  ema50: z.number().nullable(),
  ema200: z.number().nullable(),
  atr14: z.number().nullable(),
  bbUpper: z.number().nullable(),
  bbMiddle: z.number().nullable(),
  bbLower: z.number().nullable(),
  volatility: z.number().nullable(),
});
export type IndicatorValues = z.infer<typeof indicatorValuesSchema>;

/** Most candles one `GET /market/{symbol}/candles` answers (and the most `latest` returns). */
export const MAX_CANDLES_PER_REQUEST = 1000;

export const latestQuerySchema = z.object({
  timeframe: timeframeSchema.default('1h'),
  limit: wholeNumberQuery('limit', 1, MAX_CANDLES_PER_REQUEST).default(200),
});
/** The regime detector's reading (shared/regime/detector.ts: deterministic rules, no model call). */
export const regimeReadingSchema = z.object({
  regime: z.enum(['BULL', 'BEAR', 'SIDEWAYS', 'HIGH_VOL', 'LOW_VOL']),
  confidence: z.number(),
  rule: z.string(),
  figures: z.object({
    close: z.number(),
    ema50: z.number(),
    ema200: z.number(),
    ema50SlopePct: z.number(),
    adx: z.number(),
    atrPct: z.number(),
    atrPercentile: z.number(),
    atrHistory: z.number().int(),
  }),
});
export type RegimeReadingDto = z.infer<typeof regimeReadingSchema>;

export const latestResponseSchema = z.object({
  symbol: z.string(),
  timeframe: z.string(),
  price: z.number(),
  changePct24h: z.number().nullable(),
  asOf: z.string(),
  candles: z.array(candleDtoSchema),
  indicators: indicatorValuesSchema,
  /** The regime at the last closed bar; null with too little history. */
  regime: regimeReadingSchema.nullable(),
  gaps: z.array(z.object({ after: z.string(), next: z.string(), missingBars: z.number() })),
});
export type LatestResponse = z.infer<typeof latestResponseSchema>;

/**
 * `GET /market/{symbol}/sentiment`: the sentiment series over the span of the last `limit` closed bars
 * of `timeframe` (at least the last day), and the summary the sentiment analyst would get now.
 */
export const sentimentQuerySchema = z.object({
  timeframe: timeframeSchema.default('1h'),
  limit: wholeNumberQuery('limit', 1, MAX_CANDLES_PER_REQUEST).default(200),
});
const sentimentSeriesDtoSchema = z.object({
  label: z.string(),
  /** time: the value's own time (epoch ms; a F&G value: 00:00 UTC of its day); knownAt: when it became public. */
  points: z.array(
    z.object({
      time: z.number().int(),
      knownAt: z.number().int(),
      value: z.number(),
      value2: z.number().nullable(),
      label: z.string().nullable(),
    }),
  ),
  gaps: z.array(z.object({ after: z.string(), next: z.string(), missingPoints: z.number() })),
  /** Why the series could not be read (the source failed), else null. */
  error: z.string().nullable(),
});
export const sentimentResponseSchema = z.object({
  symbol: z.string(),
  timeframe: z.string(),
  asOf: z.string(),
  sources: z.array(z.string()),
  summary: z.object({
    fearGreed: z
      .object({
        value: z.number(),
        classification: z.string(),
        ageDays: z.number(),
        change7d: z.number().nullable(),
        change30d: z.number().nullable(),
        percentile1y: z.number().nullable(),
      })
      .nullable(),
    funding: z
      .object({
        latestPct: z.number(),
        hoursAgo: z.number(),
        mean7dPct: z.number(),
        percentile1y: z.number().nullable(),
      })
      .nullable(),
    openInterest: z.object({ latest: z.number(), change24hPct: z.number().nullable() }).nullable(),
    longShort: z.object({ ratio: z.number(), longAccountPct: z.number().nullable() }).nullable(),
    missing: z.record(z.string(), z.string()),
  }),
  /** Per configured series (fng, funding, open_interest, long_short); static notes are not a series. */
  series: z.record(z.string(), sentimentSeriesDtoSchema),
});
export type SentimentResponse = z.infer<typeof sentimentResponseSchema>;

/**
 * A past period's candles: `start` (required) to `end` (default: as many bars as allowed from start),
 * open times inclusive, at most MAX_CANDLES_PER_REQUEST bars of the timeframe. The end is clipped to
 * the last closed bar.
 */
export const candlesQuerySchema = z
  .object({
    timeframe: timeframeSchema.default('1h'),
    start: dateInputSchema,
    end: dateInputSchema.optional(),
  })
  .superRefine((v, ctx) => {
    const s = parseDateInput(v.start);
    if (Number.isFinite(s) && s > Date.now())
      ctx.addIssue({ code: 'custom', path: ['start'], message: 'start must not be in the future' });
    if (v.end === undefined) return;
    const e = parseDateInput(v.end);
    if (!Number.isFinite(s) || !Number.isFinite(e)) return;
    if (e < s) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: 'end must not be before start' });
      return;
    }
    const bars = Math.floor((e - s) / TIMEFRAME_MS[v.timeframe]) + 1;
    if (bars > MAX_CANDLES_PER_REQUEST)
      ctx.addIssue({
        code: 'custom',
        path: ['end'],
        message: `the range spans ${bars} ${v.timeframe} bars; at most ${MAX_CANDLES_PER_REQUEST} per request (use a larger timeframe or a shorter range)`,
      });
  });
export const candlesResponseSchema = z.object({
  symbol: z.string(),
  timeframe: z.string(),
  /** The range served (open times, ISO), after defaults and clipping. */
  start: z.string(),
  end: z.string(),
  candles: z.array(candleDtoSchema),
  gaps: z.array(z.object({ after: z.string(), next: z.string(), missingBars: z.number() })),
});
export type CandlesResponse = z.infer<typeof candlesResponseSchema>;

// ---------- analysis ----------

export const analyzeRequestSchema = z
  .object({
    symbol: symbolSchema,
    decision_mode: decisionModeSchema.optional(),
    mode: z.enum(['live', 'backtest_step'], { error: 'mode must be live or backtest_step' }).default('live'),
    timestamp: dateInputSchema.optional(),
    timeframe: timeframeSchema.default('1h'),
    wait: booleanField('wait').default(true),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.mode === 'backtest_step' && !v.timestamp)
      ctx.addIssue({
        code: 'custom',
        path: ['timestamp'],
        message: 'timestamp is required for backtest_step',
      });
    if (v.mode === 'live' && v.timestamp)
      ctx.addIssue({
        code: 'custom',
        path: ['timestamp'],
        message: 'timestamp is only allowed with backtest_step',
      });
    if (v.timestamp && parseDateInput(v.timestamp) > Date.now())
      ctx.addIssue({ code: 'custom', path: ['timestamp'], message: 'timestamp must not be in the future' });
  });
export type AnalyzeRequest = z.infer<typeof analyzeRequestSchema>;

export { CLAMP_UNIT_PCT } from '../portfolio/order';

export const analysisSchema = z.object({
  id: z.string(),
  status: analysisStatusSchema,
  decisionClass: decisionClassSchema.nullable(),
  symbol: z.string(),
  timeframe: z.string(),
  mode: z.enum(['live', 'backtest_step', 'backtest']),
  runId: z.string(),
  backtestId: z.string().nullable(),
  decisionTime: z.string(),
  provider: z.enum(['openai', 'offline']),
  agents: z.object({
    technical: agentResultSchema.nullable(),
    sentiment: agentResultSchema.nullable(),
    tokenomics: agentResultSchema.nullable(),
    researcher: agentResultSchema.nullable(),
    trader: agentResultSchema.nullable(),
    risk: agentResultSchema.nullable(),
  }),
  final: finalDecisionSchema.nullable(),
  execution: z
    .object({
      trade: tradeRecordSchema.nullable(),
      rejected: z.string().nullable(),
      price: z.number(),
    })
    .nullable(),
  portfolio: portfolioSchema.nullable(),
  cost: costSummarySchema,
  promptVersions: z.record(z.string(), z.string()),
  decisionMode: z.enum(['pipeline', 'consensus']),
  /** The vote of a consensus-mode decision; null in pipeline mode or before the researcher answered. */
  consensus: consensusSchema.nullable(),
  /**
   * The regime detector's reading at the decision time and the technical analyst's regime label, and
   * whether they agree (null when either is missing).
   */
  regime: z.object({
    detector: regimeReadingSchema.nullable(),
    technical: z.string().nullable(),
    agree: z.boolean().nullable(),
  }),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
});
export type AnalysisDto = z.infer<typeof analysisSchema>;

export const analyzeAcceptedSchema = z.object({
  id: z.string(),
  status: analysisStatusSchema,
  poll: z.string(),
});

/** Longest cursor accepted: the ones this API hands out are far shorter. */
const MAX_CURSOR_CHARS = 200;
/** Longest run id accepted in a query (run ids are UUIDs or short names like "live"). */
const MAX_RUN_ID_CHARS = 100;

export const listQuerySchema = z.object({
  limit: wholeNumberQuery('limit', 1, 200).default(50),
  cursor: z
    .string()
    .max(MAX_CURSOR_CHARS, {
      error: `cursor is too long (at most ${MAX_CURSOR_CHARS} characters): pass back the nextCursor of a previous page as is`,
    })
    .optional(),
});
export const analysesListSchema = z.object({
  items: z.array(
    analysisSchema.pick({
      id: true,
      status: true,
      symbol: true,
      timeframe: true,
      mode: true,
      decisionTime: true,
      provider: true,
      final: true,
      cost: true,
      createdAt: true,
    }),
  ),
  nextCursor: z.string().nullable(),
});

// ---------- portfolio, trades ----------
export const tradesQuerySchema = listQuerySchema.extend({
  run_id: z
    .string()
    .max(MAX_RUN_ID_CHARS, { error: `run_id is too long (at most ${MAX_RUN_ID_CHARS} characters)` })
    .optional(),
  symbol: symbolSchema.optional(),
});
/** `GET /outcomes`: run_id absent = the live book. */
export const outcomesQuerySchema = tradesQuerySchema;
const outcomeStatsSchema = z.object({
  count: z.number().int(),
  wins: z.number().int(),
  losses: z.number().int(),
  winRate: z.number().nullable(),
  meanPnlPct: z.number().nullable(),
  payoffRatio: z.number().nullable(),
  totalPnlUsdt: z.number(),
});
export const outcomeDtoSchema = z.object({
  id: z.string(),
  runId: z.string(),
  backtestId: z.string().nullable(),
  symbol: z.string(),
  entryDecisionId: z.string().nullable(),
  exitDecisionId: z.string().nullable(),
  entryTradeId: z.string().nullable(),
  exitTradeId: z.string().nullable(),
  entryTime: z.string(),
  exitTime: z.string(),
  entryPrice: z.number(),
  exitPrice: z.number(),
  quantity: z.number(),
  pnlUsdt: z.number(),
  pnlPct: z.number(),
  fees: z.number(),
  holdingMs: z.number(),
  exitReason: z.enum(['signal', 'stop_loss', 'take_profit', 'end_of_backtest', 'risk_reduction']),
  /** The entry context (shared/outcomes/types.ts EntryContext). */
  context: z.record(z.string(), z.unknown()),
});
export type OutcomeDto = z.infer<typeof outcomeDtoSchema>;
export const outcomesPageSchema = z.object({
  runId: z.string(),
  items: z.array(outcomeDtoSchema),
  nextCursor: z.string().nullable(),
  /** Over every outcome of the book (and symbol, when given), not only this page. */
  aggregates: outcomeStatsSchema.extend({
    byRegime: z.record(z.string(), outcomeStatsSchema),
    byExitReason: z.record(z.string(), outcomeStatsSchema),
    byConfidence: z.record(z.string(), outcomeStatsSchema),
  }),
});
export type OutcomesPageDto = z.infer<typeof outcomesPageSchema>;

export const tradesPageSchema = z.object({
  items: z.array(tradeRecordSchema),
  nextCursor: z.string().nullable(),
});
export const portfolioHistorySchema = z.object({ runId: z.string(), points: z.array(equityPointSchema) });

// ---------- backtests ----------

export const backtestSchema = z.object({
  id: z.string(),
  status: backtestStatusSchema,
  symbol: z.string(),
  timeframe: z.string(),
  startDate: z.string(),
  endDate: z.string(),
  maxDecisions: z.number().int(),
  decisionInterval: z.number().int(),
  provider: z.enum(['openai', 'offline']),
  /** The prompt version of each decision agent for all its decisions (null: made before the registry). */
  promptVersions: z.record(z.string(), z.string()).nullable(),
  /** The versions the request pinned (`prompt_versions`); the others were the active ones at creation. */
  pinnedPromptVersions: z.record(z.string(), z.string()),
  progress: z.object({ done: z.number().int(), total: z.number().int() }),
  estimate: costEstimateSchema.nullable(),
  result: backtestResultSchema.nullable(),
  /** Walk-forward learning (`learning` in the request): the cycles and the strategy timeline. */
  learning: walkForwardLearningSchema.nullable().optional(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type BacktestDto = z.infer<typeof backtestSchema>;

export const backtestAcceptedSchema = z.object({
  id: z.string(),
  status: backtestStatusSchema,
  estimate: costEstimateSchema,
  poll: z.string(),
});
/** POST /backtests/{id}/resume: the run reopened, and what the rerun will decide. */
export const backtestResumedSchema = z.object({
  id: z.string(),
  status: backtestStatusSchema,
  poll: z.string(),
  /** Decision points decided again: the failed ones (provider, Binance or budget) and any never reached. */
  toRun: z.number().int(),
  /** Decisions kept as they were: no new model call. */
  kept: z.number().int(),
});
export const backtestsListSchema = z.object({
  items: z.array(backtestSchema.omit({ result: true })),
  nextCursor: z.string().nullable(),
});

// ---------- costs ----------
export const costsResponseSchema = z.object({
  day: z.string(),
  provider: z.enum(['openai', 'offline']),
  budget: z.object({
    tokens: z.number().int(),
    used: z.number().int(),
    reserved: z.number().int(),
    remaining: z.number().int(),
    refusedCalls: z.number().int(),
  }),
  /** The dollar budget (DAILY_USD_BUDGET) and today's spend against it; null when none is set. */
  usdBudget: z
    .object({ usd: z.number(), used: z.number(), reserved: z.number(), remaining: z.number() })
    .nullable(),
  costUsd: z.number(),
  byAgent: z.array(
    z.object({
      agent: z.string(),
      model: z.string(),
      tier: z.string(),
      calls: z.number().int(),
      cacheHits: z.number().int(),
      tokensIn: z.number().int(),
      tokensOut: z.number().int(),
      costUsd: z.number(),
    }),
  ),
  byModel: z.array(
    z.object({
      model: z.string(),
      calls: z.number().int(),
      tokensIn: z.number().int(),
      tokensOut: z.number().int(),
      costUsd: z.number(),
    }),
  ),
  cache: z.object({ hits: z.number().int(), tokensSaved: z.number().int(), usdSaved: z.number() }),
  prices: z.array(
    z.object({ model: z.string(), inputPerMTok: z.number(), outputPerMTok: z.number(), asOf: z.string() }),
  ),
});
export type CostsDto = z.infer<typeof costsResponseSchema>;

export const dailyCostsQuerySchema = z.object({ days: wholeNumberQuery('days', 1, 90).default(30) });
const agentDaySchema = z.object({
  agent: z.string(),
  calls: z.number().int(),
  tokensIn: z.number().int(),
  tokensOut: z.number().int(),
  costUsd: z.number(),
  latencyMeanMs: z.number().nullable(),
  latencyP95Ms: z.number().nullable(),
  errors: z.number().int(),
  abstentions: z.number().int(),
  cacheHits: z.number().int(),
  refused: z.number().int(),
});
export const dailyCostsResponseSchema = z.object({
  days: z.number().int(),
  provider: z.enum(['openai', 'offline']),
  /** DAILY_USD_BUDGET now (null: none); each day also says the one in force that day. */
  usdBudget: z.number().nullable(),
  tokenBudget: z.number().int(),
  agents: z.array(z.string()),
  series: z.array(
    z.object({
      day: z.string(),
      usdBudget: z.number().nullable(),
      costUsd: z.number(),
      calls: z.number().int(),
      tokensIn: z.number().int(),
      tokensOut: z.number().int(),
      byAgent: z.array(agentDaySchema),
    }),
  ),
});
export type DailyCostsDto = z.infer<typeof dailyCostsResponseSchema>;
