/**
 * Token counting with gpt-tokenizer (o200k_base, the encoding of the gpt-4o/4.1/5 families).
 *
 * Two uses: the offline provider reports the tokens its prompts WOULD have used, so cost estimates stay
 * meaningful with no account; and the budget reserves an upper bound of a call's input before it is
 * sent. For the second, other tokenizers (OpenRouter models, local models) may count more than
 * o200k_base does, so the reservation adds a margin.
 *
 * Counting is pure and costly (a few percent of an offline backtest's CPU), and most of what is counted
 * repeats: every call of an agent sends the same system prompt and the same JSON schema. So counts are
 * memoized by the exact text in a small LRU map, bounded by entries and by the characters it holds;
 * texts too short to be worth it, or too long to hold, are counted every time. Same counts, always.
 */
import { countTokens } from 'gpt-tokenizer';
import { BoundedCache } from '../util/bounded-cache';

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

/** The memo's bounds: at most this many texts, holding at most this many characters in all. */
export const TOKEN_MEMO_MAX_ENTRIES = 256;
export const TOKEN_MEMO_MAX_CHARS = 4_000_000;
/** Shorter texts are counted directly (cheaper than keeping them); longer ones are never kept. */
const MEMO_MIN_CHARS = 64;
const MEMO_MAX_TEXT_CHARS = 400_000;

/** Text -> token count, bounded by entries and by the characters of the texts it holds. */
const memo = new BoundedCache<string, number>(TOKEN_MEMO_MAX_ENTRIES, {
  maxWeight: TOKEN_MEMO_MAX_CHARS,
  weigh: (text) => text.length,
});

function memoizedCount(text: string): number {
  if (text.length < MEMO_MIN_CHARS || text.length > MEMO_MAX_TEXT_CHARS) return countTokens(text);
  // A hit is refreshed: the texts that repeat (system prompts, schemas) stay while one-off prompts pass.
  let n = memo.get(text);
  if (n === undefined) {
    n = countTokens(text);
    memo.set(text, n);
  }
  return n;
}

/** What the memo holds (tests). */
export function tokenMemoStats(): { entries: number; chars: number } {
  return { entries: memo.size, chars: memo.weight };
}

/** Empty the memo (tests). */
export function clearTokenMemo(): void {
  memo.clear();
}

export function countTextTokens(text: string): number {
  return memoizedCount(text);
}

/** Prompt tokens of a chat request as OpenAI counts them (o200k_base). */
export function countChatTokens(messages: readonly ChatMessage[]): number {
  let n = REPLY_PRIMING_TOKENS;
  for (const m of messages) n += TOKENS_PER_MESSAGE + memoizedCount(m.content);
  return n;
}

/** An upper bound of the prompt tokens any provider will bill for these messages (+ the schema text). */
export function estimateInputTokens(messages: readonly ChatMessage[], schemaText = ''): number {
  const base = countChatTokens(messages) + (schemaText ? memoizedCount(schemaText) : 0);
  return Math.ceil(base * ESTIMATE_MARGIN) + ESTIMATE_SLACK_TOKENS;
}
