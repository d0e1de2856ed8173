/**
 * The OpenAI-compatible adapter on the official `openai` SDK: OpenAI itself, OpenRouter, or any server
 * speaking the chat-completions protocol (Ollama, vLLM, LM Studio) by base URL.
 *
 * The SDK's own retries are off (`maxRetries: 0`): the client retries once for every provider with a
 * bounded, injectable policy and counts the retries it made. The timeout is per request.
 * Usage is read from the reply as the provider reports it (prompt_tokens, completion_tokens,
 * prompt_tokens_details.cached_tokens), never estimated.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { type ChatProvider, ProviderError, type ProviderRequest, type ProviderResponse } from './provider';

export interface OpenAIProviderOptions {
  apiKey: string | undefined;
  baseURL: string | undefined;
  /** OpenAI's newer models take `max_completion_tokens`; compatible servers take `max_tokens`. */
  tokenParam?: 'max_tokens' | 'max_completion_tokens';
  fetch?: typeof fetch;
}

/** Local servers need no key, but the SDK insists on one; this is a label, not a secret. */
const NO_KEY = 'no-key-configured';

export function createOpenAIProvider(opts: OpenAIProviderOptions): ChatProvider {
  const sdk = new OpenAI({
    apiKey: opts.apiKey ?? NO_KEY,
    baseURL: opts.baseURL,
    maxRetries: 0,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const tokenParam = opts.tokenParam ?? (opts.baseURL ? 'max_tokens' : 'max_completion_tokens');

  return {
    name: 'openai',
    billable: true,
    async complete(req: ProviderRequest): Promise<ProviderResponse> {
      const response_format =
        req.responseFormat.mode === 'json_schema'
          ? {
              type: 'json_schema' as const,
              json_schema: { name: req.responseFormat.name, strict: true, schema: req.responseFormat.schema },
            }
          : { type: 'json_object' as const };
      try {
        const completion = await sdk.chat.completions.create(
          {
            model: req.model,
            messages: req.messages,
            temperature: req.temperature,
            ...(req.seed === undefined ? {} : { seed: req.seed }),
            [tokenParam]: req.maxTokens,
            response_format,
          },
          { timeout: req.timeoutMs, maxRetries: 0 },
        );
        const usage = completion.usage;
        return {
          content: completion.choices[0]?.message?.content ?? null,
          usage: {
            promptTokens: usage?.prompt_tokens ?? 0,
            completionTokens: usage?.completion_tokens ?? 0,
            cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
          },
        };
      } catch (e) {
        throw classify(e);
      }
    },
  };
}

function classify(e: unknown): ProviderError {
  if (e instanceof APIConnectionTimeoutError)
    return new ProviderError('timeout', 'the LLM request timed out', undefined, undefined, { cause: e });
  if (e instanceof APIConnectionError)
    return new ProviderError('server', `cannot reach the LLM provider: ${e.message}`, undefined, undefined, {
      cause: e,
    });
  if (e instanceof APIError) {
    const status = e.status;
    const retryAfterMs = parseRetryAfter(e.headers);
    if (status === 429)
      return new ProviderError('rate_limited', 'the LLM provider is rate limiting (429)', 429, retryAfterMs, {
        cause: e,
      });
    if (status !== undefined && status >= 500)
      return new ProviderError('server', `the LLM provider failed (${status})`, status, retryAfterMs, {
        cause: e,
      });
    return new ProviderError(
      'request',
      `the LLM provider refused the request (${status}): ${e.message}`,
      status,
      undefined,
      {
        cause: e,
      },
    );
  }
  return new ProviderError(
    'request',
    `LLM call failed: ${(e as Error)?.message ?? String(e)}`,
    undefined,
    undefined,
    {
      cause: e,
    },
  );
}

/** Retry-After in seconds or as an HTTP date; OpenAI also sends retry-after-ms. */
export function parseRetryAfter(headers: Headers | undefined, nowMs = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const v = headers.get('retry-after');
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
