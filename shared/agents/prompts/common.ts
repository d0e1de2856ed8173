/**
 * Shared by the prompt builders: the user message is the agent's input as compact JSON (numbers, no
 * candle dumps), and every system prompt ends with the same output discipline.
 */
import type { ChatMessage } from '../../llm/tokens';

export const OUTPUT_RULES =
  'Answer with one JSON object in the required schema and nothing else. Use only the data given; ' +
  'if it does not support a view, say neutral with low strength. Reasons are short and cite the numbers.';

export function messages(system: string, input: unknown): ChatMessage[] {
  return [
    { role: 'system', content: `${system}\n${OUTPUT_RULES}` },
    { role: 'user', content: JSON.stringify(input) },
  ];
}
