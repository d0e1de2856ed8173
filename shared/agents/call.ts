/**
 * One agent, one call: build its prompt from its input, ask the LLMClient with its schema, and turn the
 * outcome into an AgentResult (failure as a value). The JSON schema's name is the agent's name, which
 * the test server's default responder keys on.
 */
import type { z } from 'zod';
import type { LLMClient, LlmCallContext, LlmCallMeta } from '../llm/client';
import type { ChatMessage } from '../llm/tokens';
import { PROMPTS } from './prompts';
import {
  AGENT_OUTPUT_SCHEMAS,
  type AgentName,
  type AgentOutputs,
  type AgentResult,
  type AgentStatus,
} from './schemas';

/** An AgentResult whose output, when ok, is the agent's typed output. */
export type TypedAgentResult<A extends AgentName> = AgentResult & {
  agent: A;
  output: AgentOutputs[A] | null;
};

export function resultFromMeta(
  agent: AgentName,
  meta: LlmCallMeta,
  status: AgentStatus,
  output: Record<string, unknown> | null,
  reason: string | null,
): AgentResult {
  return {
    agent,
    status,
    output,
    reason,
    provider: meta.provider,
    tier: meta.tier,
    model: meta.model,
    promptVersion: meta.promptVersion,
    repaired: meta.repaired,
    cacheHit: meta.cacheHit,
    tokensIn: meta.tokensIn,
    tokensOut: meta.tokensOut,
    costUsd: meta.costUsd,
    latencyMs: meta.latencyMs,
    retries: meta.retries,
    ...(meta.costKnown ? {} : { costKnown: false }),
  };
}

/** A result for an agent that was not called (unavailable, gated, skipped) or whose call threw. */
export function resultWithoutCall(
  llm: Pick<LLMClient, 'provider' | 'route'>,
  agent: AgentName,
  status: AgentStatus,
  reason: string,
): AgentResult {
  const { tier, model } = llm.route(agent);
  return {
    agent,
    status,
    output: null,
    reason,
    provider: llm.provider,
    tier,
    model,
    promptVersion: PROMPTS[agent].PROMPT_VERSION,
    repaired: false,
    cacheHit: false,
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
    latencyMs: 0,
    retries: 0,
  };
}

/** The messages an agent's prompt builder makes for an input. */
export function buildMessages(agent: AgentName, input: unknown): ChatMessage[] {
  return (PROMPTS[agent].build as (i: unknown) => ChatMessage[])(input);
}

/**
 * Call one agent. `ok` -> status ok with the output; abstained and budget_exceeded come back as those
 * statuses. Provider failures after the client's retries are thrown (LlmCallError), for the caller to
 * map (analyst unavailable, no trade) or for Step Functions to retry.
 */
export async function callAgent<A extends AgentName>(
  llm: LLMClient,
  agent: A,
  input: unknown,
  context: LlmCallContext,
): Promise<TypedAgentResult<A>> {
  const outcome = await llm.call({
    agent,
    promptVersion: PROMPTS[agent].PROMPT_VERSION,
    messages: buildMessages(agent, input),
    schemaName: agent,
    schema: AGENT_OUTPUT_SCHEMAS[agent] as unknown as z.ZodType<AgentOutputs[A]>,
    input,
    context,
  });
  if (outcome.status === 'ok')
    return resultFromMeta(
      agent,
      outcome.meta,
      'ok',
      outcome.output as Record<string, unknown>,
      null,
    ) as TypedAgentResult<A>;
  return resultFromMeta(agent, outcome.meta, outcome.status, null, outcome.reason) as TypedAgentResult<A>;
}
