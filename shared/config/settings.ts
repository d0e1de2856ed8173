/**
 * Settings: every knob of the product, read from the environment once and validated with zod.
 * A bad value stops the program with a message that names the setting (never a silent default).
 * On AWS the same names are filled from SSM Parameter Store and Secrets Manager at cold start
 * (functions/aws/params.ts); a Lambda's environment carries only parameter names and ARNs.
 */

import { z } from 'zod';
import { BACKTEST_DECISIONS_CEILING } from '../backtest/limits';
import { DEFAULT_METRICS_NAMESPACE } from '../observability/metrics';
import { type PromptAbTest, parsePromptAb } from '../prompts/ab';

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
/** One exact web origin (scheme://host[:port]); a trailing slash is tolerated and dropped. */
const corsOrigin = z.string().transform((value, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  const bare = url && (url.pathname === '/' || url.pathname === '') && !url.search && !url.hash;
  if (!url || !/^https?:$/.test(url.protocol) || !bare || url.username || url.password) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(value)} is not an origin: use scheme://host[:port] like http://localhost:5173 (no path, no *)`,
    });
    return z.NEVER;
  }
  return url.origin;
});
const positiveInt = z.coerce.number().int().positive();
const pct = z.coerce.number().gt(0).max(100);

export const settingsSchema = z.object({
  // Hosting
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('.data'),
  /**
   * PGlite (no DATABASE_URL) runs in its own worker thread, on another core than the host's state
   * machines and agents (shared/db/pglite-thread.ts); false keeps it in the main thread.
   */
  PGLITE_THREAD: bool.default(true),
  DATABASE_URL: z.string().url().optional(),
  DATABASE_SSL: bool.default(false),
  /** Verify the server's certificate (on Lambda, RDS's CAs come from NODE_EXTRA_CA_CERTS). */
  DATABASE_SSL_VERIFY: bool.default(true),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /**
   * The CloudWatch namespace of the operational metrics on AWS (Powertools Metrics; the stack sets it on
   * every function and its dashboard reads the same). Unused by the local host.
   */
  METRICS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._/#:-]{1,255}$/, 'letters, digits and . _ / # : - only, at most 255')
    .default(DEFAULT_METRICS_NAMESPACE),
  /**
   * Origins allowed to call the API from another origin (CORS), comma-separated exact origins such as
   * http://localhost:5173. Unset: no CORS headers (the web app is served same-origin; the vite dev
   * server proxies). Never a wildcard: a page on any origin could otherwise trade the simulated book.
   */
  CORS_ORIGIN: csv.pipe(z.array(corsOrigin)).default([]),
  /**
   * Host names (no port) the local host serves besides 127.0.0.1, localhost, [::1] and HOST, e.g. a LAN
   * name when HOST=0.0.0.0. Anything else is 421 HOST_NOT_ALLOWED: that is what stops DNS rebinding.
   */
  ALLOWED_HOSTS: csv
    .pipe(z.array(z.string().regex(/^[A-Za-z0-9.\-[\]:]+$/, 'host names like nas.local or 192.168.1.20')))
    .default([]),
  /**
   * When set, every write (POST /analyze, POST /backtest) must carry it in the X-Write-Key header. On
   * AWS it comes from Secrets Manager (`-c writeKey=true`), never from the environment.
   */
  WRITE_KEY: z.string().min(16, 'a write key has at least 16 characters').optional(),

  // Market data
  BINANCE_BASE_URL: z.string().url().default('https://api.binance.com'),
  BINANCE_FALLBACK_URL: z.string().url().default('https://data-api.binance.vision'),
  BINANCE_TIMEOUT_MS: positiveInt.default(10_000),
  SYMBOLS: csv
    .pipe(z.array(z.string().regex(/^[A-Z0-9]{5,20}$/, 'symbols are upper-case like BTCUSDT')).min(1))
    .default(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']),

  // Market sentiment (shared/sentiment): which sources the sentiment analyst reads, and where from.
  SENTIMENT_SOURCES: csv
    .pipe(z.array(z.enum(['fng', 'funding', 'open_interest', 'long_short', 'static'])))
    .default(['fng', 'funding', 'static']),
  FNG_BASE_URL: z.string().url().default('https://api.alternative.me'),
  BINANCE_FUTURES_BASE_URL: z.string().url().default('https://fapi.binance.com'),
  /** Used when the futures host refuses (451/403) or is unreachable; unset: none (Binance offers no public mirror). */
  BINANCE_FUTURES_FALLBACK_URL: z.string().url().optional(),

  // LLM
  LLM_PROVIDER: z.enum(['auto', 'openai', 'offline']).default('auto'),
  LLM_API_KEY: z.string().min(1).optional(),
  LLM_BASE_URL: z.string().url().optional(),
  CHEAP_MODEL: z.string().min(1).default('gpt-4.1-mini'),
  STRONG_MODEL: z.string().min(1).default('gpt-4.1'),
  LLM_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.1),
  LLM_TIMEOUT_MS: positiveInt.default(30_000),
  /**
   * Retries of ONE agent call across every layer (attempts = 1 + this): the LLM client owns them all;
   * the state machines retry only Lambda's own transient errors (see the README's failure contract).
   */
  LLM_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  /** The longest Retry-After the client waits out; a longer one fails the call (resumable) at once. */
  LLM_RETRY_AFTER_MAX_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** Circuit breaker per model provider and per Binance host (shared/resilience/upstream-health.ts). */
  LLM_BREAKER_FAILURES: positiveInt.default(5),
  LLM_BREAKER_FAILURE_RATIO: z.coerce.number().gt(0).max(1).default(0.5),
  LLM_BREAKER_MIN_CALLS: positiveInt.default(10),
  LLM_BREAKER_WINDOW_MS: positiveInt.default(60_000),
  LLM_BREAKER_COOLDOWN_MS: positiveInt.default(30_000),
  /** Where breakers and Retry-After holds live: this process, or PostgreSQL (AWS sets `database`). */
  UPSTREAM_STATE: z.enum(['memory', 'database']).default('memory'),
  /**
   * The ceiling of the adaptive concurrency limit per model provider (halved by each 429). It must not
   * throttle the product's own width: a study runs 4 cells at once, each backtest's Map 10 decision
   * points at once, each with 3 analysts in parallel: 120 calls. At 32 a study's analysts waited a whole
   * extra call latency for a slot; the provider's real limit is found by the 429s (AIMD), not guessed.
   */
  LLM_MAX_CONCURRENCY: positiveInt.default(128),
  /** A decision's deadline from its creation: no model call starts or waits past it (failed, LLM_TIMEOUT). */
  DECISION_DEADLINE_MS: positiveInt.default(120_000),
  LLM_CACHE: bool.default(true),
  // Structured output: strict JSON schema where the server supports it, else JSON mode + validation.
  LLM_STRUCTURED_OUTPUT: z.enum(['json_schema', 'json_object']).default('json_schema'),
  // Models that get JSON mode even when LLM_STRUCTURED_OUTPUT is json_schema.
  LLM_JSON_MODE_MODELS: csv.default([]),
  DAILY_TOKEN_BUDGET: positiveInt.default(2_000_000),
  /** USD per UTC day across every agent (unset: no dollar cap), enforced beside the token budget. */
  DAILY_USD_BUDGET: z.coerce.number().positive().optional(),
  RESEARCHER_MIN_CONFIDENCE: z.coerce.number().min(0).max(1).default(0.55),

  // Consensus voting (shared/consensus): how the firm decides whether the trader is called.
  DECISION_MODE: z.enum(['pipeline', 'consensus']).default('pipeline'),
  /** The agents that vote in consensus mode (analysts and the researcher). */
  CONSENSUS_VOTERS: csv
    .pipe(
      z
        .array(
          z.enum(['technical', 'sentiment', 'tokenomics', 'researcher'], {
            error: (i) =>
              `${JSON.stringify(i.input)} is not a voter: voters are technical, sentiment, tokenomics, researcher`,
          }),
        )
        .min(1, 'at least one voter is needed'),
    )
    .default(['technical', 'sentiment', 'tokenomics', 'researcher']),
  /** Votes that must agree on BUY or SELL before the trader is called (at most the number of voters). */
  MIN_AGREEMENT: positiveInt.default(2),

  /**
   * A/B tests of prompt versions on live decisions (shared/prompts/ab.ts): `agent:v1,v2`, several agents
   * separated by `;`. Versions are registry ids (GET /prompts/{agent}); unknown ones stop the host at
   * start. Unset: every decision uses each agent's active version.
   */
  PROMPT_AB: z
    .string()
    .transform((value, ctx): PromptAbTest[] => {
      try {
        return parsePromptAb(value);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
        return z.NEVER;
      }
    })
    .default([]),

  // Portfolio and execution
  INITIAL_CASH: z.coerce.number().positive().default(10_000),
  MAX_POSITION_SIZE_PCT: pct.default(10),
  MAX_TOTAL_EXPOSURE_PCT: pct.default(80),
  FEE_BPS: z.coerce.number().min(0).max(1000).default(10),
  SLIPPAGE_BPS: z.coerce.number().min(0).max(1000).default(5),
  /**
   * The BUY size executed: the trader's (after the risk manager), fractional Kelly from the book's own
   * outcomes, or the smaller of the two (shared/outcomes/sizing.ts). Hard limits apply after it.
   */
  SIZING: z.enum(['trader', 'kelly', 'min']).default('min'),
  /** Outcomes (the most recent closed before the decision) Kelly is computed over. */
  KELLY_LOOKBACK: positiveInt.default(50),
  /** Fraction of full Kelly (0-1; 0.5 = half Kelly). */
  KELLY_FRACTION: z.coerce
    .number()
    .min(0, 'must be between 0 and 1')
    .max(1, 'must be between 0 and 1')
    .default(0.5),
  /** Fewer outcomes than this: Kelly does not apply (the trader's size stands, and the fill says so). */
  KELLY_MIN_TRADES: positiveInt.default(10),

  // Self-learning (shared/learning): cycles read closed outcomes, propose changes, apply or queue them.
  /** Off: cycles still run on request, and nothing applies itself. */
  SELF_LEARNING_ENABLED: bool.default(false),
  /** Fewer closed outcomes in the lookback window than this: the cycle ends insufficient_history. */
  SELF_LEARNING_MIN_TRADES: positiveInt.default(10),
  /** A valid proposal with at least this confidence (0-100), risk LOW and priority HIGH applies itself. */
  SELF_LEARNING_AUTO_APPLY_THRESHOLD: z.coerce.number().min(0).max(100).default(80),
  SELF_LEARNING_LOOKBACK_DAYS: positiveInt.default(30),
  /** Trades a proposal's patterns must rest on (counted in code from the summary), else it is invalid. */
  SELF_LEARNING_MIN_EVIDENCE: positiveInt.default(5),
  /**
   * EventBridge Scheduler expression for the nightly cycle on AWS, e.g. `cron(0 2 * * ? *)`; unset: no
   * schedule (cycles run on request only).
   */
  SELF_LEARNING_SCHEDULE: z
    .string()
    .regex(/^(cron|rate)\(.+\)$/, 'a schedule is cron(...) or rate(...), as EventBridge Scheduler writes it')
    .optional(),

  // Workflows
  ANALYZE_WAIT_MS: z.coerce.number().int().min(0).max(28_000).default(20_000),
  // Decision points at once. On AWS each is a child execution of a Distributed Map (no inline cap of 40);
  // the deployed value is the CDK context `mapConcurrency`, bounded by the agent-steps reserved concurrency.
  BACKTEST_MAP_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(10),
  // The Map's items ride in the state (~85 bytes each, capped at 256 KiB): 2,000 leave room to spare.
  BACKTEST_MAX_DECISIONS: positiveInt.max(BACKTEST_DECISIONS_CEILING).default(BACKTEST_DECISIONS_CEILING),
  /**
   * A backtest with more failed decisions than this share (%) ends `failed`: its partial result stays
   * readable but is not the firm's performance. Also the Distributed Map's tolerated failure percentage.
   */
  BACKTEST_MAX_FAILED_PCT: z.coerce.number().min(0).max(100).default(10),
  /** A study's decisions over all its variant cells (symbols x windows x variants x decisions each). */
  STUDY_MAX_DECISIONS: positiveInt.default(20_000),
});

export type Settings = z.infer<typeof settingsSchema>;

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: { setting: string; message: string }[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validate an environment. Empty strings count as unset, as in most .env files. */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(settingsSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') cleaned[key] = v.trim();
  }
  const parsed = settingsSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({
      setting: String(i.path[0] ?? '?'),
      message: i.message,
    }));
    const text = issues.map((i) => `${i.setting}: ${i.message} (got ${JSON.stringify(cleaned[i.setting])})`);
    throw new ConfigError(`Invalid configuration:\n  ${text.join('\n  ')}`, issues);
  }
  const s = parsed.data;
  const voters = new Set(s.CONSENSUS_VOTERS);
  if (voters.size !== s.CONSENSUS_VOTERS.length)
    throw new ConfigError('Invalid configuration:\n  CONSENSUS_VOTERS: a voter is listed twice', [
      { setting: 'CONSENSUS_VOTERS', message: 'a voter is listed twice' },
    ]);
  if (s.MIN_AGREEMENT > voters.size) {
    const message = `must be at most the number of CONSENSUS_VOTERS (${voters.size}), got ${s.MIN_AGREEMENT}`;
    throw new ConfigError(`Invalid configuration:\n  MIN_AGREEMENT: ${message}`, [
      { setting: 'MIN_AGREEMENT', message },
    ]);
  }
  return s;
}

/** Which agent provider the settings select: the offline rules unless a key (or a local base URL) is set. */
export function selectedProvider(s: Settings): 'openai' | 'offline' {
  if (s.LLM_PROVIDER === 'offline') return 'offline';
  if (s.LLM_PROVIDER === 'openai') return 'openai';
  return s.LLM_API_KEY || s.LLM_BASE_URL ? 'openai' : 'offline';
}
