/**
 * The one schema, for PGlite (embedded) and PostgreSQL (RDS, or a local server) alike.
 *
 * Numeric types, decided once:
 * - prices, quantities, cash, fees and PnL are PostgreSQL `numeric` (exact decimal), read and written
 *   as strings, so nothing drifts at rest. Candle prices keep Binance's 8 decimals (numeric(24,8));
 *   ledger amounts keep 12 decimals (numeric(30,12)), enough for average entry prices and fee shares.
 * - the ledger arithmetic itself runs on decimal.js (shared/portfolio); only the per-bar mark-to-market
 *   of a backtest, which is statistics and never written back into a book, uses float64.
 * - token counts are integers (bigint for daily sums); USD costs are numeric(18,8).
 * - times are `timestamptz`; candles are keyed by their open time (`timestamp`), as Binance keys them.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  date,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const price = (name: string) => numeric(name, { precision: 24, scale: 8 });
const volume = (name: string) => numeric(name, { precision: 30, scale: 8 });
const amount = (name: string) => numeric(name, { precision: 30, scale: 12 });
const usd = (name: string) => numeric(name, { precision: 18, scale: 8 });
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const createdAt = () => ts('created_at').notNull().defaultNow();

/** Market data cache: one row per closed kline. */
export const candles = pgTable(
  'candles',
  {
    symbol: text('symbol').notNull(),
    timeframe: text('timeframe').notNull(),
    timestamp: ts('timestamp').notNull(), // open time
    open: price('open').notNull(),
    high: price('high').notNull(),
    low: price('low').notNull(),
    close: price('close').notNull(),
    volume: volume('volume').notNull(),
    closeTime: ts('close_time').notNull(),
    quoteVolume: volume('quote_volume'),
    trades: integer('trades'),
    takerBuyBase: volume('taker_buy_base'),
    takerBuyQuote: volume('taker_buy_quote'),
    source: text('source').notNull().default('binance'), // 'binance' (REST) | 'archive' (bulk CSV)
  },
  (t) => [uniqueIndex('candles_symbol_timestamp_timeframe').on(t.symbol, t.timestamp, t.timeframe)],
);

/**
 * A book: the live portfolio (id 'live') or one per backtest. Every trade, position and snapshot
 * belongs to exactly one run, so backtests never touch the live book.
 */
export const runs = pgTable('runs', {
  id: text('id').primaryKey(),
  kind: text('kind', { enum: ['live', 'backtest'] }).notNull(),
  initialCash: amount('initial_cash').notNull(),
  cash: amount('cash').notNull(),
  feesPaid: amount('fees_paid').notNull().default('0'),
  realizedPnl: amount('realized_pnl').notNull().default('0'),
  version: integer('version').notNull().default(0),
  createdAt: createdAt(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const positions = pgTable(
  'positions',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    symbol: text('symbol').notNull(),
    quantity: amount('quantity').notNull(),
    avgEntryPrice: amount('avg_entry_price').notNull(),
    // Exact cost of the held quantity (gross of fees). The average entry price is a rounded quotient
    // for display; the ledger identity (realized + unrealized - fees = equity - initial cash) needs the
    // exact cost, so it is stored (see shared/portfolio/book.ts).
    costBasis: amount('cost_basis').notNull().default('0'),
    realizedPnl: amount('realized_pnl').notNull().default('0'),
    feesPaid: amount('fees_paid').notNull().default('0'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.symbol] })],
);

export const trades = pgTable(
  'trades',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(), // order within the run's ledger
    decisionId: uuid('decision_id'),
    symbol: text('symbol').notNull(),
    side: text('side', { enum: ['BUY', 'SELL'] }).notNull(),
    status: text('status', { enum: ['filled', 'rejected'] }).notNull(),
    reason: text('reason'), // 'signal' | 'stop_loss' | 'take_profit' | rejection reason
    quantity: amount('quantity').notNull(),
    price: amount('price').notNull(), // fill price after slippage
    referencePrice: amount('reference_price').notNull(), // price before slippage
    notional: amount('notional').notNull(),
    fee: amount('fee').notNull(),
    feeAsset: text('fee_asset').notNull(),
    feeUsd: amount('fee_usd').notNull(),
    realizedPnl: amount('realized_pnl').notNull().default('0'),
    clamps: jsonb('clamps').notNull().default(sql`'[]'::jsonb`),
    executedAt: ts('executed_at').notNull(), // market time of the fill (simulated time in backtests)
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('trades_run_seq').on(t.runId, t.seq),
    index('trades_run_executed').on(t.runId, t.executedAt),
  ],
);

export const portfolioSnapshots = pgTable(
  'portfolio_snapshots',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    timestamp: ts('timestamp').notNull(),
    cash: amount('cash').notNull(),
    equity: amount('equity').notNull(),
    positionsValue: amount('positions_value').notNull(),
    positions: jsonb('positions').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('snapshots_run_timestamp').on(t.runId, t.timestamp)],
);

/** A backtest request and its outcome. Its book is the run with the same id. */
export const backtests = pgTable(
  'backtests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: text('run_id').notNull(),
    symbol: text('symbol').notNull(),
    timeframe: text('timeframe').notNull(),
    startDate: ts('start_date').notNull(),
    endDate: ts('end_date').notNull(),
    maxDecisions: integer('max_decisions').notNull(),
    decisionInterval: integer('decision_interval').notNull(),
    status: text('status', { enum: ['pending', 'running', 'succeeded', 'failed'] })
      .notNull()
      .default('pending'),
    progressDone: integer('progress_done').notNull().default(0),
    progressTotal: integer('progress_total').notNull().default(0),
    settings: jsonb('settings').notNull(),
    estimate: jsonb('estimate'),
    result: jsonb('result'),
    error: jsonb('error'),
    executionId: text('execution_id'),
    createdAt: createdAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('backtests_created').on(t.createdAt)],
);

/**
 * One pass of the agent firm at one time for one symbol: each agent's structured output, the prompts'
 * versions, the final decision, its cost, and the trade it led to (if any).
 */
export const decisions = pgTable(
  'decisions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: text('run_id').notNull(),
    backtestId: uuid('backtest_id'),
    symbol: text('symbol').notNull(),
    timeframe: text('timeframe').notNull(),
    mode: text('mode', { enum: ['live', 'backtest_step', 'backtest'] }).notNull(),
    decisionTime: ts('decision_time').notNull(), // the data cut-off the agents saw
    status: text('status', {
      enum: ['pending', 'running', 'completed', 'no_trade', 'budget_exceeded', 'failed'],
    })
      .notNull()
      .default('pending'),
    provider: text('provider').notNull(),
    finalAction: text('final_action', { enum: ['BUY', 'SELL', 'HOLD'] }),
    finalSizePct: numeric('final_size_pct', { precision: 10, scale: 4 }),
    outputs: jsonb('outputs').notNull().default(sql`'{}'::jsonb`),
    promptVersions: jsonb('prompt_versions').notNull().default(sql`'{}'::jsonb`),
    /** How the firm decided: the researcher's pipeline, or consensus voting (shared/consensus). */
    decisionMode: text('decision_mode', { enum: ['pipeline', 'consensus'] })
      .notNull()
      .default('pipeline'),
    /** The votes, tally and outcome of a consensus decision (null in pipeline mode, or before the vote). */
    consensus: jsonb('consensus'),
    /** The strategy version (strategy_versions.id) the decision ran under; null before versions existed. */
    strategyVersionId: uuid('strategy_version_id'),
    snapshot: jsonb('snapshot'),
    execution: jsonb('execution'),
    error: jsonb('error'),
    tokensIn: integer('tokens_in').notNull().default(0),
    tokensOut: integer('tokens_out').notNull().default(0),
    costUsd: usd('cost_usd').notNull().default('0'),
    latencyMs: integer('latency_ms').notNull().default(0),
    executionId: text('execution_id'),
    createdAt: createdAt(),
    completedAt: ts('completed_at'),
  },
  (t) => [
    index('decisions_run_time').on(t.runId, t.decisionTime),
    index('decisions_backtest').on(t.backtestId, t.decisionTime),
    index('decisions_created').on(t.createdAt),
  ],
);

/** One row per model call (spec NFR-9), including cache hits and refused calls. */
export const agentLogs = pgTable(
  'agent_logs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    timestamp: ts('timestamp').notNull().defaultNow(),
    runId: text('run_id'),
    decisionId: uuid('decision_id'),
    agent: text('agent').notNull(),
    symbol: text('symbol'),
    provider: text('provider').notNull(),
    tier: text('tier', { enum: ['cheap', 'strong'] }).notNull(),
    model: text('model').notNull(),
    promptVersion: text('prompt_version'),
    status: text('status', { enum: ['ok', 'repaired', 'abstained', 'error', 'budget_exceeded'] }).notNull(),
    tokensIn: integer('tokens_in').notNull().default(0),
    tokensOut: integer('tokens_out').notNull().default(0),
    tokensCached: integer('tokens_cached').notNull().default(0),
    costUsd: usd('cost_usd').notNull().default('0'),
    latencyMs: integer('latency_ms').notNull().default(0),
    retries: integer('retries').notNull().default(0),
    cacheHit: boolean('cache_hit').notNull().default(false),
    inputSummary: text('input_summary'),
    outputSummary: text('output_summary'),
    error: text('error'),
  },
  (t) => [index('agent_logs_timestamp').on(t.timestamp), index('agent_logs_decision').on(t.decisionId)],
);

/** Response cache keyed by sha256(model, messages, schema). */
export const llmCache = pgTable('llm_cache', {
  key: text('key').primaryKey(),
  model: text('model').notNull(),
  response: jsonb('response').notNull(),
  tokensIn: integer('tokens_in').notNull(),
  tokensOut: integer('tokens_out').notNull(),
  costUsd: usd('cost_usd').notNull().default('0'),
  hits: integer('hits').notNull().default(0),
  createdAt: createdAt(),
});

/**
 * One row per upstream (a model provider by base URL, a Binance host): its circuit breaker and its
 * Retry-After "not before", shared by every Lambda (shared/resilience/upstream-health.ts). A transition
 * runs under the row's lock.
 */
export const upstreamHealth = pgTable('upstream_health', {
  key: text('key').primaryKey(),
  state: jsonb('state').notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * Daily token budget (UTC day). A call reserves its worst case with one conditional UPDATE
 * (`used + reserved + n <= budget`), then settles to the provider's real usage; so concurrent callers
 * can never overshoot.
 */
export const tokenLedger = pgTable('token_ledger', {
  day: date('day', { mode: 'string' }).primaryKey(),
  budget: bigint('budget', { mode: 'number' }).notNull(),
  reserved: bigint('reserved', { mode: 'number' }).notNull().default(0),
  used: bigint('used', { mode: 'number' }).notNull().default(0),
  costUsd: usd('cost_usd').notNull().default('0'),
  /** The dollar budget in force (DAILY_USD_BUDGET; null: none), and the worst-case USD of calls in flight. */
  usdBudget: usd('usd_budget'),
  usdReserved: usd('usd_reserved').notNull().default('0'),
  refused: integer('refused').notNull().default(0),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * The firm's memory (seed 003 `trade_outcomes` + `trade_metadata`): one row per closed round trip, or
 * per part of one that a partial sale closed (lots close FIFO), in the live book and in each backtest's
 * own book. Derived from the trade ledger by shared/outcomes/ledger.ts and written with the fill that
 * closes it (live) or by the simulate step (backtests), so it can be rebuilt from `trades` exactly.
 * `regime` and `researcher_confidence` are copies of the entry context, for the aggregates.
 */
export const tradeOutcomes = pgTable(
  'trade_outcomes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    backtestId: uuid('backtest_id'),
    seq: integer('seq').notNull(), // order within the run (exit order, then FIFO lot order)
    symbol: text('symbol').notNull(),
    entryDecisionId: uuid('entry_decision_id'),
    exitDecisionId: uuid('exit_decision_id'),
    entryTradeId: uuid('entry_trade_id'),
    exitTradeId: uuid('exit_trade_id'), // null for an end_of_backtest mark
    entryTime: ts('entry_time').notNull(),
    exitTime: ts('exit_time').notNull(),
    entryPrice: amount('entry_price').notNull(),
    exitPrice: amount('exit_price').notNull(),
    quantity: amount('quantity').notNull(),
    entryCost: amount('entry_cost').notNull(),
    proceeds: amount('proceeds').notNull(),
    pnlUsdt: amount('pnl_usdt').notNull(),
    pnlPct: numeric('pnl_pct', { precision: 20, scale: 8 }).notNull(),
    fees: amount('fees').notNull(),
    holdingMs: bigint('holding_ms', { mode: 'number' }).notNull(),
    exitReason: text('exit_reason', {
      enum: ['signal', 'stop_loss', 'take_profit', 'end_of_backtest', 'risk_reduction'],
    }).notNull(),
    regime: text('regime'),
    researcherConfidence: numeric('researcher_confidence', { precision: 6, scale: 4 }),
    context: jsonb('context').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('trade_outcomes_run_seq').on(t.runId, t.seq),
    index('trade_outcomes_run_exit').on(t.runId, t.exitTime),
    index('trade_outcomes_run_symbol_exit').on(t.runId, t.symbol, t.exitTime),
  ],
);

/**
 * Market-sentiment cache (shared/sentiment): one row per published value of a series, keyed like candles
 * by the series' own time. `series`: 'fng' (Fear & Greed, daily, market-wide: symbol '*'), 'funding'
 * (Binance USD-M funding rate at its funding time), 'open_interest' and 'long_short' (Binance futures
 * statistics, hourly). `known_at` is when the value became public (the point-in-time rule);
 * `value` is the headline number as the provider wrote it, `value2` a companion (mark price, open-interest
 * value in USDT, long-account share), `label` the F&G classification. `source`: 'api' | 'import'.
 */
export const sentimentPoints = pgTable(
  'sentiment_points',
  {
    series: text('series').notNull(),
    symbol: text('symbol').notNull(),
    time: ts('time').notNull(),
    knownAt: ts('known_at').notNull(),
    value: numeric('value').notNull(),
    value2: numeric('value2'),
    label: text('label'),
    source: text('source').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.series, t.symbol, t.time] })],
);

/**
 * The strategy parameters in force, versioned (shared/strategy/store.ts). One sequence per run: the live
 * book's ('live'), and a walk-forward backtest's own. Every applied change, approval or rollback is a new
 * row; nothing is updated in place. `effectiveAt` is wall-clock time for the live book and market time
 * for a backtest (when a segment's cycle applied it).
 */
export const strategyVersions = pgTable(
  'strategy_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: text('run_id').notNull(),
    seq: integer('seq').notNull(),
    params: jsonb('params').notNull(),
    /** What changed from the previous version (null for a base version). */
    change: jsonb('change'),
    /** 'settings' (the base, from the settings), 'learning' (auto-applied), 'person' (approved), 'rollback', 'inherited' (a backtest's base). */
    appliedBy: text('applied_by').notNull(),
    adjustmentId: uuid('adjustment_id'),
    reason: text('reason'),
    /** On 'settings' versions: the parameters the settings gave, to notice when a setting changes. */
    settingsDefaults: jsonb('settings_defaults'),
    effectiveAt: ts('effective_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('strategy_versions_run_seq').on(t.runId, t.seq),
    index('strategy_versions_run_effective').on(t.runId, t.effectiveAt),
  ],
);

/** One learning cycle: what it read (summary), what the learning agent saw (patterns), its cost. */
export const learningCycles = pgTable(
  'learning_cycles',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: text('run_id').notNull(),
    backtestId: uuid('backtest_id'),
    trigger: text('trigger', { enum: ['api', 'cli', 'schedule', 'backtest'] }).notNull(),
    status: text('status', {
      enum: ['pending', 'running', 'succeeded', 'insufficient_history', 'failed'],
    })
      .notNull()
      .default('pending'),
    /** The cycle's time: it reads only outcomes closed strictly before it. */
    asOf: ts('as_of').notNull(),
    lookbackFrom: ts('lookback_from').notNull(),
    /** Auto-apply allowed (SELF_LEARNING_ENABLED, or a walk-forward backtest that asked for learning). */
    autoApply: boolean('auto_apply').notNull(),
    strategyVersionId: uuid('strategy_version_id'),
    summary: jsonb('summary'),
    patterns: jsonb('patterns'),
    /** Per agent (learning, strategy_builder): status, provider, model, tokens, cost, latency, reason. */
    agents: jsonb('agents').notNull().default(sql`'{}'::jsonb`),
    tokensIn: integer('tokens_in').notNull().default(0),
    tokensOut: integer('tokens_out').notNull().default(0),
    costUsd: usd('cost_usd').notNull().default('0'),
    error: jsonb('error'),
    executionId: text('execution_id'),
    createdAt: createdAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    index('learning_cycles_run_created').on(t.runId, t.createdAt),
    index('learning_cycles_backtest').on(t.backtestId, t.asOf),
  ],
);

/** A proposed change (seed 003 strategy_adjustments): a parameter's new value, or a prompt lesson. */
export const strategyAdjustments = pgTable(
  'strategy_adjustments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    cycleId: uuid('cycle_id').notNull(),
    runId: text('run_id').notNull(),
    kind: text('kind', { enum: ['parameter', 'lesson'] }).notNull(),
    /** A strategy parameter (kind parameter) as the strategy builder named it, valid or not. */
    parameter: text('parameter'),
    /** The agent whose prompt a lesson is for (kind lesson). */
    agent: text('agent'),
    oldValue: jsonb('old_value'),
    newValue: jsonb('new_value'),
    confidence: integer('confidence').notNull(),
    riskLevel: text('risk_level').notNull(),
    priority: text('priority').notNull(),
    reasoning: text('reasoning').notNull(),
    patterns: jsonb('patterns').notNull(),
    evidence: integer('evidence').notNull().default(0),
    status: text('status', {
      enum: ['invalid', 'pending', 'applied', 'rejected', 'rolled_back', 'would_need_review'],
    }).notNull(),
    invalidReason: text('invalid_reason'),
    /** The version in force when it was proposed, and the one its application made. */
    baseVersionId: uuid('base_version_id'),
    appliedVersionId: uuid('applied_version_id'),
    /** Lessons: the prompt version the lesson made. */
    promptVersion: text('prompt_version'),
    decidedBy: text('decided_by'),
    decidedAt: ts('decided_at'),
    createdAt: createdAt(),
  },
  (t) => [
    index('strategy_adjustments_status').on(t.runId, t.status, t.createdAt),
    index('strategy_adjustments_cycle').on(t.cycleId),
  ],
);

/** A study: many backtests (cells) as one experiment, and its report (shared/studies). */
export const studies = pgTable(
  'studies',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    status: text('status', { enum: ['pending', 'running', 'succeeded', 'failed'] })
      .notNull()
      .default('pending'),
    request: jsonb('request').notNull(),
    estimate: jsonb('estimate'),
    cellsTotal: integer('cells_total').notNull().default(0),
    cellsDone: integer('cells_done').notNull().default(0),
    report: jsonb('report'),
    error: jsonb('error'),
    executionId: text('execution_id'),
    createdAt: createdAt(),
    finishedAt: ts('finished_at'),
  },
  (t) => [index('studies_created').on(t.createdAt)],
);

/** One cell of a study: a variant's backtest, or a baseline, on one symbol and window. */
export const studyCells = pgTable(
  'study_cells',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    studyId: uuid('study_id').notNull(),
    seq: integer('seq').notNull(),
    kind: text('kind', { enum: ['variant', 'baseline'] }).notNull(),
    /** The variant's label, or the baseline's name. */
    label: text('label').notNull(),
    symbol: text('symbol').notNull(),
    windowStart: ts('window_start').notNull(),
    windowEnd: ts('window_end').notNull(),
    /** What the cell runs: the backtest request (variant) or the baseline's inputs. */
    spec: jsonb('spec').notNull(),
    decisions: integer('decisions').notNull().default(0),
    status: text('status', { enum: ['pending', 'running', 'succeeded', 'failed'] })
      .notNull()
      .default('pending'),
    backtestId: uuid('backtest_id'),
    result: jsonb('result'),
    error: jsonb('error'),
    finishedAt: ts('finished_at'),
  },
  (t) => [uniqueIndex('study_cells_seq').on(t.studyId, t.seq)],
);

/**
 * Idempotency keys of writes (POST /analyze, POST /backtest; shared/idempotency): the first request
 * with a key claims it with one INSERT … ON CONFLICT DO NOTHING, so of concurrent duplicates exactly
 * one runs. The row keeps a hash of the body (the same key with another body is refused), the id of
 * what the request created and, where the answer is fixed (a backtest's 202), the answer itself.
 * Rows expire after 24 h; an expired row is replaced by the next claim.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(), // 'POST /analyze' | 'POST /backtest' | 'cli analyze' ...
    key: text('key').notNull(),
    bodyHash: text('body_hash').notNull(),
    resourceId: text('resource_id'), // null while the first request is still creating it
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body'),
    createdAt: ts('created_at').notNull(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.scope, t.key] }), index('idempotency_keys_expires').on(t.expiresAt)],
);

/**
 * The prompt registry (seed 003 `agent_prompts`; shared/prompts): every text an agent's prompt has had,
 * content-addressed. `version` is the first 12 hex digits of sha256(text), so the same text is the same
 * version on every host and registering it again changes nothing. `text` is exactly the system message
 * the model reads. `origin`: 'builtin' (the code's text, registered at start), 'manual' (a person's),
 * 'learning' (a lesson of the learning loop appended to its parent). `label` names builtin texts as the
 * code does ('trader@1'); `note` says where a non-builtin version came from (e.g. the adjustment).
 */
export const agentPrompts = pgTable(
  'agent_prompts',
  {
    agent: text('agent').notNull(),
    version: text('version').notNull(),
    text: text('text').notNull(),
    origin: text('origin', { enum: ['builtin', 'manual', 'learning'] }).notNull(),
    parent: text('parent'),
    label: text('label'),
    note: text('note'),
    firstSeenAt: ts('first_seen_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.agent, t.version] }),
    index('agent_prompts_agent_seen').on(t.agent, t.firstSeenAt),
  ],
);

/**
 * The version each agent's prompt uses by default (no A/B arm, no backtest pin): one row per agent.
 * Start-up points it at the builtin text unless a manual or learning version was made active since.
 */
export const agentPromptActive = pgTable('agent_prompt_active', {
  agent: text('agent').primaryKey(),
  version: text('version').notNull(),
  /** 'builtin' (start-up), 'learning' (an applied lesson), 'person' (CLI). */
  setBy: text('set_by').notNull(),
  since: ts('since').notNull().defaultNow(),
});
