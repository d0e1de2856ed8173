/**
 * One agent, one call: build its prompt from its input, ask the LLMClient with its schema, and turn the
 * outcome into an AgentResult (failure as a value). The JSON schema's name is the agent's name, which
 * the test server's default responder keys on.
 */
import type { z } from 'zod';
import type { AgentLogRow, LLMClient, LlmCallContext, LlmCallMeta } from '../llm/client';
import { BUILTIN_PROMPTS } from '../prompts/builtin';
import { promptMessages } from './prompts/common';
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

/**
 * A result for an agent that was not called (unavailable, gated, skipped) or whose call threw, with the
 * prompt version the decision assigned it (default: the builtin's).
 */
export function resultWithoutCall(
  llm: Pick<LLMClient, 'provider' | 'route'>,
  agent: AgentName,
  status: AgentStatus,
  reason: string,
  promptVersion: string = BUILTIN_PROMPTS[agent].version,
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
    promptVersion,
    repaired: false,
    cacheHit: false,
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
    latencyMs: 0,
    retries: 0,
  };
}

/** A prompt as a decision uses it: its registry version and its text (shared/prompts/registry.ts). */
export interface AgentPrompt {
  version: string;
  text: string;
}

/** The builtin prompt of an agent (callers outside a decision: benchmarks, tests). */
export function builtinPrompt(agent: AgentName): AgentPrompt {
  const b = BUILTIN_PROMPTS[agent];
  return { version: b.version, text: b.text };
}

/**
 * Call one agent with the prompt version the decision uses (`prompt`: its text is the system message). `ok` -> status ok with the output; abstained and budget_exceeded come back as those
 * statuses. Provider failures after the client's retries are thrown (LlmCallError), for the caller to
 * map (analyst unavailable, no trade) or for Step Functions to retry.
 */
export async function callAgent<A extends AgentName>(
  llm: LLMClient,
  agent: A,
  input: unknown,
  context: LlmCallContext,
  prompt: AgentPrompt = builtinPrompt(agent),
): Promise<TypedAgentResult<A>> {
  return (await call(llm, agent, input, context, prompt, false)).result;
}

/**
 * callAgent for a caller that stores the result and the call's agent_logs row in one write (a decision
 * step): the row comes back as `log` instead of being written by the client. A call that throws was
 * logged by the client already.
 */
export async function callAgentDeferringLog<A extends AgentName>(
  llm: LLMClient,
  agent: A,
  input: unknown,
  context: LlmCallContext,
  prompt: AgentPrompt = builtinPrompt(agent),
): Promise<{ result: TypedAgentResult<A>; log: AgentLogRow | undefined }> {
  return call(llm, agent, input, context, prompt, true);
}

async function call<A extends AgentName>(
  llm: LLMClient,
  agent: A,
  input: unknown,
  context: LlmCallContext,
  prompt: AgentPrompt,
  deferLog: boolean,
): Promise<{ result: TypedAgentResult<A>; log: AgentLogRow | undefined }> {
  const outcome = await llm.call({
    agent,
    promptVersion: prompt.version,
    messages: promptMessages(prompt.text, input),
    schemaName: agent,
    schema: AGENT_OUTPUT_SCHEMAS[agent] as unknown as z.ZodType<AgentOutputs[A]>,
    input,
    context,
    deferLog,
  });
  const result =
    outcome.status === 'ok'
      ? resultFromMeta(agent, outcome.meta, 'ok', outcome.output as Record<string, unknown>, null)
      : resultFromMeta(agent, outcome.meta, outcome.status, null, outcome.reason);
  return { result: result as TypedAgentResult<A>, log: outcome.log };
}
