/**
 * Field schemas shared by every request the firm takes (symbols, timeframes, dates, numbers, booleans),
 * each stating its rule in words and naming the field. The API contract (shared/api/contract.ts) and
 * the pipeline's own validation (backtests, studies) both use them, so a bad value reads the same
 * everywhere.
 */
import { z } from 'zod';
import { SYMBOL_PATTERN, symbolFormatProblem, TIMEFRAMES } from '../market/types';

// Messages: every schema a user can reach states its rule in words and names the field, so no zod
// default ("Invalid input: expected number, received NaN", "Too big: expected number to be <=100")
// reaches a user. The shared test corpus (test/api/api.test.ts) asserts none does.

/** What a value that is not of the expected JSON type is, for "must be X, not Y" messages. */
export function describeValue(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  return typeof input === 'object' ? 'an object' : `a ${typeof input}`;
}

/** `name is required (rule)` when the value is missing, else `name must be rule, not <what it is>`. */
export function typeMessage(name: string, rule: string) {
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
export function booleanField(name: string) {
  return z.boolean({ error: `${name} must be true or false (a JSON boolean)` });
}

export const DATE_RULE = 'a date like 2024-01-31 or an ISO time like 2024-01-31T12:00:00Z';
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
