/**
 * CLI exit codes and the usage error. Scripts branch on the code: 0 done, 1 the work failed (bad data,
 * database or network trouble), 2 the command line or configuration was wrong and nothing was done.
 */
export const EXIT_OK = 0;
export const EXIT_RUNTIME_ERROR = 1;
export const EXIT_USAGE_ERROR = 2;

/** Thrown by a command when its arguments cannot work, before it changes anything. */
export class UsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}
