/**
 * A/B tests of prompt versions on live decisions (`PROMPT_AB`), pure.
 *
 * Setting: `PROMPT_AB=trader:v1,v2` tests two (or more) versions of one agent's prompt; several agents
 * are separated by `;`, e.g. `PROMPT_AB=trader:3f9a1c0b2d4e,8c1d22aa0f13;researcher:0b7e6c5d4a39,1e2f3a4b5c6d`.
 * Versions are registry version ids (12 hex digits, GET /prompts/{agent}); the agents are the six
 * decision agents. Every version must exist in the registry: the host refuses to start otherwise
 * (checked after the builtin prompts are registered, shared/prompts/registry.ts).
 *
 * Assignment: arm = uint32 of the first 4 bytes of sha256(`${decisionId}:${agent}`) modulo the number of
 * versions. Deterministic (a decision always gets the same arm, on every host and on retry), about even
 * over random decision ids, and independent between agents: the agent is in the hash, so two agents
 * under test are not always on the same arm index (which would confound their effects).
 * Only LIVE decisions are assigned arms; backtests use the active versions or the ones they pin
 * (`prompt_versions`), so their results stay reproducible.
 */
import { createHash } from 'node:crypto';
import { AGENT_NAMES, type AgentName } from '../agents/schemas';

/** A registry version id: the first 12 hex digits of sha256(text). */
export const PROMPT_VERSION_RE = /^[0-9a-f]{12}$/;

export interface PromptAbTest {
  agent: AgentName;
  versions: string[];
}

/** Parse `agent:v1,v2[;agent:v1,v2...]`; throws an Error whose message says what is wrong. */
export function parsePromptAb(value: string): PromptAbTest[] {
  const tests: PromptAbTest[] = [];
  for (const part of value
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    if (colon < 0)
      throw new Error(`"${part}" is not agent:version,version (e.g. trader:3f9a1c0b2d4e,8c1d22aa0f13)`);
    const agent = part.slice(0, colon).trim();
    if (!(AGENT_NAMES as readonly string[]).includes(agent))
      throw new Error(`"${agent}" is not a decision agent (one of ${AGENT_NAMES.join(', ')})`);
    if (tests.some((t) => t.agent === agent)) throw new Error(`${agent} is listed twice`);
    const versions = part
      .slice(colon + 1)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const v of versions)
      if (!PROMPT_VERSION_RE.test(v))
        throw new Error(
          `${agent}: "${v}" is not a prompt version id (12 hex digits; see GET /prompts/${agent})`,
        );
    if (new Set(versions).size !== versions.length) throw new Error(`${agent}: a version is listed twice`);
    if (versions.length < 2) throw new Error(`${agent}: an A/B test needs at least two versions`);
    tests.push({ agent: agent as AgentName, versions });
  }
  return tests;
}

/** The arm (index into `armCount` versions) of a decision for an agent (see header). */
export function abArm(decisionId: string, agent: string, armCount: number): number {
  const digest = createHash('sha256').update(`${decisionId}:${agent}`).digest();
  return digest.readUInt32BE(0) % armCount;
}

/** The version of each agent under test for a live decision. */
export function abAssignment(
  decisionId: string,
  tests: readonly PromptAbTest[],
): Partial<Record<AgentName, string>> {
  const out: Partial<Record<AgentName, string>> = {};
  for (const t of tests) out[t.agent] = t.versions[abArm(decisionId, t.agent, t.versions.length)]!;
  return out;
}
