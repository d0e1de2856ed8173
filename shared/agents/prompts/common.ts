/**
 * Shared by the prompts: the user message is the agent's input as compact JSON (numbers, no candle
 * dumps), and every builtin system prompt ends with the same output discipline.
 */
import type { ChatMessage } from '../../llm/tokens';

export const OUTPUT_RULES =
  'Answer with one JSON object in the required schema and nothing else. Use only the data given; ' +
  'if it does not support a view, say neutral with low strength. Reasons are short and cite the numbers.';

/** A builtin prompt's whole system text: the agent's part and the output discipline. */
export function systemText(system: string): string {
  return `${system}\n${OUTPUT_RULES}`;
}

export function messages(system: string, input: unknown): ChatMessage[] {
  return promptMessages(systemText(system), input);
}

/**
 * The messages of one call from a prompt's registered text (exactly the system message the model reads,
 * see shared/prompts) and the agent's input.
 */
export function promptMessages(text: string, input: unknown): ChatMessage[] {
  return [
    { role: 'system', content: text },
    { role: 'user', content: JSON.stringify(input) },
  ];
}
