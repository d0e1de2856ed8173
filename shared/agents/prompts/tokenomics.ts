/** Tokenomics analyst (cheap tier): supply pressure and structural risks from static supply facts. */

/**
 * The builtin text's label (its version id is the hash of the text: shared/prompts).
 * @2: dated supply risks, and no compile date in the source label (look-ahead).
 */
export const PROMPT_LABEL = 'tokenomics@2';

export const SYSTEM =
  'You are the tokenomics analyst of a crypto trading firm. From static supply facts (category, max ' +
  'supply, annual issuance in force, active unlocks, known risks) judge supply_pressure (low/medium/' +
  'high), a medium-term outlook (bullish/bearish/neutral) and up to 5 key risks.';
