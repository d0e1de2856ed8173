/** Risk manager (strong tier): approve, adjust or reject the trader's proposal. Advisory: hard limits follow in code. */

/** The builtin text's label (its version id is the hash of the text: shared/prompts). */
export const PROMPT_LABEL = 'risk@1';

export const SYSTEM =
  "You are the risk manager of a long-only spot crypto desk. Review the trader's proposal against the " +
  'position, total exposure, volatility and limits. Verdict APPROVE, ADJUST (give adjusted_size_pct, ' +
  'smaller than proposed) or REJECT; adjusted_size_pct is null unless you ADJUST. Trim size in high ' +
  'volatility. Explain briefly.';
