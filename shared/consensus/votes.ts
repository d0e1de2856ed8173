/**
 * Consensus voting (seed 003's AgentOrchestrator): each voter's structured output becomes one vote,
 * BUY, SELL or HOLD with a confidence, and the firm calls the trader only when MIN_AGREEMENT votes
 * agree on BUY or on SELL. Pure: no host, no database, no model call (the votes are read from answers
 * the agents already gave, so consensus adds no call: a decision still makes at most 6).
 *
 * The vote mapping, one rule per voter (documented in the README, tested in votes.test.ts):
 * - technical:  trend bullish -> BUY, bearish -> SELL, neutral -> HOLD; confidence = signal_strength.
 * - sentiment:  sentiment bullish -> BUY, bearish -> SELL, neutral -> HOLD; confidence = |score|.
 * - tokenomics: outlook bullish -> BUY, bearish -> SELL, neutral -> HOLD; it gives no strength, so the
 *               confidence comes from its supply pressure: 0.7 when the pressure agrees with the
 *               outlook (low for bullish, high for bearish), 0.3 when it contradicts it, else 0.5.
 * - researcher: stance bullish -> BUY, bearish -> SELL, neutral -> HOLD; confidence = its confidence.
 *
 * The tally: a voter that is not `ok` (unavailable, abstained, budget refused, error) does not vote and
 * is listed as absent with its status; `voted` says how many did. The outcome is BUY when at least
 * MIN_AGREEMENT votes say BUY and more say BUY than SELL (SELL likewise); anything else, including a
 * tie of two quorums, is no consensus. Confidence does not weigh the count: one vote per voter, as the
 * seed's "2 of 3 must agree"; it is recorded so the trader and the record can see how firm each was.
 */
import type {
  AgentResult,
  ResearcherOutput,
  SentimentOutput,
  TechnicalOutput,
  TokenomicsOutput,
} from '../agents/schemas';

export const VOTERS = ['technical', 'sentiment', 'tokenomics', 'researcher'] as const;
export type Voter = (typeof VOTERS)[number];
export type Vote = 'BUY' | 'SELL' | 'HOLD';

export interface CastVote {
  voter: Voter;
  vote: Vote;
  /** 0-1, from the voter's own output (see the mapping above). */
  confidence: number;
}

export interface ConsensusResult {
  /** The configured voters, in order. */
  voters: Voter[];
  minAgreement: number;
  votes: CastVote[];
  /** Voters that did not vote, with their status. */
  absent: { voter: Voter; status: string }[];
  voted: number;
  tally: Record<Vote, number>;
  /** The side that reached the quorum, or null (no consensus). */
  agreed: 'BUY' | 'SELL' | null;
  reached: boolean;
  /** One sentence: what was decided and why. */
  reason: string;
}

const STANCE_VOTE: Record<string, Vote> = { bullish: 'BUY', bearish: 'SELL', neutral: 'HOLD' };

const clamp01 = (x: number) => Math.max(0, Math.min(1, Number.isFinite(x) ? x : 0));

/** The vote a voter's ok output casts; null when the result is not ok (the voter does not vote). */
export function voteOf(voter: Voter, result: AgentResult | null | undefined): CastVote | null {
  if (result?.status !== 'ok' || !result.output) return null;
  const o = result.output;
  switch (voter) {
    case 'technical': {
      const t = o as TechnicalOutput;
      return { voter, vote: STANCE_VOTE[t.trend] ?? 'HOLD', confidence: clamp01(t.signal_strength) };
    }
    case 'sentiment': {
      const s = o as SentimentOutput;
      return { voter, vote: STANCE_VOTE[s.sentiment] ?? 'HOLD', confidence: clamp01(Math.abs(s.score)) };
    }
    case 'tokenomics': {
      const t = o as TokenomicsOutput;
      const vote = STANCE_VOTE[t.outlook] ?? 'HOLD';
      const agrees =
        (vote === 'BUY' && t.supply_pressure === 'low') || (vote === 'SELL' && t.supply_pressure === 'high');
      const contradicts =
        (vote === 'BUY' && t.supply_pressure === 'high') || (vote === 'SELL' && t.supply_pressure === 'low');
      return { voter, vote, confidence: agrees ? 0.7 : contradicts ? 0.3 : 0.5 };
    }
    case 'researcher': {
      const r = o as ResearcherOutput;
      return { voter, vote: STANCE_VOTE[r.stance] ?? 'HOLD', confidence: clamp01(r.confidence) };
    }
  }
}

/** Count the votes of the configured voters and decide whether the firm has a consensus. */
export function tallyVotes(
  results: Partial<Record<Voter, AgentResult | null>>,
  opts: { voters: readonly Voter[]; minAgreement: number },
): ConsensusResult {
  const votes: CastVote[] = [];
  const absent: ConsensusResult['absent'] = [];
  for (const voter of opts.voters) {
    const v = voteOf(voter, results[voter]);
    if (v) votes.push(v);
    else absent.push({ voter, status: results[voter]?.status ?? 'missing' });
  }
  const tally: Record<Vote, number> = { BUY: 0, SELL: 0, HOLD: 0 };
  for (const v of votes) tally[v.vote]++;
  const min = opts.minAgreement;
  const agreed: ConsensusResult['agreed'] =
    tally.BUY >= min && tally.BUY > tally.SELL
      ? 'BUY'
      : tally.SELL >= min && tally.SELL > tally.BUY
        ? 'SELL'
        : null;
  const counts = `BUY ${tally.BUY}, SELL ${tally.SELL}, HOLD ${tally.HOLD}; ${votes.length} of ${opts.voters.length} voted`;
  const reason = agreed
    ? `consensus ${agreed}: ${tally[agreed]} votes agree (MIN_AGREEMENT ${min}; ${counts})`
    : `no_consensus: neither BUY nor SELL has ${min} agreeing votes and a majority over the other (${counts})`;
  return {
    voters: [...opts.voters],
    minAgreement: min,
    votes,
    absent,
    voted: votes.length,
    tally,
    agreed,
    reached: agreed !== null,
    reason,
  };
}
