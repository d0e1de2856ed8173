/**
 * The class of a decision: what the firm did, said in one word the backtests, studies, API, CLI and web
 * app share.
 *
 * - decided: the firm decided BUY, SELL or HOLD (a gated HOLD, a trader HOLD, a risk REJECT, a hard
 *   limit that shrank the order to nothing: all decided);
 * - abstained: the model answered, but nothing valid came of it (an answer still invalid after the one
 *   repair, no analyst with usable data). Stored status `no_trade`: the firm made no trade on purpose;
 * - failed: the decision could not be made: the model provider, Binance or the token budget failed it
 *   (status `failed` or `budget_exceeded`, with its error code). Never a HOLD: it is not the firm's
 *   choice, and a backtest's metrics do not count it as one.
 *
 * The class is a pure function of the stored status and error code (no column of its own), so decisions
 * stored before it existed read the same way: a `no_trade` whose code names a provider, Binance or the
 * budget was a failure recorded as no trade, and is read as `failed`.
 */
import { llmProviderErrorCode } from '../llm/errors';

export const DECISION_CLASSES = ['decided', 'abstained', 'failed'] as const;
export type DecisionClass = (typeof DECISION_CLASSES)[number];

export interface DecisionCounts {
  decided: number;
  abstained: number;
  failed: number;
}

/** Codes that mean the decision was not made: an upstream or the budget failed it. */
export function isFailureCode(code: string | null | undefined): boolean {
  if (!code) return false;
  return (
    llmProviderErrorCode(code) !== undefined || code.startsWith('UPSTREAM_') || code === 'BUDGET_EXCEEDED'
  );
}

/** The class of a finished decision, or null while it is still pending or running. */
export function decisionClassOf(status: string, errorCode?: string | null): DecisionClass | null {
  switch (status) {
    case 'completed':
      return 'decided';
    case 'failed':
    case 'budget_exceeded':
      return 'failed';
    case 'no_trade':
      return isFailureCode(errorCode) ? 'failed' : 'abstained';
    default:
      return null;
  }
}

export function countClasses(classes: readonly (DecisionClass | null)[]): DecisionCounts {
  const counts: DecisionCounts = { decided: 0, abstained: 0, failed: 0 };
  for (const c of classes) if (c) counts[c]++;
  return counts;
}
