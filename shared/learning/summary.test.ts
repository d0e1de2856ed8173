import { describe, expect, it } from 'vitest';
import { confidenceBucket, sentimentBucket, summarizeOutcomes } from './summary';
import { outcome } from './testing';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const H = 3_600_000;

describe('learning summary', () => {
  // A known set: 4 BULL trades (3 wins), 2 BEAR losses, one stop-loss hit, one outside the window.
  const set = [
    outcome({
      id: 'a',
      exitTime: T0 + 1 * H,
      pnlPct: 4,
      regime: 'BULL',
      confidence: 0.72,
      sentiment: 0.5,
      takeProfitPct: 4,
      exitReason: 'take_profit',
    }),
    outcome({ id: 'b', exitTime: T0 + 2 * H, pnlPct: 2, regime: 'BULL', confidence: 0.81, sentiment: 0.1 }),
    outcome({ id: 'c', exitTime: T0 + 3 * H, pnlPct: 3, regime: 'BULL', confidence: 0.65 }),
    outcome({
      id: 'd',
      exitTime: T0 + 4 * H,
      pnlPct: -1,
      regime: 'BULL',
      confidence: 0.58,
      stopLossPct: 1,
      exitReason: 'stop_loss',
    }),
    outcome({
      id: 'e',
      exitTime: T0 + 5 * H,
      pnlPct: -2,
      regime: 'BEAR',
      confidence: 0.56,
      sentiment: -0.6,
      stopLossPct: 3,
    }),
    outcome({ id: 'f', exitTime: T0 + 6 * H, pnlPct: -4, regime: 'BEAR', confidence: null, sentiment: -0.3 }),
    outcome({ id: 'late', exitTime: T0 + 7 * H, pnlPct: 50, regime: 'BULL' }),
  ];
  const s = summarizeOutcomes(set, { from: T0, to: T0 + 7 * H });

  it('reads only outcomes closed strictly before its time', () => {
    expect(s.trades).toBe(6);
    expect(s.window).toEqual({ from: T0, to: T0 + 7 * H });
  });

  it('computes win rate, payoff and mean PnL overall and by regime', () => {
    expect(s.overall.wins).toBe(3);
    expect(s.overall.winRate).toBe(0.5);
    expect(s.overall.meanPnlPct).toBeCloseTo(2 / 6, 4);
    // mean win 3, mean loss |-7/3| -> payoff 9/7
    expect(s.overall.payoffRatio).toBeCloseTo(9 / 7, 4);
    expect(s.by.regime.BULL).toMatchObject({ count: 4, wins: 3, winRate: 0.75, meanPnlPct: 2 });
    expect(s.by.regime.BULL!.payoffRatio).toBe(3);
    expect(s.by.regime.BEAR).toMatchObject({
      count: 2,
      wins: 0,
      winRate: 0,
      meanPnlPct: -3,
      payoffRatio: null,
    });
  });

  it('buckets sentiment, researcher confidence and exit reasons, with the trades behind each', () => {
    expect(Object.fromEntries(Object.entries(s.by.sentiment).map(([k, v]) => [k, v.count]))).toEqual({
      negative: 2,
      neutral: 1,
      positive: 1,
      unknown: 2,
    });
    expect(Object.fromEntries(Object.entries(s.by.confidence).map(([k, v]) => [k, v.count]))).toEqual({
      '0.5-0.6': 2,
      '0.6-0.7': 1,
      '0.7-0.8': 1,
      '>=0.8': 1,
      unknown: 1,
    });
    expect(s.by.exitReason.stop_loss!.count).toBe(1);
    expect(s.by.exitReason.take_profit!.meanPnlPct).toBe(4);
    expect(s.by.promptVersion['researcher:researcher@1']!.count).toBe(6);
    expect(s.by.consensus.none!.count).toBe(6);
  });

  it('counts how often the trader’s stop-loss and take-profit were hit', () => {
    expect(s.stops).toEqual({
      withStopLoss: 2,
      withTakeProfit: 1,
      stopLossHits: 1,
      takeProfitHits: 1,
      stopLossHitRate: 0.5,
      takeProfitHitRate: 1,
    });
  });

  it('tallies consensus votes', () => {
    const c = summarizeOutcomes(
      [
        outcome({
          exitTime: T0,
          pnlPct: 1,
          consensus: {
            votes: [
              { voter: 'technical', vote: 'BUY', confidence: 0.7 },
              { voter: 'sentiment', vote: 'BUY', confidence: 0.6 },
              { voter: 'researcher', vote: 'HOLD', confidence: 0.5 },
            ],
            voted: 3,
            agreed: 'BUY',
          },
        }),
      ],
      { from: T0, to: T0 + H },
    );
    expect(Object.keys(c.by.consensus)).toEqual(['BUY 2/3']);
  });

  it('names buckets at their edges', () => {
    expect(confidenceBucket(0.5)).toBe('0.5-0.6');
    expect(confidenceBucket(0.499)).toBe('<0.5');
    expect(confidenceBucket(0.8)).toBe('>=0.8');
    expect(sentimentBucket(0.2)).toBe('neutral');
    expect(sentimentBucket(-0.21)).toBe('negative');
  });
});
