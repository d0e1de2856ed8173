/**
 * The final decision, as a pure function of the stored agent results: gating, the trader's proposal,
 * the risk manager's verdict, then the hard limits in code. The risk manager is advisory: it can only
 * shrink or veto; the limits below (and planOrder's, for a live fill) are enforced whatever it said,
 * and every clamp is recorded.
 *
 * Outcomes:
 * - budget_exceeded: a call the decision needed was refused by the daily budget (no final decision:
 *   never a silent HOLD);
 * - failed: no analyst answered because the model provider failed them (each one called was unavailable
 *   with a provider error): the error names that failure (UPSTREAM_LLM, UPSTREAM_LLM_RATE_LIMITED,
 *   LLM_TIMEOUT), there is no final decision (never a HOLD: the firm did not decide), and the API reports
 *   it as the upstream failure it is. (A researcher, trader or risk manager whose call THREW is recorded
 *   failed by recordNoTrade in steps.ts; it never reaches this function.)
 * - no_trade (class `abstained`): the researcher, trader or risk manager answered but nothing valid came
 *   of it (abstained), or no analyst had usable data; the final action is HOLD with the reason, and the
 *   error is recorded;
 * - completed: HOLD (gated, no consensus, trader HOLD, a trader against the consensus, risk REJECT) or a
 *   BUY/SELL with its size. In consensus mode a vote without quorum is HOLD with reason `no_consensus:`
 *   (gated: the trader and the risk manager were not called); a reached consensus fixes the side.
 * A risk manager that abstains means no trade, on purpose: its review is part of the firm's process, and
 * trading without it would be trading on the trader's word alone.
 */

import type { AgentResult, ResearcherOutput, RiskOutput, TraderOutput } from '../agents/schemas';
import type { ConsensusResult } from '../consensus/votes';
import { llmProviderErrorCode } from '../llm/errors';
import { CLAMP_UNIT_PCT } from '../portfolio/order';

export interface ClampRecord {
  rule: string;
  requested: number | null;
  allowed: number | null;
  /** Unit of requested/allowed: % of equity for the sizing rules here, an asset code for order rules. */
  unit?: string;
  reason: string;
}

export interface FinalDecision {
  action: 'BUY' | 'SELL' | 'HOLD';
  sizePct: number;
  gated: boolean;
  reason: string;
  clamps: ClampRecord[];
  /**
   * A BUY's stop-loss and take-profit %: the trader's, or where it gave none the default of the strategy
   * version the decision ran under (defaultStopLossPct / defaultTakeProfitPct). Absent on SELL and HOLD.
   */
  stops?: {
    stopLossPct: number;
    takeProfitPct: number;
    source: { stopLoss: 'trader' | 'strategy'; takeProfit: 'trader' | 'strategy' };
  };
}

/** Attach a BUY's stops: the trader's where it gave them, else the strategy version's defaults. */
export function withStops(
  final: FinalDecision,
  trader: { stop_loss_pct?: number | null; take_profit_pct?: number | null } | null | undefined,
  defaults: { defaultStopLossPct: number; defaultTakeProfitPct: number },
): FinalDecision {
  if (final.action !== 'BUY') return final;
  const sl = trader?.stop_loss_pct ?? null;
  const tp = trader?.take_profit_pct ?? null;
  return {
    ...final,
    stops: {
      stopLossPct: sl ?? defaults.defaultStopLossPct,
      takeProfitPct: tp ?? defaults.defaultTakeProfitPct,
      source: {
        stopLoss: sl === null ? 'strategy' : 'trader',
        takeProfit: tp === null ? 'strategy' : 'trader',
      },
    },
  };
}

export type FinalOutcome =
  | { status: 'completed'; final: FinalDecision }
  | { status: 'no_trade'; final: FinalDecision; error: { code: string; message: string } }
  | { status: 'budget_exceeded'; final: null; error: { code: 'BUDGET_EXCEEDED'; message: string } }
  | { status: 'failed'; final: null; error: { code: string; message: string } };

export interface FinalInputs {
  technical?: AgentResult | null;
  sentiment?: AgentResult | null;
  tokenomics?: AgentResult | null;
  researcher?: AgentResult | null;
  trader?: AgentResult | null;
  risk?: AgentResult | null;
  /** The vote of a consensus-mode decision (absent or null in pipeline mode). */
  consensus?: ConsensusResult | null;
}

const HOLD = (reason: string, gated = false): FinalDecision => ({
  action: 'HOLD',
  sizePct: 0,
  gated,
  reason,
  clamps: [],
});

function failure(agent: string, r: AgentResult | null | undefined): { code: string; message: string } {
  if (!r) return { code: 'AGENT_MISSING', message: `${agent} produced no result` };
  return {
    code:
      r.status === 'abstained'
        ? 'LLM_INVALID_OUTPUT'
        : r.status === 'error'
          ? 'AGENT_ERROR'
          : r.status.toUpperCase(),
    message: `${agent} ${r.status}${r.reason ? `: ${r.reason}` : ''}`,
  };
}

/** An unavailable analyst's reason, as markAnalystUnavailable records it: `CODE: message`. */
const CAUGHT_REASON = /^([A-Za-z_]+): ([\s\S]*)$/;

/**
 * The provider failure that left the firm without any analyst, or undefined when that is not why: an
 * analyst that answered (ok) or whose answer was unusable (abstained) means the provider was up.
 * Analysts unavailable for lack of data were never called and do not count either way.
 */
export function analystsProviderFailure(
  analysts: readonly (AgentResult | null | undefined)[],
): { code: string; message: string } | undefined {
  let first: { code: string; message: string } | undefined;
  for (const r of analysts) {
    if (!r) continue;
    if (r.status === 'ok' || r.status === 'abstained') return undefined;
    const m = r.status === 'unavailable' ? CAUGHT_REASON.exec(r.reason ?? '') : null;
    const code = m ? llmProviderErrorCode(m[1]!) : undefined;
    if (code && !first) first = { code, message: `no analyst could answer: ${r.agent}: ${m![2]}` };
  }
  return first;
}

export function combineFinal(a: FinalInputs, limits: { maxPositionPct: number }): FinalOutcome {
  const refused = (['researcher', 'trader', 'risk'] as const).find((k) => a[k]?.status === 'budget_exceeded');
  const analysts = [a.technical, a.sentiment, a.tokenomics];
  const noAnalyst = !analysts.some((r) => r?.status === 'ok');
  const analystRefused = analysts.some((r) => r?.status === 'budget_exceeded');
  if (refused || (noAnalyst && analystRefused)) {
    const who = refused ?? 'the analysts';
    const refusal = refused ? a[refused] : analysts.find((r) => r?.status === 'budget_exceeded');
    // Which budget refused (tokens or dollars, or an unpriced model under a dollar budget) is in the reason.
    const why = (refusal?.reason ?? '').replace(/^BUDGET_EXCEEDED: /, '');
    const byUsd = /DAILY_USD_BUDGET/.test(why);
    return {
      status: 'budget_exceeded',
      final: null,
      error: {
        code: 'BUDGET_EXCEEDED',
        message: `the daily ${byUsd ? 'dollar' : 'token'} budget refused ${who}: no decision was made${why ? ` (${why})` : ''}`,
      },
    };
  }
  const researcher = a.researcher;
  if (researcher?.status !== 'ok') {
    const providerFailure = noAnalyst ? analystsProviderFailure(analysts) : undefined;
    if (providerFailure) return { status: 'failed', final: null, error: providerFailure };
    const error = noAnalyst
      ? { code: 'NO_ANALYSTS', message: 'no analyst was available, so the researcher had nothing to weigh' }
      : failure('researcher', researcher);
    return { status: 'no_trade', final: HOLD(`no trade: ${error.message}`), error };
  }
  if (a.consensus && !a.consensus.reached)
    return { status: 'completed', final: HOLD(a.consensus.reason, true) };
  if (a.trader?.status === 'gated') {
    const r = researcher.output as ResearcherOutput;
    return {
      status: 'completed',
      final: HOLD(`gated: researcher confidence ${r.confidence} below the threshold`, true),
    };
  }
  const trader = a.trader;
  if (trader?.status !== 'ok') {
    const error = failure('trader', trader);
    return { status: 'no_trade', final: HOLD(`no trade: ${error.message}`), error };
  }
  const proposal = trader.output as TraderOutput;
  if (proposal.action === 'HOLD')
    return { status: 'completed', final: HOLD(`trader: ${proposal.reasons[0]}`) };
  // The vote decided the side: a trader may decline it (HOLD) but not trade against it.
  if (a.consensus?.agreed && proposal.action !== a.consensus.agreed)
    return {
      status: 'completed',
      final: HOLD(`trader proposed ${proposal.action} against the consensus ${a.consensus.agreed}: no trade`),
    };

  const risk = a.risk;
  if (risk?.status !== 'ok') {
    const error = failure('risk manager', risk);
    return { status: 'no_trade', final: HOLD(`no trade: ${error.message}`), error };
  }
  const review = risk.output as RiskOutput;
  if (review.verdict === 'REJECT')
    return { status: 'completed', final: HOLD(`risk manager rejected: ${review.explanation}`) };

  const clamps: ClampRecord[] = [];
  let size = proposal.size_pct;
  if (review.verdict === 'ADJUST' && review.adjusted_size_pct !== null) {
    if (review.adjusted_size_pct <= size) size = review.adjusted_size_pct;
    else
      clamps.push({
        rule: 'RISK_MAY_ONLY_REDUCE',
        requested: review.adjusted_size_pct,
        allowed: size,
        unit: CLAMP_UNIT_PCT,
        reason: 'the risk manager may shrink a proposal, not enlarge it',
      });
  }
  if (proposal.action === 'BUY' && size > limits.maxPositionPct) {
    clamps.push({
      rule: 'MAX_POSITION_SIZE_PCT',
      requested: size,
      allowed: limits.maxPositionPct,
      unit: CLAMP_UNIT_PCT,
      reason: `a buy may not exceed MAX_POSITION_SIZE_PCT (${limits.maxPositionPct}% of equity)`,
    });
    size = limits.maxPositionPct;
  }
  if (size <= 0) return { status: 'completed', final: { ...HOLD('size reduced to 0'), clamps } };
  const why =
    review.verdict === 'ADJUST'
      ? `trader ${proposal.action} ${proposal.size_pct}%, risk manager adjusted to ${review.adjusted_size_pct}%`
      : `trader ${proposal.action} ${proposal.size_pct}%, approved by the risk manager`;
  return {
    status: 'completed',
    final: { action: proposal.action, sizePct: size, gated: false, reason: why, clamps },
  };
}
