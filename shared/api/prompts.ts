/**
 * The prompt registry's API shapes (zod, for the OpenAPI document and the web app) and the mapping from
 * the registry's read model (shared/prompts/read.ts): dates as ISO strings, at the edge.
 */
import { z } from 'zod';
import type { PromptAgentView, PromptVersionView } from '../prompts/read';
import type { PromptVersionRecord } from '../prompts/registry';

const originSchema = z.enum(['builtin', 'manual', 'learning']);

export const promptScoreSchema = z.object({
  /** Outcomes (closed round trips) whose entry decision used the version: the sample size. */
  count: z.number().int(),
  wins: z.number().int(),
  winRate: z.number().nullable(),
  meanPnlPct: z.number().nullable(),
});

export const promptAgentSchema = z.object({
  agent: z.string(),
  label: z.string(),
  decisionAgent: z.boolean(),
  activeVersion: z.string(),
  activeSince: z.string().nullable(),
  activeSetBy: z.string(),
  builtinVersion: z.string(),
  versions: z.number().int(),
  abVersions: z.array(z.string()),
});
export type PromptAgentDto = z.infer<typeof promptAgentSchema>;

export const promptAgentsSchema = z.object({ agents: z.array(promptAgentSchema) });
export type PromptAgentsDto = z.infer<typeof promptAgentsSchema>;

export const promptVersionSchema = z.object({
  version: z.string(),
  origin: originSchema,
  parent: z.string().nullable(),
  label: z.string().nullable(),
  note: z.string().nullable(),
  firstSeenAt: z.string(),
  active: z.boolean(),
  builtin: z.boolean(),
  inAbTest: z.boolean(),
  chars: z.number().int(),
  scores: z.object({ all: promptScoreSchema, live: promptScoreSchema, backtest: promptScoreSchema }),
});
export type PromptVersionDto = z.infer<typeof promptVersionSchema>;

export const agentPromptsSchema = z.object({
  agent: promptAgentSchema,
  versions: z.array(promptVersionSchema),
});
export type AgentPromptsDto = z.infer<typeof agentPromptsSchema>;

export const promptTextSchema = z.object({
  agent: z.string(),
  version: z.string(),
  origin: originSchema,
  parent: z.string().nullable(),
  label: z.string().nullable(),
  note: z.string().nullable(),
  firstSeenAt: z.string(),
  text: z.string(),
});
export type PromptTextDto = z.infer<typeof promptTextSchema>;

export const promptAgentParamSchema = z.object({
  agent: z.string().regex(/^[a-z_]{1,40}$/, 'agent is a lower-case agent name such as trader'),
});
export const promptVersionParamSchema = promptAgentParamSchema.extend({
  version: z.string().regex(/^[0-9a-f]{12}$/, 'version is a prompt version id: 12 hex digits'),
});

const iso = (ms: number) => new Date(ms).toISOString();

export function promptAgentDto(a: PromptAgentView): PromptAgentDto {
  return { ...a, activeSince: a.activeSince > 0 ? iso(a.activeSince) : null };
}

export function promptVersionDto(v: PromptVersionView): PromptVersionDto {
  return { ...v, firstSeenAt: iso(v.firstSeenAt) };
}

export function promptTextDto(r: PromptVersionRecord): PromptTextDto {
  return { ...r, firstSeenAt: iso(r.firstSeenAt) };
}
