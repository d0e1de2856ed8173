import { describe, expect, it } from 'vitest';
import type { AgentResult } from '../agents/schemas';
import { tallyVotes, VOTERS, voteOf } from './votes';

function ok(agent: AgentResult['agent'], output: Record<string, unknown>): AgentResult {
  return {
    agent,
    status: 'ok',
    output,
    reason: null,
    provider: 'offline',
    tier: 'cheap',
    model: 'offline-rules',
    promptVersion: `${agent}@1`,
    repaired: false,
    cacheHit: false,
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
    latencyMs: 0,
    retries: 0,
  };
}
const tech = (trend: string, strength = 0.6) =>
  ok('technical', {
    trend,
    momentum: 'flat',
    condition: 'neutral',
    regime: 'sideways',
    signal_strength: strength,
    reasons: ['x'],
  });
const sent = (sentiment: string, score: number) =>
  ok('sentiment', { sentiment, score, key_themes: [], data_note: '', reasons: ['x'] });
const toke = (outlook: string, supply_pressure: string) =>
  ok('tokenomics', { outlook, supply_pressure, key_risks: [], reasons: ['x'] });
const res = (stance: string, confidence: number) =>
  ok('researcher', { stance, thesis: 't', confidence, top_risks: ['r'], justification: 'j' });
const opts = { voters: VOTERS, minAgreement: 2 };

describe('the vote mapping', () => {
  it('maps each voter stance to BUY/SELL/HOLD with the documented confidence', () => {
    expect(voteOf('technical', tech('bullish', 0.7))).toEqual({
      voter: 'technical',
      vote: 'BUY',
      confidence: 0.7,
    });
    expect(voteOf('technical', tech('bearish', 0.2))).toMatchObject({ vote: 'SELL', confidence: 0.2 });
    expect(voteOf('sentiment', sent('bearish', -0.45))).toMatchObject({ vote: 'SELL', confidence: 0.45 });
    expect(voteOf('sentiment', sent('neutral', 0.05))).toMatchObject({ vote: 'HOLD', confidence: 0.05 });
    expect(voteOf('tokenomics', toke('bullish', 'low'))).toMatchObject({ vote: 'BUY', confidence: 0.7 });
    expect(voteOf('tokenomics', toke('bullish', 'high'))).toMatchObject({ vote: 'BUY', confidence: 0.3 });
    expect(voteOf('tokenomics', toke('bearish', 'high'))).toMatchObject({ vote: 'SELL', confidence: 0.7 });
    expect(voteOf('tokenomics', toke('neutral', 'low'))).toMatchObject({ vote: 'HOLD', confidence: 0.5 });
    expect(voteOf('researcher', res('bullish', 0.81))).toMatchObject({ vote: 'BUY', confidence: 0.81 });
  });

  it('gives no vote for a voter that did not answer', () => {
    expect(voteOf('technical', null)).toBeNull();
    expect(voteOf('sentiment', { ...sent('bullish', 0.5), status: 'unavailable', output: null })).toBeNull();
  });
});

describe('the tally', () => {
  it('reaches BUY when MIN_AGREEMENT votes agree and outnumber SELL', () => {
    const c = tallyVotes(
      {
        technical: tech('bullish'),
        sentiment: sent('bullish', 0.4),
        tokenomics: toke('neutral', 'medium'),
        researcher: res('bearish', 0.6),
      },
      opts,
    );
    expect(c).toMatchObject({ agreed: 'BUY', reached: true, voted: 4, tally: { BUY: 2, SELL: 1, HOLD: 1 } });
    expect(c.reason).toMatch(/^consensus BUY/);
  });

  it('has no consensus below the quorum, on a tie of two quorums, or with every voter absent', () => {
    const below = tallyVotes(
      {
        technical: tech('bullish'),
        sentiment: sent('neutral', 0),
        tokenomics: toke('neutral', 'medium'),
        researcher: res('bearish', 0.6),
      },
      opts,
    );
    expect(below).toMatchObject({ agreed: null, reached: false, tally: { BUY: 1, SELL: 1, HOLD: 2 } });
    expect(below.reason).toMatch(/^no_consensus/);
    const tie = tallyVotes(
      {
        technical: tech('bullish'),
        sentiment: sent('bullish', 0.3),
        tokenomics: toke('bearish', 'high'),
        researcher: res('bearish', 0.6),
      },
      opts,
    );
    expect(tie).toMatchObject({ agreed: null, reached: false, tally: { BUY: 2, SELL: 2, HOLD: 0 } });
    const none = tallyVotes({}, opts);
    expect(none).toMatchObject({ reached: false, voted: 0 });
    expect(none.absent.map((a) => a.status)).toEqual(['missing', 'missing', 'missing', 'missing']);
  });

  it('counts only the configured voters and says who did not vote', () => {
    const c = tallyVotes(
      {
        technical: tech('bearish'),
        sentiment: { ...sent('bearish', -0.5), status: 'unavailable', output: null },
        tokenomics: toke('bearish', 'medium'),
        researcher: res('bearish', 0.9),
      },
      { voters: ['technical', 'sentiment', 'tokenomics'], minAgreement: 2 },
    );
    expect(c).toMatchObject({ agreed: 'SELL', voted: 2, voters: ['technical', 'sentiment', 'tokenomics'] });
    expect(c.absent).toEqual([{ voter: 'sentiment', status: 'unavailable' }]);
    expect(c.votes.map((v) => v.voter)).toEqual(['technical', 'tokenomics']);
  });

  it('with MIN_AGREEMENT 3 two agreeing votes are not enough', () => {
    const results = {
      technical: tech('bullish'),
      sentiment: sent('bullish', 0.4),
      tokenomics: toke('neutral', 'low'),
      researcher: res('neutral', 0.5),
    };
    expect(tallyVotes(results, { voters: VOTERS, minAgreement: 3 }).reached).toBe(false);
    expect(tallyVotes(results, { voters: VOTERS, minAgreement: 2 }).reached).toBe(true);
  });
});
