import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulate, type TimedDecision } from '../backtest/simulator';
import { barKnownAt } from '../indicators/market-view';
import type { Candle } from '../market/types';
import { Dec } from '../portfolio';
import { parseFixed } from '../portfolio/exact';
import { type ClosedLot, FifoLots, type LedgerFill, outcomesFromLedger } from './ledger';
import { aggregateOutcomes, kellyAt, kellyFrom, outcomeStats } from './stats';

const STEP = parseFixed('0.00001');
const stepOf = () => STEP;
const T = Date.UTC(2024, 0, 1);

/** A ledger line with Binance's 0.1% fee (base on a buy, quote on a sale), no slippage. */
function fill(side: 'BUY' | 'SELL', qty: string, price: string, at: number, reason = 'signal'): LedgerFill {
  const q = new Dec(qty);
  const notional = q.times(price).toDecimalPlaces(12);
  const fee =
    side === 'BUY' ? q.times('0.001').toDecimalPlaces(12) : notional.times('0.001').toDecimalPlaces(12);
  const feeUsd = side === 'BUY' ? fee.times(price).toDecimalPlaces(12) : fee;
  return {
    tradeId: `t${at}`,
    decisionId: `d${at}`,
    symbol: 'BTCUSDT',
    side,
    reason,
    quantity: qty,
    price,
    notional: notional.toFixed(),
    fee: fee.toFixed(),
    feeUsd: feeUsd.toFixed(),
    executedAt: at,
  };
}

describe('FIFO lots (hand-checked)', () => {
  // Two buys, then a sale of 1.5 that closes the first lot and half of the second, then a stop.
  const ledger = [
    fill('BUY', '1', '100', T), // received 0.999, cost 100, fee 0.1
    fill('BUY', '1', '110', T + 1000), // received 0.999, cost 110, fee 0.11
    fill('SELL', '1.5', '120', T + 2000), // notional 180, fee 0.18, proceeds 179.82
    fill('SELL', '0.498', '90', T + 3000, 'stop_loss'), // notional 44.82, fee 0.04482
  ];
  const out = outcomesFromLedger(ledger, { stepOf });

  it('closes the oldest lot first; a partial close is an outcome for the quantity it closed', () => {
    expect(out.map((o) => [o.entryTradeId, o.exitTradeId, o.quantity])).toEqual([
      [`t${T}`, `t${T + 2000}`, '0.999'],
      [`t${T + 1000}`, `t${T + 2000}`, '0.501'],
      [`t${T + 1000}`, `t${T + 3000}`, '0.498'],
    ]);
  });

  it('splits cost, proceeds and fees pro rata, exactly, net of both legs', () => {
    const [a, b, c] = out as [ClosedLot, ClosedLot, ClosedLot];
    // 179.82 x 0.999 / 1.5 = 119.76012
    expect(a).toMatchObject({
      entryCost: '100',
      proceeds: '119.76012',
      pnlUsdt: '19.76012',
      fees: '0.21988',
    });
    expect(a.pnlPct).toBe(19.76012);
    // the last piece of the sale takes the remainder: 179.82 - 119.76012
    expect(b.proceeds).toBe('60.05988');
    expect(b.entryCost).toBe('55.165165165165'); // 110 x 0.501 / 0.999, 12 decimals
    expect(b.pnlUsdt).toBe('4.894714834835');
    // the rest of lot 2 carries the rest of its cost
    expect(c.entryCost).toBe('54.834834834835');
    expect(c.proceeds).toBe('44.77518');
    expect(c.pnlUsdt).toBe('-10.059654834835');
    expect(c.exitReason).toBe('stop_loss');
    expect(c.holdingMs).toBe(2000);
    // the pieces add up to the cash: paid 210, received 224.59518
    const sum = out.reduce((s, o) => s.plus(o.pnlUsdt), new Dec(0));
    expect(sum.toFixed()).toBe('14.59518');
  });

  it('records each exit reason; unknown reasons are signals; end_of_backtest marks without a fee', () => {
    const book = new FifoLots(stepOf);
    book.apply(fill('BUY', '1', '100', T));
    book.apply(fill('BUY', '1', '100', T + 1));
    book.apply(fill('BUY', '1', '100', T + 2));
    book.apply(fill('BUY', '1', '100', T + 3));
    const reasons = [
      ...book.apply(fill('SELL', '0.999', '101', T + 10, 'take_profit')),
      ...book.apply(fill('SELL', '0.999', '101', T + 11, 'risk_reduction')),
      ...book.apply(fill('SELL', '0.999', '101', T + 12, 'whatever')),
      ...book.closeAll('BTCUSDT', '105', T + 20),
    ];
    expect(reasons.map((o) => o.exitReason)).toEqual([
      'take_profit',
      'risk_reduction',
      'signal',
      'end_of_backtest',
    ]);
    const end = reasons[3] as ClosedLot;
    expect(end).toMatchObject({ exitTradeId: null, exitPrice: '105', proceeds: '104.895', fees: '0.1' });
    expect(book.closeAll('BTCUSDT', '105', T + 21)).toEqual([]); // nothing left open
  });

  it('dust under one LOT_SIZE step is never an outcome alone: it joins the next lot', () => {
    const book = new FifoLots(stepOf);
    book.apply(fill('BUY', '0.01234', '100', T)); // received 0.01232766
    const first = book.apply(fill('SELL', '0.01232', '100', T + 1)); // leaves 0.00000766 of dust
    expect(first).toHaveLength(1);
    expect(first[0]!.quantity).toBe('0.01232');
    expect(book.closeAll('BTCUSDT', '100', T + 2)).toEqual([]);
    book.apply(fill('BUY', '0.01', '100', T + 3)); // received 0.00999 + dust 0.00000766
    const next = book.apply(fill('SELL', '0.00999', '100', T + 4));
    expect(next).toHaveLength(1);
    expect(next[0]!.entryTradeId).toBe(`t${T + 3}`);
    // the dust's cost went with it: the new lot holds 0.00999766 costing 1 + (1.234 - first cost)
    const dustCost = new Dec('1.234').minus(first[0]!.entryCost);
    const lotCost = dustCost.plus(1);
    expect(next[0]!.entryCost).toBe(lotCost.times('0.00999').div('0.00999766').toDecimalPlaces(12).toFixed());
  });
});

describe('outcomes of simulated books', () => {
  const H = 3_600_000;
  const walk = (seed: number, n: number): Candle[] => {
    let p = 100;
    let s = seed;
    const out: Candle[] = [];
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      const o = p;
      p = Math.max(1, p * (1 + (s / 2147483648 - 0.5) * 0.04));
      out.push({
        openTime: T + i * H,
        open: o,
        high: Math.max(o, p) * 1.01,
        low: Math.min(o, p) * 0.99,
        close: p,
        volume: 1,
        closeTime: T + (i + 1) * H - 1,
      });
    }
    return out;
  };

  it('the outcomes add up to the book: sum of PnL = final equity - initial cash (up to dust)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.array(
          fc.record({
            gap: fc.integer({ min: 1, max: 25 }),
            action: fc.constantFrom<'BUY' | 'SELL' | 'HOLD'>('BUY', 'BUY', 'SELL', 'HOLD'),
            size: fc.integer({ min: 100, max: 5000 }).map((x) => x / 100),
            stop: fc.option(
              fc.integer({ min: 100, max: 1500 }).map((x) => x / 100),
              { nil: undefined },
            ),
            take: fc.option(
              fc.integer({ min: 100, max: 3000 }).map((x) => x / 100),
              { nil: undefined },
            ),
          }),
          { minLength: 5, maxLength: 30 },
        ),
        (seed, ds) => {
          const c = walk(seed, 400);
          let bar = 0;
          const decisions: TimedDecision[] = [];
          for (const d of ds) {
            bar += d.gap;
            if (bar >= c.length) break;
            decisions.push({
              decisionTime: barKnownAt(c[bar]!, '1h'),
              action: d.action,
              sizePct: d.size,
              stopLossPct: d.stop,
              takeProfitPct: d.take,
              decisionId: `d${bar}`,
            });
          }
          if (decisions.length === 0) return;
          const r = simulate({
            candles: c,
            timeframe: '1h',
            decisions,
            settings: {
              symbol: 'BTCUSDT',
              initialCash: 10_000,
              limits: { maxPositionPct: 50, maxTotalExposurePct: 80 },
            },
          });
          const fills: LedgerFill[] = r.fills.map((f) => ({
            ...f,
            tradeId: String(f.seq),
            symbol: 'BTCUSDT',
          }));
          const out = outcomesFromLedger(fills, { stepOf, finalMarks: { BTCUSDT: r.finalMark } });
          const equity = r.equityCurve.at(-1)!.equity;
          const sum = out.reduce((s, o) => s + Number(o.pnlUsdt), 0);
          // Dust left unsold is not an outcome: at most a few steps' worth at the last price.
          expect(Math.abs(sum - (equity - 10_000))).toBeLessThan(0.01);
          for (const o of out) {
            expect(o.exitTime).toBeGreaterThanOrEqual(o.entryTime);
            expect(new Dec(o.quantity).gt(0)).toBe(true);
          }
          // every SELL fill is the exit of at least one outcome, with its reason
          for (const f of r.fills.filter((x) => x.side === 'SELL')) {
            const of = out.filter((o) => o.exitTradeId === String(f.seq));
            expect(of.length).toBeGreaterThan(0);
            for (const o of of) expect(o.exitReason).toBe(f.reason);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('aggregates and Kelly', () => {
  const o = (exitTime: number, pnlPct: number, regime = 'BULL', confidence: number | null = 0.7) => ({
    exitTime,
    pnlUsdt: pnlPct * 10,
    pnlPct,
    exitReason: (pnlPct > 0 ? 'take_profit' : 'stop_loss') as 'take_profit' | 'stop_loss',
    context: { regime: { detector: { regime } }, researcher: { confidence } },
  });

  it('win rate, mean PnL %, payoff ratio, by regime, exit reason and confidence bucket', () => {
    const list = [o(1, 10), o(2, 20), o(3, -5), o(4, -10, 'BEAR', 0.55), o(5, 6, 'BEAR', null)];
    const a = aggregateOutcomes(list);
    expect(a.count).toBe(5);
    expect(a.winRate).toBeCloseTo(0.6);
    expect(a.meanPnlPct).toBeCloseTo(21 / 5);
    expect(a.payoffRatio).toBeCloseTo(12 / 7.5); // mean win 12 / mean loss 7.5
    expect(a.byRegime.BULL?.count).toBe(3);
    expect(a.byRegime.BEAR?.winRate).toBeCloseTo(0.5);
    expect(a.byExitReason.stop_loss?.count).toBe(2);
    expect(a.byConfidence['0.7-0.8']?.count).toBe(3);
    expect(a.byConfidence['0.5-0.6']?.count).toBe(1);
    expect(a.byConfidence.unknown?.count).toBe(1);
    expect(outcomeStats([]).winRate).toBeNull();
  });

  it('Kelly from a known history: f* = W - (1 - W) / R, times the fraction, floored at 0', () => {
    // 6 wins of +10%, 4 losses of -5%: W 0.6, R 2, f* = 0.6 - 0.4 / 2 = 0.4; half Kelly 20%.
    const hist = [
      ...Array.from({ length: 6 }, (_, i) => o(i, 10)),
      ...Array.from({ length: 4 }, (_, i) => o(10 + i, -5)),
    ];
    const k = kellyFrom(hist, { lookback: 50, fraction: 0.5, minTrades: 10 });
    expect(k.applies).toBe(true);
    expect(k.winRate).toBeCloseTo(0.6);
    expect(k.payoffRatio).toBeCloseTo(2);
    expect(k.fStar).toBeCloseTo(0.4);
    expect(k.sizePct).toBeCloseTo(20);
    // a losing record sizes 0, never negative
    const bad = [
      ...Array.from({ length: 3 }, (_, i) => o(i, 2)),
      ...Array.from({ length: 7 }, (_, i) => o(10 + i, -5)),
    ];
    const kb = kellyFrom(bad, { lookback: 50, fraction: 0.5, minTrades: 10 });
    expect(kb.fStar).toBeLessThan(0);
    expect(kb.sizePct).toBe(0);
  });

  it('under KELLY_MIN_TRADES it does not apply and says so', () => {
    const k = kellyFrom([o(1, 5), o(2, -1)], { lookback: 50, fraction: 0.5, minTrades: 10 });
    expect(k).toMatchObject({ applies: false, n: 2, sizePct: null });
    expect(k.reason).toMatch(/KELLY_MIN_TRADES 10/);
  });

  it('uses only outcomes closed strictly before the decision time, the last `lookback` of them', () => {
    const hist = Array.from({ length: 30 }, (_, i) => o(i * 10, i < 20 ? 10 : -5));
    // at t = 200: exits 0..190 (20 wins); the one at 200 is not before t
    const at200 = kellyAt(hist, 200, { lookback: 50, fraction: 1, minTrades: 10 });
    expect(at200.n).toBe(20);
    expect(at200.winRate).toBe(1);
    // lookback 10 at t = 250: exits 150..240, 5 wins and 5 losses
    const k = kellyAt(hist, 250, { lookback: 10, fraction: 1, minTrades: 10 });
    expect(k.n).toBe(10);
    expect(k.winRate).toBeCloseTo(0.5);
  });
});
