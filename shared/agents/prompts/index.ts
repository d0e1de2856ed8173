/** The six prompt builders by agent name, with their versions (recorded with every decision). */
import * as researcher from './researcher';
import * as risk from './risk';
import * as sentiment from './sentiment';
import * as technical from './technical';
import * as tokenomics from './tokenomics';
import * as trader from './trader';

export const PROMPTS = { technical, sentiment, tokenomics, researcher, trader, risk } as const;

export const PROMPT_VERSIONS = {
  technical: technical.PROMPT_VERSION,
  sentiment: sentiment.PROMPT_VERSION,
  tokenomics: tokenomics.PROMPT_VERSION,
  researcher: researcher.PROMPT_VERSION,
  trader: trader.PROMPT_VERSION,
  risk: risk.PROMPT_VERSION,
} as const;
