/**
 * The logger every handler writes to, on every host: fields first, message second (pino's call shape).
 * The local host and the CLI pass pino; on Lambda it is Powertools' Logger behind the same interface
 * (functions/aws/observability.ts), with the cold-start flag and the correlation id on each line.
 */
export type LogFields = Record<string, unknown>;

export interface AppLogger {
  debug(fields: LogFields, message?: string): void;
  info(fields: LogFields, message?: string): void;
  warn(fields: LogFields, message?: string): void;
  error(fields: LogFields, message?: string): void;
  child(bindings: LogFields): AppLogger;
}
