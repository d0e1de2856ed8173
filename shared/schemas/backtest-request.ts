/**
 * What a backtest request may say: the validated command the pipeline's createBacktest takes, from the
 * API, the CLI and a study's cells alike (a study's variants are exactly the backtest options).
 */
import { z } from 'zod';
import { AGENT_NAMES } from '../agents/schemas';
import { BACKTEST_DECISIONS_CEILING } from '../backtest/limits';
import { booleanField, dateInputSchema, parseDateInput, symbolSchema, timeframeSchema } from './fields';

/** How the firm decides: the researcher's pipeline, or consensus voting (default: DECISION_MODE). */
export const decisionModeSchema = z
  .enum(['pipeline', 'consensus'], { error: 'decision_mode must be pipeline or consensus' })
  .describe(
    'pipeline (researcher -> gate -> trader) or consensus (MIN_AGREEMENT of CONSENSUS_VOTERS must agree); default DECISION_MODE',
  );

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
