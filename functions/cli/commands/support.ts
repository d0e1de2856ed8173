/**
 * What the analysis, backtest, portfolio, trades and costs commands share: exit codes that mean
 * something, a full container over the CLI's database, and plain-text tables.
 *
 * Exit codes: 0 ok; 1 runtime or upstream failure (Binance, the model provider, the database);
 * 2 usage or validation error (a bad flag or value; nothing was done); 3 the daily token budget refused
 * the work. AppErrors with a validation-like code become exit 2 and budget refusals exit 3 through
 * `CommandExit`, which functions/cli/main.ts turns into the process exit code.
 */
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../../../shared/config/settings';
import { AppError, isAppError } from '../../../shared/util/errors';
import { type Container, createContainer } from '../../runtime/container';
import type { CliContext } from '../context';
import { EXIT_RUNTIME_ERROR, EXIT_USAGE_ERROR } from '../errors';

export const EXIT_BUDGET_EXCEEDED = 3;

/** Ends a command with a given exit code; `message` (if any) is printed on stderr by main.ts. */
export class CommandExit extends Error {
  constructor(
    readonly exitCode: number,
    message = '',
  ) {
    super(message);
    this.name = 'CommandExit';
  }
}

const USAGE_CODES = new Set([
  'VALIDATION_ERROR',
  'UNKNOWN_SYMBOL',
  'UNSUPPORTED_TIMEFRAME',
  'NOT_FOUND',
  'INSUFFICIENT_DATA',
  'DATA_GAP',
  'IDEMPOTENCY_KEY_REUSED',
]);

export function exitCodeFor(e: unknown): number {
  if (e instanceof CommandExit) return e.exitCode;
  if (e instanceof ConfigError) return EXIT_USAGE_ERROR;
  if (isAppError(e)) {
    if (e.code === 'BUDGET_EXCEEDED') return EXIT_BUDGET_EXCEEDED;
    if (USAGE_CODES.has(e.code)) return EXIT_USAGE_ERROR;
  }
  return EXIT_RUNTIME_ERROR;
}

/**
 * Run a command body with a container over the CLI's (already migrated) database. Validation and
 * budget errors are turned into CommandExit with their exit code; the rest propagate (exit 1).
 */
export async function withContainer<T>(ctx: CliContext, body: (c: Container) => Promise<T>): Promise<T> {
  let container: Container | undefined;
  try {
    const settings = ctx.settings();
    container = await createContainer(settings, {
      ...ctx.containerOverrides,
      database: await ctx.database(),
      skipMigrations: true,
    });
    return await body(container);
  } catch (e) {
    const code = exitCodeFor(e);
    if (isAppError(e) && code !== EXIT_RUNTIME_ERROR)
      throw new CommandExit(code, `error [${e.code}]: ${e.message}`);
    throw e;
  } finally {
    await container?.close();
  }
}

/** zod-style validation at the CLI edge: a bad flag is a usage error naming the flag. */
export function usage(field: string, message: string): never {
  throw new AppError('VALIDATION_ERROR', `${field}: ${message}`, { field });
}

export function print(ctx: CliContext, line = ''): void {
  ctx.io.stdout(`${line}\n`);
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

/** A fixed-width text table; numeric columns right-aligned. */
export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const cell = (v: unknown) =>
    v === null || v === undefined ? '-' : typeof v === 'number' ? fmtNumber(v) : String(v);
  const cells = rows.map((r) => cols.map((c) => cell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = cols.map((c) =>
    rows.every((r) => typeof r[c] === 'number' || r[c] === null || r[c] === undefined),
  );
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function fmtNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return v.toFixed(abs >= 100 ? 2 : abs >= 1 ? 4 : 6);
}

export function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '-' : `${(v * 100).toFixed(2)}%`;
}

/** Parse a whole-number flag; a bad value is a commander usage error (exit 2) naming the flag. */
export function intOption(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) {
      throw new InvalidArgumentError(`--${flag} must be a whole number (got ${JSON.stringify(value)})`);
    }
    return Number(value);
  };
}
