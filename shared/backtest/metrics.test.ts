import { describe, expect, it } from 'vitest';
import { dailyReturns, equityStats, maxDrawdown, type RoundTrip, tradeStats } from './metrics';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1); // a midnight: the point stamped T0 closes 2023-12-31

function trip(pnl: number, closed = true): RoundTrip {
  return {
    symbol: 'BTCUSDT',
    entryTime: 0,
    exitTime: closed ? 1 : null,
    entryPrice: 1,
    exitPrice: closed ? 1 : null,
    quantityBought: 1,
    buyNotional: 100,
    sellNotional: 100 + pnl,
    fees: 0,
    pnl,
    returnFraction: pnl / 100,
    barsHeld: 1,
    exitReason: closed ? 'signal' : null,
    closed,
    fills: 2,
  };
}

describe('golden equity metrics (hand-checked)', () => {
  // Daily marks: 100, 110, 99, 99, 118.8 -> daily returns +0.1, -0.1, 0, +0.2.
  const ts = [0, 1, 2, 3, 4].map((k) => T0 + k * DAY);
  const eq = [100, 110, 99, 99, 118.8];
  const s = equityStats(ts, eq, '1d');

  it('total return and withheld CAGR under 30 days', () => {
    expect(s.totalReturn).toBeCloseTo(0.188, 12); // 118.8 / 100 - 1
    expect(s.days).toBe(4);
    expect(s.cagr).toBeNull();
    expect(s.cagrNote).toMatch(/under 30/);
    expect(s.calmar).toBeNull(); // no CAGR, no Calmar
  });

  it('Sharpe on daily returns with sample stdev x sqrt(365)', () => {
    // mean 0.05; deviations 0.05, -0.15, -0.05, 0.15 -> sum of squares 0.05; sample var 0.05/3;
    // stdev 0.1290994; 0.05 / 0.1290994 = 0.3872983; x sqrt(365) = 19.1049732 -> 7.3993243.
    expect(s.sharpeDaily).toBeCloseTo(7.3993243, 6);
    // 1d bars: the per-bar figure uses the same returns and sqrt(365).
    expect(s.sharpePerBar).toBeCloseTo(7.3993243, 6);
    expect(s.dailyReturnCount).toBe(4);
  });

  it('Sortino = mean / sqrt(mean(min(r,0)^2)) x sqrt(365)', () => {
    // Downside squares: 0, 0.01, 0, 0 -> mean 0.0025 -> 0.05; 0.05 / 0.05 x 19.1049732.
    expect(s.sortinoDaily).toBeCloseTo(19.1049732, 6);
  });

  it('max drawdown with peak, trough, recovery and duration', () => {
    // Peak 110 (day 1), trough 99 (day 2, the first of two equal lows): 1 - 99/110 = 0.1.
    // Back to >= 110 on day 4: recovery day 4, duration 3 days.
    expect(s.maxDrawdown.value).toBeCloseTo(0.1, 12);
    expect(s.maxDrawdown.peakTime).toBe(T0 + DAY);
    expect(s.maxDrawdown.troughTime).toBe(T0 + 2 * DAY);
    expect(s.maxDrawdown.recoveryTime).toBe(T0 + 4 * DAY);
    expect(s.maxDrawdown.durationMs).toBe(3 * DAY);
    expect(s.maxDrawdown.recovered).toBe(true);
  });

  it('an unrecovered drawdown lasts to the last point', () => {
    const dd = maxDrawdown([1, 2, 3, 4], [100, 80, 90, 85]);
    expect(dd.value).toBeCloseTo(0.2, 12);
    expect(dd.recovered).toBe(false);
    expect(dd.recoveryTime).toBeNull();
    expect(dd.durationMs).toBe(3);
  });

  it('a drawdown starts at the LAST time equity stood at its peak (a flat book in cash)', () => {
    // Equity sits at 100 (all cash) for three marks, then falls: the drawdown begins at the third
    // mark, as in empyrical (peak = the last point at the running maximum before the trough).
    const dd = maxDrawdown([0, 1, 2, 3, 4, 5], [100, 100, 100, 90, 95, 100]);
    expect(dd.value).toBeCloseTo(0.1, 12);
    expect(dd.peakTime).toBe(2);
    expect(dd.troughTime).toBe(3);
    expect(dd.recoveryTime).toBe(5);
    expect(dd.durationMs).toBe(3);
    // Back exactly at the old peak, then a deeper fall: that drawdown starts at the return to the peak.
    const again = maxDrawdown([0, 1, 2, 3], [100, 95, 100, 80]);
    expect(again.value).toBeCloseTo(0.2, 12);
    expect(again.peakTime).toBe(2);
    expect(again.durationMs).toBe(1); // unrecovered: peak to the last point
  });

  it('CAGR = (E_T/E_0)^(365/days) - 1 and Calmar = CAGR / max drawdown', () => {
    // 73 days, x1.21: 1.21^(365/73) = 1.21^5 = 2.5937424601 -> CAGR 1.5937424601.
    const c = equityStats([T0, T0 + 36 * DAY, T0 + 73 * DAY], [100, 88, 121], '1d');
    expect(c.cagr).toBeCloseTo(1.5937424601, 9);
    // Drawdown 0.12 (100 -> 88): Calmar = 1.5937424601 / 0.12 = 13.2811871675.
    expect(c.calmar).toBeCloseTo(13.2811871675, 8);
  });

  it('groups intraday marks by UTC day, the midnight mark closing the previous day', () => {
    // Marks at 00:00 (closes Dec 31) 12:00, 24:00 (close Jan 1), 36:00, 48:00 (close Jan 2).
    const r = dailyReturns(
      [0, 12, 24, 36, 48].map((h) => T0 + h * HOUR),
      [100, 105, 110, 90, 99],
    );
    // Day closes 100, 110, 99 -> +0.1, -0.1.
    expect(r).toHaveLength(2);
    expect(r[0]).toBeCloseTo(0.1, 12);
    expect(r[1]).toBeCloseTo(-0.1, 12);
  });

  it('returns null, never a sentinel, for undefined statistics', () => {
    const flat = equityStats([T0, T0 + DAY, T0 + 2 * DAY], [100, 100, 100], '1d');
    expect(flat.sharpeDaily).toBeNull(); // zero variance
    expect(flat.sortinoDaily).toBeNull(); // no downside
    expect(flat.maxDrawdown.value).toBe(0);
    expect(flat.maxDrawdown.peakTime).toBeNull();
    const one = equityStats([T0], [100], '1h');
    expect(one.sharpeDaily).toBeNull();
    expect(one.sharpePerBar).toBeNull();
    expect(one.totalReturn).toBe(0);
  });
});

describe('golden trade statistics (hand-checked)', () => {
  it('win rate, profit factor, averages, best and worst over closed round trips', () => {
    const t = tradeStats([trip(10), trip(-5), trip(20), trip(-15), trip(0), trip(7, false)]);
    // Closed: 10, -5, 20, -15, 0. Wins (PnL > 0): 10, 20 -> 2/5 = 0.4.
    expect(t.count).toBe(5);
    expect(t.openTrades).toBe(1);
    expect(t.winRate).toBeCloseTo(0.4, 12);
    // Gross profit 30, gross loss 20 -> profit factor 1.5; avg win 15, avg loss -10.
    expect(t.grossProfit).toBe(30);
    expect(t.grossLoss).toBe(20);
    expect(t.profitFactor).toBeCloseTo(1.5, 12);
    expect(t.avgWin).toBe(15);
    expect(t.avgLoss).toBe(-10);
    expect(t.best).toBe(20);
    expect(t.worst).toBe(-15);
  });

  it('handles hundreds of thousands of round trips (a 1m backtest) without overflowing the stack', () => {
    const kinds = [-3, -2, -1, 0, 1, 2, 3].map((pnl) => trip(pnl));
    const many = Array.from({ length: 300_000 }, (_, i) => kinds[i % kinds.length]!);
    const t = tradeStats(many);
    expect(t.count).toBe(300_000);
    expect(t.best).toBe(3);
    expect(t.worst).toBe(-3);
  });

  it('no losses -> profit factor null; no trades -> everything undefined is null', () => {
    const w = tradeStats([trip(5), trip(3)]);
    expect(w.profitFactor).toBeNull();
    expect(w.avgLoss).toBeNull();
    expect(w.winRate).toBe(1);
    const none = tradeStats([]);
    expect(none).toMatchObject({
      count: 0,
      winRate: null,
      profitFactor: null,
      best: null,
      worst: null,
      avgWin: null,
    });
  });
});
