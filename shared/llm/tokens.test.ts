import { countTokens } from 'gpt-tokenizer';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  clearTokenMemo,
  countChatTokens,
  countTextTokens,
  estimateInputTokens,
  TOKEN_MEMO_MAX_CHARS,
  TOKEN_MEMO_MAX_ENTRIES,
  tokenMemoStats,
} from './tokens';

const system = `You are the technical analyst. Answer with JSON only: ${'{"trend":"bullish|bearish|neutral"} '.repeat(20)}`;
const texts = [
  system,
  'short',
  '',
  'héllo wörld — 你好，世界 🚀 '.repeat(10),
  JSON.stringify({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'string' } } }).repeat(3),
];

describe('token counting memo', () => {
  beforeEach(() => clearTokenMemo());

  it('gives the counts of gpt-tokenizer exactly, first time and repeated', () => {
    for (let round = 0; round < 3; round++)
      for (const t of texts) expect(countTextTokens(t)).toBe(countTokens(t));
  });

  it('counts chat messages and estimates the same with and without the memo warm', () => {
    const messages = [
      { role: 'system' as const, content: system },
      { role: 'user' as const, content: `snapshot ${'x'.repeat(100)}` },
    ];
    const cold = countChatTokens(messages);
    const expected = 3 + messages.reduce((n, m) => n + 4 + countTokens(m.content), 0);
    expect(cold).toBe(expected);
    expect(countChatTokens(messages)).toBe(cold);
    const schema = JSON.stringify({ type: 'object', properties: { action: { enum: ['BUY', 'SELL'] } } });
    const est = estimateInputTokens(messages, schema);
    expect(est).toBe(Math.ceil((expected + countTokens(schema)) * 1.25) + 16);
    expect(estimateInputTokens(messages, schema)).toBe(est);
  });

  it('keeps a repeated text and does not keep short ones', () => {
    countTextTokens(system);
    countTextTokens('short');
    expect(tokenMemoStats()).toEqual({ entries: 1, chars: system.length });
  });

  it('stays bounded by entries, keeping the texts that repeat', () => {
    for (let i = 0; i < TOKEN_MEMO_MAX_ENTRIES * 3; i++) {
      countTextTokens(system); // repeats every call: never the least recently used
      countTextTokens(`one-off prompt number ${i} ${'y'.repeat(80)}`);
    }
    const stats = tokenMemoStats();
    expect(stats.entries).toBe(TOKEN_MEMO_MAX_ENTRIES);
    // the repeated text is still there: counting it adds nothing
    countTextTokens(system);
    expect(tokenMemoStats()).toEqual(stats);
    expect(countTextTokens(system)).toBe(countTokens(system));
  });

  it('stays bounded by characters', () => {
    const big = (i: number) => `${i} ${'z '.repeat(100_000)}`; // ~200k chars each
    for (let i = 0; i < 40; i++) expect(countTextTokens(big(i))).toBe(countTokens(big(i)));
    const stats = tokenMemoStats();
    expect(stats.chars).toBeLessThanOrEqual(TOKEN_MEMO_MAX_CHARS);
    expect(stats.entries).toBeLessThan(40);
  });
});
