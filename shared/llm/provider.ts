/**
 * The provider port: one chat completion with a structured-output request, no retries, no cache, no
 * budget (the client does those once for every provider). Two adapters: the `openai` SDK (OpenAI,
 * OpenRouter, any OpenAI-compatible server by base URL) and the offline rules (offline.ts).
 */
import type { ModelAgentName } from '../agents/schemas';
import type { TokenUsage } from './prices';
import type { StructuredMode } from './structured';
import type { ChatMessage } from './tokens';

export type ProviderName = 'openai' | 'offline';

export interface ProviderRequest {
  agent: ModelAgentName;
  model: string;
  messages: ChatMessage[];
  maxTokens: number;
  temperature: number;
  seed: number | undefined;
  responseFormat: { mode: StructuredMode; name: string; schema: Record<string, unknown> };
  /** The agent's structured input: what the offline rules compute from (a model reads the messages). */
  input: unknown;
  timeoutMs: number;
}

export interface ProviderResponse {
  content: string | null;
  usage: TokenUsage;
  /**
   * False when the provider's reply carried no usage (some OpenAI-compatible servers omit it): `usage`
   * is then zeros, not a measurement, and the budget charges the call's reserved worst case instead.
   * Absent means reported.
   */
  usageReported?: boolean;
}

/** A provider failure, classified for the client's retry policy. */
export class ProviderError extends Error {
  constructor(
    /** unavailable: not sent, the provider's circuit breaker is open (shared/resilience). */
    readonly kind: 'rate_limited' | 'timeout' | 'server' | 'request' | 'unavailable',
    message: string,
    readonly status: number | undefined,
    /** From Retry-After / retry-after-ms, when the provider sent one. */
    readonly retryAfterMs: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}

export interface ChatProvider {
  readonly name: ProviderName;
  /** Billable providers go through the budget and the response cache; the offline rules cost nothing. */
  readonly billable: boolean;
  /**
   * Which endpoint answers (e.g. the base URL), part of the response cache key: the same model name
   * behind two endpoints (OpenAI, OpenRouter, a local server) is not the same model.
   */
  readonly cacheScope?: string;
  complete(req: ProviderRequest): Promise<ProviderResponse>;
}
