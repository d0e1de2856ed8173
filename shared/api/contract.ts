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
import { AGENT_NAMES, agentResultSchema } from '../agents/schemas';
import { BACKTEST_DECISIONS_CEILING } from '../backtest/limits';
import { SYMBOL_PATTERN, symbolFormatProblem, TIMEFRAME_MS, TIMEFRAMES } from '../market/types';

// ---------- common ----------
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

// Messages: every schema a user can reach states its rule in words and names the field, so no zod
// default ("Invalid input: expected number, received NaN", "Too big: expected number to be <=100")
// reaches a user. The shared test corpus (test/api/api.test.ts) asserts none does.

/** What a value that is not of the expected JSON type is, for "must be X, not Y" messages. */
function describeValue(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`;
}

/** `name is required (rule)` when the value is missing, else `name must be rule, not <what it is>`. */
function typeMessage(name: string, rule: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined
      ? `${name} is required (${rule})`
      : `${name} must be ${rule}, not ${describeValue(issue.input)}`;
}

export const symbolSchema = z
  .string({ error: typeMessage('symbol', 'a string like BTCUSDT') })
  .regex(SYMBOL_PATTERN, {
    // The regex's one message could not say whether the length or the characters are wrong; this does.
    error: (issue) =>
      symbolFormatProblem(String(issue.input)) ?? 'symbol is not a valid symbol, like BTCUSDT',
  });
export const timeframeSchema = z.enum(TIMEFRAMES, {
  error: `timeframe must be one of ${TIMEFRAMES.join(', ')}`,
});

/**
 * A whole-number query parameter with its range. Query strings are text, so the value is coerced; every
 * way it can be wrong (not a number, a fraction, out of range) answers the one sentence stating the rule.
 */
export function wholeNumberQuery(name: string, min: number, max: number) {
  const message = `${name} must be a whole number from ${min} to ${max}`;
  return z.coerce
    .number({ error: message })
    .int({ error: message, abort: true })
    .min(min, { error: message, abort: true })
    .max(max, message);
}

/** Booleans in a JSON body: true or false, not "yes" or 1. */
function booleanField(name: string) {
  return z.boolean({ error: `${name} must be true or false (a JSON boolean)` });
}

const DATE_RULE = 'a date like 2024-01-31 or an ISO time like 2024-01-31T12:00:00Z';
/** A date (YYYY-MM-DD, taken as 00:00 UTC) or a full ISO-8601 time with zone. */
export const dateInputSchema = z
  .string({
    error: (issue) =>
      issue.input === undefined ? `is required (${DATE_RULE})` : `must be a string (${DATE_RULE})`,
  })
  .refine((s) => /^\d{4}-\d{2}-\d{2}$/.test(s) || /^\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})$/.test(s), {
    message: `must be ${DATE_RULE}`,
  })
  .refine(
    (s) =>
      !Number.isNaN(Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s)) && isCalendarDate(s.slice(0, 10)),
    {
      message: 'is not a real date',
    },
  );
/** JavaScript's Date rolls 2024-02-30 over to March 1st; a request must name a day that exists. */
function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}
export function parseDateInput(s: string): number {
  return Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s);
}

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
/** How the firm decides: the researcher's pipeline, or consensus voting (default: DECISION_MODE). */
export const decisionModeSchema = z
  .enum(['pipeline', 'consensus'], { error: 'decision_mode must be pipeline or consensus' })
  .describe(
    'pipeline (researcher -> gate -> trader) or consensus (MIN_AGREEMENT of CONSENSUS_VOTERS must agree); default DECISION_MODE',
  );

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

/** The unit of a sizing clamp's amounts (the trader's size, MAX_POSITION_SIZE_PCT): % of equity. */
export const CLAMP_UNIT_PCT = 'pct_of_equity';
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

export const tradeDtoSchema = z.object({
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
export type TradeDto = z.infer<typeof tradeDtoSchema>;

export const positionDtoSchema = z.object({
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
  positions: z.array(positionDtoSchema),
  asOf: z.string(),
  pricesNote: z.string().nullable(),
});
export type PortfolioDto = z.infer<typeof portfolioSchema>;

export const finalDecisionSchema = z.object({
  action: z.enum(['BUY', 'SELL', 'HOLD']),
  sizePct: z.number(),
  gated: z.boolean(),
  reason: z.string(),
  clamps: z.array(clampSchema),
});

export const costSummarySchema = z.object({
  calls: z.number().int(),
  cacheHits: z.number().int(),
  tokensIn: z.number().int(),
  tokensOut: z.number().int(),
  costUsd: z.number(),
  latencyMs: z.number(),
});

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
export type ConsensusDto = z.infer<typeof consensusSchema>;

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
export type DecisionClassDto = z.infer<typeof decisionClassSchema>;
const recordedErrorSchema = z.object({ code: z.string(), message: z.string() });

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
      trade: tradeDtoSchema.nullable(),
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
  items: z.array(tradeDtoSchema),
  nextCursor: z.string().nullable(),
});
export const equityPointSchema = z.object({ timestamp: z.string(), equity: z.number() });
export const portfolioHistorySchema = z.object({ runId: z.string(), points: z.array(equityPointSchema) });

// ---------- backtests ----------
export const MAX_BACKTEST_DAYS = 3 * 366;
/**
 * Why the default spreads: a fixed interval of 1 with max_decisions 50 would decide on the first 50
 * bars only and leave the rest of the range undecided, while buy-and-hold covers all of it.
 */
export const DECISION_INTERVAL_DESCRIPTION =
  'A decision every N candles. When omitted, the decisions are spread evenly over the range: ' +
  'N = max(1, floor(barsInRange / max_decisions)), where barsInRange counts the candles in ' +
  '[start_date, end_date) that can carry a decision (warm-up done, a next candle to fill on). ' +
  "The chosen N is stored with the backtest and printed in the result's assumptions.";
/** Most basis points a backtest may charge per fill as fee or slippage (1%). */
const MAX_BACKTEST_BPS = 100;
function basisPointsField(name: string) {
  const message = `${name} must be a number of basis points from 0 to ${MAX_BACKTEST_BPS}`;
  return z.number({ error: message }).min(0, message).max(MAX_BACKTEST_BPS, message);
}

/** A prompt version id (shared/prompts): the first 12 hex digits of the text's sha256. */
export const promptVersionIdSchema = z
  .string()
  .regex(/^[0-9a-f]{12}$/, 'a prompt version id is 12 hex digits (see GET /prompts/{agent})');

/** Prompt versions pinned per decision agent (a backtest's `prompt_versions`); unknown agents are refused. */
export const promptPinsSchema = z
  .object(
    Object.fromEntries(AGENT_NAMES.map((a) => [a, promptVersionIdSchema.optional()])) as Record<
      (typeof AGENT_NAMES)[number],
      z.ZodOptional<typeof promptVersionIdSchema>
    >,
  )
  .strict()
  .describe(
    'Prompt version per decision agent for every decision of the backtest (GET /prompts/{agent}); agents not named use their active version.',
  );

/**
 * A backtest's options beyond its symbol, window, timeframe and size: how it decides, fills and charges.
 * A study's variants are exactly these (shared/studies/request.ts), so an option added here works in a
 * study at once, validated the same way (an unknown one is a 400).
 */
export const backtestOptionsSchema = z
  .object({
    decision_interval: z
      .number({ error: 'decision_interval must be a whole number of candles' })
      .int('decision_interval must be a whole number of candles')
      .min(1, 'decision_interval must be at least 1 candle')
      .max(1000, 'decision_interval must be at most 1000 candles')
      .optional()
      .describe(DECISION_INTERVAL_DESCRIPTION),
    fill: z
      .enum(['next_open', 'next_close'], { error: 'fill must be next_open or next_close' })
      .default('next_open'),
    fee_bps: basisPointsField('fee_bps').optional(),
    slippage_bps: basisPointsField('slippage_bps').optional(),
    blind: booleanField('blind').default(false),
    decision_mode: decisionModeSchema.optional(),
    prompt_versions: promptPinsSchema.optional(),
  })
  .strict();
export type BacktestOptions = z.infer<typeof backtestOptionsSchema>;

/** The backtest fields a study sets for every cell (its grid); its variants set the options. */
export const BACKTEST_GRID_FIELDS = [
  'symbol',
  'start_date',
  'end_date',
  'timeframe',
  'max_decisions',
] as const;

export const backtestRequestSchema = z
  .object({
    symbol: symbolSchema,
    start_date: dateInputSchema,
    end_date: dateInputSchema,
    timeframe: timeframeSchema.default('4h'),
    max_decisions: z
      .number({
        error: (issue) =>
          issue.input === undefined
            ? `max_decisions is required (a whole number from 1 to ${BACKTEST_DECISIONS_CEILING})`
            : 'max_decisions must be a whole number',
      })
      .int('max_decisions must be a whole number')
      .min(1, 'max_decisions must be at least 1')
      .max(BACKTEST_DECISIONS_CEILING, `max_decisions must be at most ${BACKTEST_DECISIONS_CEILING}`),
    ...backtestOptionsSchema.shape,
    learning: z
      .object({
        every: z
          .number({ error: 'learning.every must be a whole number of decisions' })
          .int('learning.every must be a whole number of decisions')
          .min(1, 'learning.every must be at least 1 decision')
          .max(BACKTEST_DECISIONS_CEILING, `learning.every must be at most ${BACKTEST_DECISIONS_CEILING}`),
      })
      .strict()
      .optional()
      .describe(
        "Walk-forward learning: run the decisions in segments of `every`; after each segment (but the last) a learning cycle reads only the outcomes closed before the next segment starts, and its auto-applicable proposals apply to this backtest's own strategy timeline (pending ones are recorded as would_need_review).",
      ),
  })
  .strict()
  .superRefine((v, ctx) => {
    const s = parseDateInput(v.start_date);
    const e = parseDateInput(v.end_date);
    if (Number.isFinite(s) && Number.isFinite(e)) {
      if (e <= s)
        ctx.addIssue({ code: 'custom', path: ['end_date'], message: 'end_date must be after start_date' });
      if (e > Date.now())
        ctx.addIssue({ code: 'custom', path: ['end_date'], message: 'end_date must not be in the future' });
      if ((e - s) / 86_400_000 > MAX_BACKTEST_DAYS)
        ctx.addIssue({
          code: 'custom',
          path: ['end_date'],
          message: `the range must be at most ${MAX_BACKTEST_DAYS} days`,
        });
    }
  });
export type BacktestRequest = z.infer<typeof backtestRequestSchema>;

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
export type MetricsDto = z.infer<typeof metricsSchema>;

export const backtestStatusSchema = z.enum(['pending', 'running', 'succeeded', 'failed']);
export const llmSpendSchema = costSummarySchema.extend({ estimateUsd: z.number().nullable() });

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
  result: z
    .object({
      metrics: metricsSchema,
      buyAndHold: z.object({ totalReturn: z.number().nullable(), finalEquity: z.number() }),
      equityCurve: z.array(equityPointSchema),
      buyAndHoldCurve: z.array(equityPointSchema),
      trades: z.array(tradeDtoSchema),
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
    })
    .nullable(),
  /** Walk-forward learning (`learning` in the request): the cycles and the strategy timeline. */
  learning: z
    .object({
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
    })
    .nullable()
    .optional(),
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
