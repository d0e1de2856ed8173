/**
 * Kelly sizing inside the simulator: each BUY is sized from the outcomes closed strictly before its
 * decision time, and a truncation re-run (data and decisions cut at t) gives the same Kelly at t.
 */
import { describe, expect, it } from 'vitest';
import { type SimulationResult, simulate, type TimedDecision } from '../backtest/simulator';
import type { Candle } from '../market/types';
import { parseFixed } from '../portfolio/exact';
import { type LedgerFill, outcomesFromLedger } from './ledger';
import { sizeBuy } from './sizing';
import { kellyAt } from './stats';

const H = 3_600_000;
const T = Date.UTC(2024, 0, 1);
const known = (i: number) => T + (i + 1) * H;
const SIZING = { mode: 'min' as const, lookback: 8, fraction: 0.5, minTrades: 5 };
const settings = {
  symbol: 'BTCUSDT',
  initialCash: 10_000,
  limits: { maxPositionPct: 50, maxTotalExposurePct: 80 },
  sizing: SIZING,
};

function walk(seed: number, n: number): Candle[] {
  let p = 100;
  let s = seed;
  const out: Candle[] = [];
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const o = p;
    p = Math.max(1, p * (1 + (s / 2147483648 - 0.47) * 0.05));
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
}
const candles = walk(42, 800);
const decisions: TimedDecision[] = [];
for (let i = 5; i < 790; i += 6) {
  const buy = (i / 6) % 2 < 1;
  decisions.push({
    decisionTime: known(i),
    action: buy ? 'BUY' : 'SELL',
    sizePct: buy ? 40 : 100,
    stopLossPct: 4,
    takeProfitPct: 5,
    decisionId: `d${i}`,
  });
}
const kellyClamp = (f: { clamps: readonly { rule: string; reason: string; allowed: string }[] }) =>
  f.clamps.find((c) => c.rule === 'KELLY_SIZING');
const outcomesOf = (r: SimulationResult) =>
  outcomesFromLedger(
    r.fills.map((f): LedgerFill => ({ ...f, tradeId: String(f.seq), symbol: 'BTCUSDT' })),
    { stepOf: () => parseFixed('0.00001') },
  );

describe('Kelly sizing in the simulator', () => {
  const full = simulate({ candles, timeframe: '1h', decisions, settings });
  const buys = full.fills.filter((f) => f.side === 'BUY' && f.reason === 'signal');

  /** Every BUY decision's Kelly record: on its fill, or on its rejection when Kelly sized it at 0. */
  const records = [
    ...buys.map((b) => ({ t: b.decisionTime!, clamp: kellyClamp(b) })),
    ...full.rejections
      .filter((r) => r.rule === 'KELLY_SIZING')
      .map((r) => ({ t: r.decisionTime!, clamp: kellyClamp(r) })),
  ].sort((a, b) => a.t - b.t);

  it('records Kelly on every BUY: not applied under KELLY_MIN_TRADES, then applied', () => {
    expect(records.length).toBeGreaterThan(20);
    for (const r of records) expect(r.clamp).toBeDefined();
    expect(records[0]!.clamp!.reason).toMatch(/Kelly not applied: 0 outcome\(s\)/);
    expect(records.some((r) => /Kelly over 8 outcome/.test(r.clamp!.reason))).toBe(true);
    // min: never above the decision's size
    for (const r of records) expect(Number(r.clamp!.allowed)).toBeLessThanOrEqual(40);
    // Kelly changed some sizes
    expect(records.some((r) => Number(r.clamp!.allowed) < 40)).toBe(true);
  });

  it("uses only the outcomes closed strictly before the decision (the whole run's outcomes, cut at t)", () => {
    const all = outcomesOf(full).map((o) => ({ ...o, pnlUsdt: Number(o.pnlUsdt) }));
    expect(all.length).toBeGreaterThanOrEqual(SIZING.lookback);
    for (const r of records) {
      const expected = kellyAt(all, r.t, SIZING);
      const sized = sizeBuy(40, all.filter((o) => o.exitTime < r.t).slice(-SIZING.lookback), SIZING);
      expect(r.clamp!.reason).toContain(expected.reason);
      expect(Number(r.clamp!.allowed)).toBe(sized.sizePct);
    }
  });

  it('truncation: cutting the data and the decisions at t gives the same Kelly at t', () => {
    expect(buys.length).toBeGreaterThan(4);
    const picks = [buys[2]!, buys[Math.floor(buys.length / 2)]!, buys.at(-1)!];
    for (const b of picks) {
      const t = b.decisionTime!;
      const cut = candles.filter((c) => c.openTime <= t); // up to the fill bar (the open at t)
      const r = simulate({
        candles: cut,
        timeframe: '1h',
        decisions: decisions.filter((d) => d.decisionTime <= t),
        settings,
      });
      const same = r.fills.find((f) => f.decisionId === b.decisionId);
      expect(same).toBeDefined();
      expect(kellyClamp(same!)).toEqual(kellyClamp(b));
      expect(same!.quantity).toBe(b.quantity);
    }
  });

  it("a decision's own KELLY_FRACTION (its strategy version) sizes its BUY instead of the run's", () => {
    const applied = records.find(
      (r) =>
        /Kelly over/.test(r.clamp!.reason) && Number(r.clamp!.allowed) > 0 && Number(r.clamp!.allowed) < 40,
    );
    expect(applied).toBeDefined();
    const halved = simulate({
      candles,
      timeframe: '1h',
      decisions: decisions.map((d) =>
        d.decisionTime >= applied!.t ? { ...d, kellyFraction: SIZING.fraction / 2 } : d,
      ),
      settings,
    });
    const fill = halved.fills.find((f) => f.decisionTime === applied!.t);
    const clamp = kellyClamp(fill!);
    expect(clamp!.reason).toContain(`x ${SIZING.fraction / 2}`);
    expect(Number(clamp!.allowed)).toBeLessThan(Number(applied!.clamp!.allowed));
    // Decisions before it are untouched.
    const earlier = (r: typeof full) => r.fills.filter((f) => f.executedAt < applied!.t);
    expect(earlier(halved)).toEqual(earlier(full));
  });

  it('SIZING=trader (or no sizing) leaves the decisions sizes and records no Kelly', () => {
    const plain = simulate({
      candles,
      timeframe: '1h',
      decisions,
      settings: { ...settings, sizing: undefined },
    });
    const trader = simulate({
      candles,
      timeframe: '1h',
      decisions,
      settings: { ...settings, sizing: { ...SIZING, mode: 'trader' } },
    });
    expect(trader.tradeListHash).toBe(plain.tradeListHash);
    expect(plain.fills.some((f) => kellyClamp(f))).toBe(false);
  });
});

describe('sizeBuy', () => {
  const o = (exitTime: number, pnlPct: number) => ({
    exitTime,
    pnlUsdt: pnlPct,
    pnlPct,
    exitReason: 'signal' as const,
  });
  // W 0.6, R 2 -> f* 0.4, half Kelly 20%
  const hist = [
    ...Array.from({ length: 6 }, (_, i) => o(i, 10)),
    ...Array.from({ length: 4 }, (_, i) => o(10 + i, -5)),
  ];
  const s = { lookback: 50, fraction: 0.5, minTrades: 10 };
  it('kelly takes the Kelly size, min the smaller, trader the trader', () => {
    expect(sizeBuy(8, hist, { ...s, mode: 'kelly' }).sizePct).toBeCloseTo(20);
    expect(sizeBuy(8, hist, { ...s, mode: 'min' }).sizePct).toBe(8);
    expect(sizeBuy(30, hist, { ...s, mode: 'min' }).sizePct).toBeCloseTo(20);
    expect(sizeBuy(30, hist, { ...s, mode: 'trader' })).toEqual({ sizePct: 30, kelly: null, note: null });
  });
  it('under KELLY_MIN_TRADES the trader size stands, and the note says so', () => {
    const r = sizeBuy(30, hist.slice(0, 4), { ...s, mode: 'kelly' });
    expect(r.sizePct).toBe(30);
    expect(r.note).toMatchObject({ changed: false });
    expect(r.note!.reason).toMatch(/not applied: 4 outcome/);
  });
});
