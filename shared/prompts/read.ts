/**
 * Read model of the prompt registry: every agent with its active, builtin and A/B versions; one agent's
 * versions with their scores; one version with its text. Domain views (epoch ms); the API maps them at
 * the edge (shared/api/prompts.ts).
 */
import { AGENT_LABEL, type AgentName, type ModelAgentName } from '../agents/schemas';
import type { Settings } from '../config/settings';
import type { DbOrTx } from '../db/client';
import { AppError } from '../util/errors';
import { BUILTIN_PROMPTS, isDecisionPromptAgent, isPromptAgent, PROMPT_AGENTS } from './builtin';
import {
  type ActivePrompt,
  activePromptVersions,
  getPromptVersion,
  listPromptVersions,
  type PromptOrigin,
  type PromptVersionRecord,
  promptVersionCounts,
} from './registry';
import { EMPTY_SCORE, type PromptVersionScores, promptScores } from './scores';

const LEARNING_LABELS: Record<string, string> = {
  learning: 'Learning analyst',
  strategy_builder: 'Strategy builder',
};
const labelOf = (agent: ModelAgentName) => AGENT_LABEL[agent as AgentName] ?? LEARNING_LABELS[agent] ?? agent;

export interface PromptAgentView {
  agent: ModelAgentName;
  label: string;
  /** Whether decisions choose this agent's version (the six decision agents). */
  decisionAgent: boolean;
  activeVersion: string;
  activeSince: number;
  activeSetBy: string;
  builtinVersion: string;
  versions: number;
  /** The versions PROMPT_AB tests on live decisions (empty: no test). */
  abVersions: string[];
}

export interface PromptVersionView {
  version: string;
  origin: PromptOrigin;
  parent: string | null;
  label: string | null;
  note: string | null;
  firstSeenAt: number;
  active: boolean;
  builtin: boolean;
  inAbTest: boolean;
  chars: number;
  scores: PromptVersionScores;
}

function checkAgent(agent: string): ModelAgentName {
  if (!isPromptAgent(agent))
    throw new AppError('NOT_FOUND', `agent: no agent ${agent} (agents: ${PROMPT_AGENTS.join(', ')})`, {
      field: 'agent',
      agents: PROMPT_AGENTS,
    });
  return agent;
}

const abOf = (settings: Pick<Settings, 'PROMPT_AB'>, agent: string) =>
  settings.PROMPT_AB.find((t) => t.agent === agent)?.versions ?? [];

/** One agent's registry entry: its active, builtin and A/B versions, and how many it has. */
function agentView(
  agent: ModelAgentName,
  active: Record<ModelAgentName, ActivePrompt>,
  settings: Pick<Settings, 'PROMPT_AB'>,
  versions: number,
): PromptAgentView {
  return {
    agent,
    label: labelOf(agent),
    decisionAgent: isDecisionPromptAgent(agent),
    activeVersion: active[agent].version,
    activeSince: active[agent].since,
    activeSetBy: active[agent].setBy,
    builtinVersion: BUILTIN_PROMPTS[agent].version,
    versions,
    abVersions: abOf(settings, agent),
  };
}

export async function listPromptAgents(
  db: DbOrTx,
  settings: Pick<Settings, 'PROMPT_AB'>,
): Promise<PromptAgentView[]> {
  const [active, counts] = await Promise.all([activePromptVersions(db), promptVersionCounts(db)]);
  return PROMPT_AGENTS.map((agent) => agentView(agent, active, settings, counts.get(agent) ?? 0));
}

export async function agentPromptVersions(
  db: DbOrTx,
  settings: Pick<Settings, 'PROMPT_AB'>,
  agentName: string,
): Promise<{ agent: PromptAgentView; versions: PromptVersionView[] }> {
  const agent = checkAgent(agentName);
  const builtin = BUILTIN_PROMPTS[agent];
  const [records, active, scores] = await Promise.all([
    listPromptVersions(db, agent),
    activePromptVersions(db),
    promptScores(db, agent, { [builtin.label]: builtin.version }),
  ]);
  const ab = abOf(settings, agent);
  const view = (r: PromptVersionRecord): PromptVersionView => ({
    version: r.version,
    origin: r.origin,
    parent: r.parent,
    label: r.label,
    note: r.note,
    firstSeenAt: r.firstSeenAt,
    active: active[agent].version === r.version,
    builtin: r.version === builtin.version,
    inAbTest: ab.includes(r.version),
    chars: r.text.length,
    scores: scores.get(r.version) ?? {
      all: { ...EMPTY_SCORE },
      live: { ...EMPTY_SCORE },
      backtest: { ...EMPTY_SCORE },
    },
  });
  return {
    agent: agentView(agent, active, settings, records.length),
    // Newest first.
    versions: records.map(view).reverse(),
  };
}

export async function promptVersionText(
  db: DbOrTx,
  agentName: string,
  version: string,
): Promise<PromptVersionRecord> {
  const agent = checkAgent(agentName);
  const r = await getPromptVersion(db, agent, version);
  if (!r)
    throw new AppError(
      'NOT_FOUND',
      `version: ${agent} has no prompt version ${version} (see GET /prompts/${agent})`,
      {
        field: 'version',
      },
    );
  return r;
}
