/**
 * The backtest form's validation: the contract's own `backtestRequestSchema`, run in the browser
 * before anything is sent, so the user sees the same rule and message the API would give, next to the
 * field, with no round trip. Server-side validation errors (a rule the browser cannot check, such as
 * data availability) are mapped back to the same fields through `details.issues`.
 */
import { type BacktestRequest, backtestRequestSchema } from '../../shared/api/contract';

/** What the inputs hold: strings, as typed. */
export interface BacktestFormValues {
  symbol: string;
  start_date: string;
  end_date: string;
  timeframe: string;
  max_decisions: string;
  decision_interval: string;
  /** '' = the server's DECISION_MODE. */
  decision_mode?: string;
}

export type BacktestField = keyof BacktestFormValues;
export type FieldErrors = Partial<Record<BacktestField | 'form', string>>;

const FIELDS: readonly BacktestField[] = [
  'symbol',
  'start_date',
  'end_date',
  'timeframe',
  'max_decisions',
  'decision_interval',
  'decision_mode',
];

/** "" stays missing (the schema names it); anything else becomes a number, NaN included, for the schema to refuse. */
function toNumber(s: string): number | undefined {
  const t = s.trim();
  return t === '' ? undefined : Number(t);
}

function fieldOf(path: readonly PropertyKey[] | string): BacktestField | 'form' {
  const head = typeof path === 'string' ? path.split('.')[0] : path[0];
  return typeof head === 'string' && (FIELDS as readonly string[]).includes(head)
    ? (head as BacktestField)
    : 'form';
}

export function validateBacktestForm(
  values: BacktestFormValues,
): { ok: true; request: BacktestRequest } | { ok: false; errors: FieldErrors } {
  const candidate = {
    symbol: values.symbol.trim(),
    start_date: values.start_date.trim(),
    end_date: values.end_date.trim(),
    timeframe: values.timeframe,
    max_decisions: toNumber(values.max_decisions),
    decision_interval: toNumber(values.decision_interval),
    ...(values.decision_mode ? { decision_mode: values.decision_mode } : {}),
  };
  const parsed = backtestRequestSchema.safeParse(candidate);
  if (parsed.success) return { ok: true, request: parsed.data };
  const errors: FieldErrors = {};
  for (const issue of parsed.error.issues) {
    const field = fieldOf(issue.path);
    // The first problem per field is the one to fix first.
    errors[field] ??= issue.message;
  }
  return { ok: false, errors };
}

/** Field errors from an API VALIDATION_ERROR's `details.issues` ([{ field, message }]). */
export function fieldErrorsFromApi(details: Record<string, unknown> | undefined): FieldErrors {
  const errors: FieldErrors = {};
  const issues = details?.issues;
  if (!Array.isArray(issues)) return errors;
  for (const i of issues) {
    if (i && typeof i === 'object' && typeof i.field === 'string' && typeof i.message === 'string') {
      errors[fieldOf(i.field)] ??= i.message;
    }
  }
  return errors;
}

/** Dates as the date inputs want them (YYYY-MM-DD, UTC). */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
