/**
 * Token counting with gpt-tokenizer (o200k_base, the encoding of the gpt-4o/4.1/5 families).
 *
 * Two uses: the offline provider reports the tokens its prompts WOULD have used, so cost estimates stay
 * meaningful with no account; and the budget reserves an upper bound of a call's input before it is
 * sent. For the second, other tokenizers (OpenRouter models, local models) may count more than
 * o200k_base does, so the reservation adds a margin.
 */
import { countTokens } from 'gpt-tokenizer';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** OpenAI's chat format adds a few tokens per message (role and separators) and 3 to prime the reply. */
const TOKENS_PER_MESSAGE = 4;
const REPLY_PRIMING_TOKENS = 3;
/** Headroom for tokenizers that split text more finely than o200k_base. */
const ESTIMATE_MARGIN = 1.25;
const ESTIMATE_SLACK_TOKENS = 16;

export function countTextTokens(text: string): number {
  return countTokens(text);
}

/** Prompt tokens of a chat request as OpenAI counts them (o200k_base). */
export function countChatTokens(messages: readonly ChatMessage[]): number {
  let n = REPLY_PRIMING_TOKENS;
  for (const m of messages) n += TOKENS_PER_MESSAGE + countTokens(m.content);
  return n;
}

/** An upper bound of the prompt tokens any provider will bill for these messages (+ the schema text). */
export function estimateInputTokens(messages: readonly ChatMessage[], schemaText = ''): number {
  const base = countChatTokens(messages) + (schemaText ? countTokens(schemaText) : 0);
  return Math.ceil(base * ESTIMATE_MARGIN) + ESTIMATE_SLACK_TOKENS;
}
