/**
 * The OpenAI-compatible adapter on the official `openai` SDK: OpenAI itself, OpenRouter, or any server
 * speaking the chat-completions protocol (Ollama, vLLM, LM Studio) by base URL.
 *
 * The SDK's own retries are off (`maxRetries: 0`, on the client and on every request): the LLMClient
 * retries once for every provider with a bounded, injectable policy and counts the retries it made.
 * The timeout is per request and aborts the HTTP request (the SDK's AbortController).
 * Usage is read from the reply as the provider reports it (prompt_tokens, completion_tokens,
 * prompt_tokens_details.cached_tokens), never estimated; a reply without usage says so
 * (`usageReported: false`).
 *
 * Errors are classified for the retry policy: 429, 5xx, connection failures and timeouts (and 408) are
 * retryable; a 429 that no wait can fix (`insufficient_quota`: the account is out of credit) and any
 * reply with `x-should-retry: false` are not. The API key never leaves this module: error messages are
 * scrubbed of it and the SDK's error object (its body can echo the key) is not kept as the cause.
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
export const OPENAI_BASE_URL = 'https://api.openai.com/v1';
/** Shorter strings are not scrubbed from messages (they could match ordinary words). */
const MIN_REDACTED_KEY_CHARS = 8;
const REDACTED = '[redacted]';
/** OpenAI's 429 code for an account without credit: waiting does not help. */
const NO_CREDIT_CODES = new Set(['insufficient_quota']);

/** OpenAI itself takes `max_completion_tokens` (required by its reasoning models); other servers `max_tokens`. */
export function defaultTokenParam(baseURL: string | undefined): 'max_tokens' | 'max_completion_tokens' {
  if (!baseURL) return 'max_completion_tokens';
  try {
    return new URL(baseURL).hostname === new URL(OPENAI_BASE_URL).hostname
      ? 'max_completion_tokens'
      : 'max_tokens';
  } catch {
    return 'max_tokens';
  }
}

const tokens = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.round(n) : 0);

export function createOpenAIProvider(opts: OpenAIProviderOptions): ChatProvider {
  const sdk = new OpenAI({
    apiKey: opts.apiKey ?? NO_KEY,
    baseURL: opts.baseURL,
    maxRetries: 0,
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  const tokenParam = opts.tokenParam ?? defaultTokenParam(opts.baseURL);
  const key = opts.apiKey;
  const redact = (text: string) =>
    key && key.length >= MIN_REDACTED_KEY_CHARS ? text.split(key).join(REDACTED) : text;

  return {
    name: 'openai',
    billable: true,
    cacheScope: (opts.baseURL ?? OPENAI_BASE_URL).replace(/\/+$/, ''),
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
            promptTokens: tokens(usage?.prompt_tokens),
            completionTokens: tokens(usage?.completion_tokens),
            cachedTokens: tokens(usage?.prompt_tokens_details?.cached_tokens),
          },
          usageReported: usage !== undefined && usage !== null,
        };
      } catch (e) {
        throw classify(e, redact);
      }
    },
  };
}

function classify(e: unknown, redact: (s: string) => string): ProviderError {
  // The SDK error is not kept as the cause: its body and message can echo the key. A plain copy is.
  const cause = (message: string) => {
    const c = new Error(redact(message));
    c.name = (e as Error)?.name ?? 'Error';
    return { cause: c };
  };
  const raw = redact((e as Error)?.message ?? String(e));
  if (e instanceof APIConnectionTimeoutError)
    return new ProviderError('timeout', 'the LLM request timed out', undefined, undefined, cause(raw));
  if (e instanceof APIConnectionError)
    return new ProviderError(
      'server',
      `cannot reach the LLM provider: ${raw}`,
      undefined,
      undefined,
      cause(raw),
    );
  if (e instanceof APIError) {
    const status = e.status;
    const retryAfterMs = parseRetryAfter(e.headers);
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (e.headers?.get('x-should-retry') === 'false' || (status === 429 && code && NO_CREDIT_CODES.has(code)))
      return new ProviderError(
        'request',
        `the LLM provider refused the request and said not to retry (${status}${code ? `, ${code}` : ''}): ${raw}`,
        status,
        undefined,
        cause(raw),
      );
    if (status === 429)
      return new ProviderError(
        'rate_limited',
        'the LLM provider is rate limiting (429)',
        429,
        retryAfterMs,
        cause(raw),
      );
    if (status === 408)
      return new ProviderError(
        'timeout',
        'the LLM provider timed out the request (408)',
        408,
        retryAfterMs,
        cause(raw),
      );
    if (status !== undefined && status >= 500)
      return new ProviderError(
        'server',
        `the LLM provider failed (${status})`,
        status,
        retryAfterMs,
        cause(raw),
      );
    return new ProviderError(
      'request',
      `the LLM provider refused the request (${status}): ${raw}`,
      status,
      undefined,
      cause(raw),
    );
  }
  return new ProviderError('request', `LLM call failed: ${raw}`, undefined, undefined, cause(raw));
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
