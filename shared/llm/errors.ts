/**
 * Errors of the LLM layer that escape a call after the client's own bounded retries. Their `name` is
 * what Step Functions' Retry matches on (`LlmRateLimited`, `LlmTimeout`), so the names are a contract
 * with cdk/ (see the team brief). Everything else that can go wrong in a call is a value (abstained,
 * budget_exceeded), not an error.
 */
import { AppError } from '../util/errors';

export type LlmErrorName = 'LlmRateLimited' | 'LlmTimeout' | 'LlmUpstreamError' | 'LlmRequestError';

/** What a call spent before it failed (a first attempt before a failed repair): real, billed usage. */
export interface LlmSpend {
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

export class LlmCallError extends AppError {
  /** Set by the LLMClient: usage billed before the failure, so callers can still account for it. */
  spent?: LlmSpend;

  constructor(
    readonly llmName: LlmErrorName,
    message: string,
    details?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(
      llmName === 'LlmRateLimited'
        ? 'UPSTREAM_LLM_RATE_LIMITED'
        : llmName === 'LlmTimeout'
          ? 'LLM_TIMEOUT'
          : 'UPSTREAM_LLM',
      message,
      details,
      { cause },
    );
    this.name = llmName;
  }
}

/** Names Step Functions should retry (with backoff) before its Catch takes over. */
export const RETRYABLE_LLM_ERROR_NAMES: readonly LlmErrorName[] = ['LlmRateLimited', 'LlmTimeout'];

export function isLlmCallError(e: unknown): e is LlmCallError {
  return e instanceof LlmCallError;
}
