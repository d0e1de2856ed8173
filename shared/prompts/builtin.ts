/**
 * The prompts the code ships (origin `builtin`) and how a prompt's version id is made. Pure.
 *
 * - Version id = the first 12 hex digits of sha256 of the text (the whole system message the model
 *   reads). Content-addressed: the same text is the same version on every host and in every database,
 *   a changed text is a new version without anyone bumping a number, and registering is idempotent.
 *   12 hex digits (48 bits) make a collision between two texts of one agent practically impossible.
 * - Every model agent has a builtin prompt: the six decision agents (shared/agents/prompts) and the
 *   learning loop's two (`learning`, `strategy_builder`, shared/learning/agents.ts). Only the six decision
 *   agents' versions are chosen per decision (A/B, pins, lessons); the learning agents' are registered so
 *   that their texts and versions are on record beside the others.
 */
import { createHash } from 'node:crypto';
import { BUILTIN_AGENT_PROMPTS } from '../agents/prompts';
import { AGENT_NAMES, type AgentName, LEARNING_AGENT_NAMES, type ModelAgentName } from '../agents/schemas';
import {
  buildLearningMessages,
  buildStrategyBuilderMessages,
  LEARNING_PROMPT_VERSION,
  STRATEGY_BUILDER_PROMPT_VERSION,
} from '../learning/agents';

export const PROMPT_VERSION_HEX = 12;

/** The version id of a prompt text. */
export function promptVersionId(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, PROMPT_VERSION_HEX);
}

/** Every agent with a prompt in the registry. */
export const PROMPT_AGENTS: readonly ModelAgentName[] = [...AGENT_NAMES, ...LEARNING_AGENT_NAMES];
/** The agents whose prompt version a decision chooses (A/B, pins, lessons). */
export const DECISION_PROMPT_AGENTS: readonly AgentName[] = AGENT_NAMES;

export const isPromptAgent = (a: string): a is ModelAgentName =>
  (PROMPT_AGENTS as readonly string[]).includes(a);
export const isDecisionPromptAgent = (a: string): a is AgentName =>
  (DECISION_PROMPT_AGENTS as readonly string[]).includes(a);

export interface BuiltinPrompt {
  agent: ModelAgentName;
  version: string;
  label: string;
  text: string;
}

// The learning prompts' builders take the input as the user message; the system text does not depend on it.
const systemOf = (messages: { role: string; content: string }[]) =>
  messages.find((m) => m.role === 'system')?.content ?? '';

function builtins(): Record<ModelAgentName, BuiltinPrompt> {
  const texts: Record<ModelAgentName, { label: string; text: string }> = {
    ...BUILTIN_AGENT_PROMPTS,
    learning: { label: LEARNING_PROMPT_VERSION, text: systemOf(buildLearningMessages(undefined as never)) },
    strategy_builder: {
      label: STRATEGY_BUILDER_PROMPT_VERSION,
      text: systemOf(buildStrategyBuilderMessages(undefined as never)),
    },
  };
  return Object.fromEntries(
    PROMPT_AGENTS.map((agent) => [
      agent,
      { agent, ...texts[agent], version: promptVersionId(texts[agent].text) },
    ]),
  ) as Record<ModelAgentName, BuiltinPrompt>;
}

/** The builtin prompt of every agent, with its version id. */
export const BUILTIN_PROMPTS: Readonly<Record<ModelAgentName, BuiltinPrompt>> = builtins();
