/**
 * The product's error vocabulary. Every failure that can reach a user is an AppError with a stable
 * code, an HTTP status and a message a person can act on. The API maps it to
 * `{ error: { code, message, details? } }`; anything else becomes a 500 without a stack trace.
 */
export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'NOT_FOUND'
  | 'UNKNOWN_SYMBOL'
  | 'UNSUPPORTED_TIMEFRAME'
  | 'INSUFFICIENT_DATA'
  | 'DATA_GAP'
  | 'CONFLICT'
  | 'BUDGET_EXCEEDED'
  | 'UPSTREAM_BINANCE'
  | 'UPSTREAM_BINANCE_RATE_LIMITED'
  | 'UPSTREAM_SENTIMENT'
  | 'UPSTREAM_SENTIMENT_RATE_LIMITED'
  | 'UPSTREAM_LLM'
  | 'UPSTREAM_LLM_RATE_LIMITED'
  | 'UPSTREAM_LLM_UNAVAILABLE'
  | 'LLM_TIMEOUT'
  | 'LLM_INVALID_OUTPUT'
  | 'WORKFLOW_FAILED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'CROSS_ORIGIN'
  | 'HOST_NOT_ALLOWED'
  | 'WRITE_KEY_REQUIRED'
  | 'WRITE_KEY_INVALID'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'NOT_IMPLEMENTED'
  | 'INTERNAL';

const STATUS: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 400,
  NOT_FOUND: 404,
  UNKNOWN_SYMBOL: 400,
  UNSUPPORTED_TIMEFRAME: 400,
  INSUFFICIENT_DATA: 422,
  DATA_GAP: 422,
  CONFLICT: 409,
  BUDGET_EXCEEDED: 429,
  UPSTREAM_BINANCE: 502,
  UPSTREAM_BINANCE_RATE_LIMITED: 503,
  UPSTREAM_SENTIMENT: 502,
  UPSTREAM_SENTIMENT_RATE_LIMITED: 503,
  UPSTREAM_LLM: 502,
  UPSTREAM_LLM_RATE_LIMITED: 503,
  UPSTREAM_LLM_UNAVAILABLE: 503,
  LLM_TIMEOUT: 504,
  LLM_INVALID_OUTPUT: 502,
  WORKFLOW_FAILED: 500,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CROSS_ORIGIN: 403,
  HOST_NOT_ALLOWED: 421,
  WRITE_KEY_REQUIRED: 401,
  WRITE_KEY_INVALID: 403,
  IDEMPOTENCY_KEY_REUSED: 422,
  NOT_IMPLEMENTED: 501,
  INTERNAL: 500,
};

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.status = options?.status ?? STATUS[code];
  }

  toJSON() {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}
