/**
 * The six decision agents' builtin prompts: the system text each one reads (its template; the user
 * message is the input as JSON) and its human label. The prompt registry (shared/prompts) registers these
 * at start as origin `builtin`, versioned by a hash of the text, and a decision uses the version the
 * registry assigns it (builtin, or a manual or learning version).
 */
import type { AgentName } from '../schemas';
import { systemText } from './common';
import * as researcher from './researcher';
import * as risk from './risk';
import * as sentiment from './sentiment';
import * as technical from './technical';
import * as tokenomics from './tokenomics';
import * as trader from './trader';

const MODULES = { technical, sentiment, tokenomics, researcher, trader, risk } as const;

/** Builtin prompt per decision agent: the whole system text and its label (e.g. `trader@1`). */
export const BUILTIN_AGENT_PROMPTS: Record<AgentName, { label: string; text: string }> = Object.fromEntries(
  Object.entries(MODULES).map(([agent, m]) => [agent, { label: m.PROMPT_LABEL, text: systemText(m.SYSTEM) }]),
) as Record<AgentName, { label: string; text: string }>;
