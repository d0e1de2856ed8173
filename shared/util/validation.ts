/**
 * zod issues -> AppError('VALIDATION_ERROR') whose message and `details.field` name the field. Shared by
 * the HTTP handlers, the CLI and the backtest steps, so a bad value reads the same everywhere.
 */
import type { z } from 'zod';
import { AppError } from './errors';

export type InputPlace = 'body' | 'query' | 'path' | 'request';

/** One zod issue as `{ field, message }`, the message always starting with the field's name. */
export function issueToField(
  issue: z.core.$ZodIssue,
  place?: InputPlace,
): { field: string; message: string } {
  let field = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys?: string[] }).keys ?? [];
    field = [field, keys.join(',')].filter(Boolean).join('.');
    return { field, message: `${field}: unknown field${keys.length > 1 ? 's' : ''} (not accepted here)` };
  }
  if (!field) field = place ?? 'body';
  const message = issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`;
  return { field, message };
}

export function validationError(issues: readonly z.core.$ZodIssue[], place: InputPlace): AppError {
  const fields = issues.map((i) => issueToField(i, place));
  return new AppError('VALIDATION_ERROR', fields.map((f) => f.message).join('; '), {
    field: fields[0]?.field ?? place,
    in: place,
    issues: fields,
  });
}

export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, place: InputPlace): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error.issues, place);
  return parsed.data;
}
