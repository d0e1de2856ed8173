/**
 * A study request: its schema and what it expands to (windows, variants' backtest requests).
 *
 * Decisions:
 * - A variant's `options` ARE the backtest options schema (`backtestOptionsSchema`, strict, the one
 *   POST /backtest is built from): an unknown option is a 400 naming the variant, and every option the
 *   backtest request gains later works in a study at once (and shows in the OpenAPI document). Each
 *   cell's full backtest request (symbol, window, timeframe and max_decisions from the study, the rest
 *   from the variant) is then parsed by the backtest request schema too (dates, span, not in the
 *   future). The study-level fields cannot be set per variant (a 400 says so).
 * - Windows: a list of `{ start_date, end_date }`, or a rolling spec `{ start_date, end_date,
 *   window_days, step_days }` expanded to [start + k step, start + k step + window) for every k whose
 *   window ends by end_date. An empty expansion is a 400 (an empty grid), as are reversed windows.
 */
import { z } from 'zod';
import { BASELINES } from '../backtest/strategies';
import {
  BACKTEST_GRID_FIELDS,
  type BacktestRequest,
  backtestOptionsSchema,
  backtestRequestSchema,
} from '../schemas/backtest-request';
import { dateInputSchema, parseDateInput, symbolSchema, timeframeSchema } from '../schemas/fields';
import { AppError } from '../util/errors';
import { parseOrThrow, validationError } from '../util/validation';

const DAY_MS = 86_400_000;
export const MAX_STUDY_WINDOWS = 200;
export const MAX_STUDY_VARIANTS = 20;
export const MAX_STUDY_SYMBOLS = 20;
/** Fields a study sets for every cell; a variant cannot override them. */
export const STUDY_LEVEL_FIELDS = BACKTEST_GRID_FIELDS;

const windowSchema = z.object({ start_date: dateInputSchema, end_date: dateInputSchema }).strict();
const rollingSchema = z
  .object({
    start_date: dateInputSchema,
    end_date: dateInputSchema,
    window_days: z
      .number()
      .int('window_days must be a whole number')
      .min(1, 'window_days must be at least 1'),
    step_days: z.number().int('step_days must be a whole number').min(1, 'step_days must be at least 1'),
  })
  .strict();

export const studyRequestSchema = z
  .object({
    name: z.string().trim().min(1, 'name is required').max(120, 'name must be at most 120 characters'),
    symbols: z
      .array(symbolSchema)
      .min(1, 'symbols: give at least one symbol')
      .max(MAX_STUDY_SYMBOLS, `symbols: at most ${MAX_STUDY_SYMBOLS}`),
    windows: z.union([z.array(windowSchema), rollingSchema], {
      error:
        'windows must be a list of { start_date, end_date } or { start_date, end_date, window_days, step_days }',
    }),
    timeframe: timeframeSchema.default('4h'),
    max_decisions: z
      .number({ error: 'max_decisions is required (a whole number from 1 to 1000)' })
      .int('max_decisions must be a whole number')
      .min(1, 'max_decisions must be at least 1')
      .max(1000, 'max_decisions must be at most 1000'),
    variants: z
      .array(
        z
          .object({
            label: z
              .string()
              .trim()
              .min(1, 'label is required')
              .max(60, 'label must be at most 60 characters'),
            options: backtestOptionsSchema.default(() => backtestOptionsSchema.parse({})),
          })
          .strict(),
      )
      .max(MAX_STUDY_VARIANTS, `variants: at most ${MAX_STUDY_VARIANTS}`)
      .default([]),
    baselines: z.array(z.enum(BASELINES)).default([...BASELINES]),
    sma: z
      .object({ fast: z.number().int().min(1).default(20), slow: z.number().int().min(2).default(50) })
      .strict()
      .refine((s) => s.fast < s.slow, { message: 'sma: fast must be below slow' })
      .default({ fast: 20, slow: 50 }),
    /** Seeds the random baseline and the bootstrap. */
    seed: z
      .number()
      .int('seed must be a whole number')
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
    bootstrap_replicates: z.number().int().min(100).max(20_000).default(2_000),
  })
  .strict();
export type StudyRequest = z.infer<typeof studyRequestSchema>;

export interface StudyWindow {
  start_date: string;
  end_date: string;
  startMs: number;
  endMs: number;
}

export interface ExpandedStudy {
  request: StudyRequest;
  windows: StudyWindow[];
  /** Per variant, its validated options as a backtest request would hold them (study fields excluded). */
  variantOptions: Record<string, unknown>[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The windows of a request (see the header); a 400 when empty or reversed. */
export function expandWindows(windows: StudyRequest['windows']): StudyWindow[] {
  let out: StudyWindow[];
  if (Array.isArray(windows)) {
    out = windows.map((w, i) => {
      const startMs = parseDateInput(w.start_date);
      const endMs = parseDateInput(w.end_date);
      if (!(endMs > startMs)) {
        throw new AppError('VALIDATION_ERROR', `windows.${i}.end_date: must be after start_date`, {
          field: `windows.${i}.end_date`,
        });
      }
      return { start_date: w.start_date, end_date: w.end_date, startMs, endMs };
    });
  } else {
    const s = parseDateInput(windows.start_date);
    const e = parseDateInput(windows.end_date);
    if (!(e > s)) {
      throw new AppError('VALIDATION_ERROR', 'windows.end_date: must be after start_date', {
        field: 'windows.end_date',
      });
    }
    out = [];
    const len = windows.window_days * DAY_MS;
    const step = windows.step_days * DAY_MS;
    for (let t = s; t + len <= e && out.length <= MAX_STUDY_WINDOWS; t += step) {
      out.push({ start_date: iso(t), end_date: iso(t + len), startMs: t, endMs: t + len });
    }
  }
  if (out.length === 0) {
    throw new AppError(
      'VALIDATION_ERROR',
      'windows: the grid is empty (no window fits: give at least one window, or a rolling window_days within the range)',
      { field: 'windows' },
    );
  }
  if (out.length > MAX_STUDY_WINDOWS) {
    throw new AppError('VALIDATION_ERROR', `windows: at most ${MAX_STUDY_WINDOWS} windows (got more)`, {
      field: 'windows',
    });
  }
  return out;
}

/** The backtest request of one variant cell, validated by the backtest schema. */
export function cellBacktestRequest(
  req: StudyRequest,
  options: Record<string, unknown>,
  symbol: string,
  w: StudyWindow,
  field: string,
): BacktestRequest {
  const full = {
    ...options,
    symbol,
    start_date: w.start_date,
    end_date: w.end_date,
    timeframe: req.timeframe,
    max_decisions: req.max_decisions,
  };
  const parsed = backtestRequestSchema.safeParse(full);
  if (!parsed.success) {
    const e = validationError(parsed.error.issues, 'body');
    throw new AppError('VALIDATION_ERROR', `${field}: ${e.message}`, {
      ...(e.details ?? {}),
      field: `${field}.${String((e.details as { field?: string } | undefined)?.field ?? '')}`,
    });
  }
  return parsed.data;
}

/** A variant setting a study-level field gets its own message (the options schema would say "unknown"). */
function refuseGridFieldsInVariants(input: unknown): void {
  const variants = (input as { variants?: unknown } | null)?.variants;
  if (!Array.isArray(variants)) return;
  for (const [i, v] of variants.entries()) {
    const options = (v as { options?: unknown } | null)?.options;
    if (typeof options !== 'object' || options === null) continue;
    for (const k of STUDY_LEVEL_FIELDS) {
      if (k in options) {
        throw new AppError(
          'VALIDATION_ERROR',
          `variants.${i}.options.${k}: set at the study level (symbols, windows, timeframe, max_decisions), not per variant`,
          { field: `variants.${i}.options.${k}` },
        );
      }
    }
  }
}

/** Parse and expand a study request; every cell's backtest request is validated. Bad input: a 400. */
export function expandStudyRequest(input: unknown): ExpandedStudy {
  refuseGridFieldsInVariants(input);
  const request = parseOrThrow(studyRequestSchema, input, 'body');
  const windows = expandWindows(request.windows);
  if (request.variants.length === 0 && request.baselines.length === 0) {
    throw new AppError('VALIDATION_ERROR', 'variants: the grid is empty (give a variant or a baseline)', {
      field: 'variants',
    });
  }
  const labels = new Set<string>();
  for (const [i, v] of request.variants.entries()) {
    if (labels.has(v.label) || (BASELINES as readonly string[]).includes(v.label)) {
      throw new AppError('VALIDATION_ERROR', `variants.${i}.label: "${v.label}" is already used`, {
        field: `variants.${i}.label`,
      });
    }
    labels.add(v.label);
  }
  const variantOptions = request.variants.map((v, i) => {
    let first: BacktestRequest | undefined;
    for (const [wi, w] of windows.entries()) {
      for (const symbol of request.symbols) {
        const r = cellBacktestRequest(request, v.options, symbol, w, `variants.${i}.options (window ${wi})`);
        first ??= r;
      }
    }
    // The options as the backtest schema filled them (defaults included), study fields removed.
    const {
      symbol: _s,
      start_date: _a,
      end_date: _b,
      timeframe: _t,
      max_decisions: _m,
      ...rest
    } = first as BacktestRequest;
    return rest as Record<string, unknown>;
  });
  // A baseline-only study still validates its windows as a backtest would (dates, span, not future).
  if (request.variants.length === 0) {
    for (const [wi, w] of windows.entries())
      cellBacktestRequest(request, {}, request.symbols[0] as string, w, `windows.${wi}`);
  }
  return { request, windows, variantOptions };
}
