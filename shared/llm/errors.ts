/**
 * Errors of the LLM layer that escape a call after the client's own bounded retries (the only retries
 * an LLM call gets: the state machines do not retry them). Their `name` is what a Step Functions Catch
 * passes on and the pipeline maps back to a product code. Everything else that can go wrong in a call
 * is a value (abstained, budget_exceeded), not an error.
 */
import { AppError } from '../util/errors';

export type LlmErrorName =
  | 'LlmRateLimited'
  | 'LlmTimeout'
  | 'LlmUpstreamError'
  | 'LlmRequestError'
  /** Not sent: the provider's circuit breaker is open (shared/resilience/upstream-health.ts). */
  | 'LlmCircuitOpen';

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
          : llmName === 'LlmCircuitOpen'
            ? 'UPSTREAM_LLM_UNAVAILABLE'
            : 'UPSTREAM_LLM',
      message,
      details,
      { cause },
    );
    this.name = llmName;
  }
}

export function isLlmCallError(e: unknown): e is LlmCallError {
  return e instanceof LlmCallError;
}

/** The product codes of a model-provider failure (the model could not be reached or did not answer). */
export const LLM_PROVIDER_ERROR_CODES = [
  'UPSTREAM_LLM',
  'UPSTREAM_LLM_RATE_LIMITED',
  'UPSTREAM_LLM_UNAVAILABLE',
  'LLM_TIMEOUT',
] as const;
export type LlmProviderErrorCode = (typeof LLM_PROVIDER_ERROR_CODES)[number];

const PROVIDER_CODE_BY_NAME: Record<string, LlmProviderErrorCode> = {
  LlmRateLimited: 'UPSTREAM_LLM_RATE_LIMITED',
  LlmTimeout: 'LLM_TIMEOUT',
  LlmUpstreamError: 'UPSTREAM_LLM',
  LlmRequestError: 'UPSTREAM_LLM',
  LlmCircuitOpen: 'UPSTREAM_LLM_UNAVAILABLE',
  UPSTREAM_LLM_UNAVAILABLE: 'UPSTREAM_LLM_UNAVAILABLE',
  UPSTREAM_LLM: 'UPSTREAM_LLM',
  UPSTREAM_LLM_RATE_LIMITED: 'UPSTREAM_LLM_RATE_LIMITED',
  LLM_TIMEOUT: 'LLM_TIMEOUT',
};

/**
 * The provider-failure code for an error's name or code, or undefined when it is not one. A caught
 * error reaches the pipeline by its `name` (Step Functions' Catch matches on it: LlmRateLimited...);
 * what the decision records and the API reports is the product code (UPSTREAM_LLM_RATE_LIMITED...).
 */
export function llmProviderErrorCode(codeOrName: string): LlmProviderErrorCode | undefined {
  return Object.hasOwn(PROVIDER_CODE_BY_NAME, codeOrName) ? PROVIDER_CODE_BY_NAME[codeOrName] : undefined;
}
