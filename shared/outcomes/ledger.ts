/**
 * Outcomes from a trade ledger: FIFO lots, pure and exact (scaled BigInts, shared/portfolio/exact.ts).
 * The ONE definition of what a closed round trip is, used by the live book (in the fill's transaction),
 * by the backtest's persistence step, by the simulator for Kelly sizing, and by the audit that rebuilds
 * the stored outcomes from the `trades` table.
 *
 * Rules:
 * - A BUY opens a lot: the quantity received (order quantity minus the fee taken in base), its cost (the
 *   cash paid, i.e. the notional: price x received + the fee's value) and its entry fee (feeUsd).
 * - A SELL closes lots oldest first. Each lot it touches (or the part of one it closes) is one outcome:
 *   cost = the lot's cost pro rata, proceeds = the sale's cash received (notional - fee) pro rata,
 *   pnl = proceeds - cost (so net of both legs' fees), pnl % = pnl / cost x 100, fees = entry fee share
 *   + exit fee share. Shares are rounded to 12 decimals and the last piece takes the remainder, so the
 *   pieces of a lot and of a sale add up to them exactly.
 * - Dust: a lot left with less than one LOT_SIZE step after a sale could never be sold alone; it joins
 *   the next lot in the queue, or the next lot bought (as the book keeps dust in the next position's
 *   cost). Dust alone is never an outcome.
 * - Exit reason: the SELL's ledger reason (signal, stop_loss, take_profit, risk_reduction; any other is
 *   a signal). `risk_reduction` is kept for a sale a risk rule orders; nothing in the product orders one
 *   today (the risk manager may only shrink or veto the trader's proposal, and the hard limits only cap
 *   buys or refuse sales), so no outcome carries it until such a rule exists. `closeAll` marks what is still open at a price with no fee (end_of_backtest: the
 *   simulator's final mark; nothing was sold, so no exit fee was paid).
 */
import {
  add,
  cmp,
  divTo,
  type Fixed,
  fixedString,
  fixedToNumber,
  mul,
  parseFixed,
  roundTo,
  sub,
  ZERO_FX,
} from '../portfolio/exact';
import type { ExitReason } from './types';

const SCALE = 12;
const HUNDRED = parseFixed(100);
const EXIT_REASONS: readonly string[] = ['signal', 'stop_loss', 'take_profit', 'risk_reduction'];

type Amount = Fixed | string;
const fx = (a: Amount): Fixed => (typeof a === 'string' ? parseFixed(a) : a);

/** One filled ledger line, as `trades` stores it (amounts as decimal strings or exact values). */
export interface LedgerFill {
  tradeId: string | null;
  decisionId: string | null;
  symbol: string;
  side: 'BUY' | 'SELL';
  reason: string | null;
  /** Order quantity (base). */
  quantity: Amount;
  /** Fill price after slippage. */
  price: Amount;
  notional: Amount;
  /** Fee in the fee asset: base on a BUY, quote on a SELL. */
  fee: Amount;
  feeUsd: Amount;
  executedAt: number;
}

/** An outcome's ledger part (the entry context is added by the repository). Amounts are exact strings. */
export interface ClosedLot {
  symbol: string;
  entryTradeId: string | null;
  entryDecisionId: string | null;
  exitTradeId: string | null;
  exitDecisionId: string | null;
  entryTime: number;
  exitTime: number;
  entryPrice: string;
  exitPrice: string;
  quantity: string;
  entryCost: string;
  proceeds: string;
  pnlUsdt: string;
  /** pnl / cost x 100, rounded to 8 decimals (the column's scale). */
  pnlPct: number;
  fees: string;
  holdingMs: number;
  exitReason: ExitReason;
}

interface Lot {
  tradeId: string | null;
  decisionId: string | null;
  time: number;
  price: Fixed;
  qty: Fixed;
  cost: Fixed;
  fee: Fixed;
}

/** share of `total` for `part` of `whole` (exact when part = whole). */
function share(total: Fixed, part: Fixed, whole: Fixed): Fixed {
  if (cmp(part, whole) === 0) return total;
  return divTo(mul(total, part), whole, SCALE, 'half_even').q;
}

function pct(pnl: Fixed, cost: Fixed): number {
  if (cost.m === 0n) return 0;
  return fixedToNumber(divTo(mul(pnl, HUNDRED), cost, 8, 'half_even').q);
}

/** FIFO lots per symbol; feed fills in ledger order. */
export class FifoLots {
  private readonly lots = new Map<string, Lot[]>();
  private readonly dust = new Map<string, Lot>();

  /** `stepOf(symbol)`: the LOT_SIZE step, below which a remainder is dust. */
  constructor(private readonly stepOf: (symbol: string) => Fixed) {}

  /** Apply one filled line; answers the outcomes a SELL closed (none for a BUY). */
  apply(f: LedgerFill): ClosedLot[] {
    const quantity = fx(f.quantity);
    const price = fx(f.price);
    if (f.side === 'BUY') {
      const lot: Lot = {
        tradeId: f.tradeId,
        decisionId: f.decisionId,
        time: f.executedAt,
        price,
        qty: sub(quantity, fx(f.fee)),
        cost: fx(f.notional),
        fee: fx(f.feeUsd),
      };
      const d = this.dust.get(f.symbol);
      if (d) {
        merge(lot, d);
        this.dust.delete(f.symbol);
      }
      const q = this.lots.get(f.symbol);
      if (q) q.push(lot);
      else this.lots.set(f.symbol, [lot]);
      return [];
    }
    const reason = (EXIT_REASONS.includes(f.reason ?? '') ? f.reason : 'signal') as ExitReason;
    const exitFee = fx(f.feeUsd);
    const proceeds = sub(fx(f.notional), exitFee);
    return this.consume(f.symbol, quantity, {
      tradeId: f.tradeId,
      decisionId: f.decisionId,
      time: f.executedAt,
      price,
      proceeds,
      exitFee,
      reason,
    });
  }

  /** Close every open lot of `symbol` at `price` with no fee (see header); dust alone stays. */
  closeAll(symbol: string, price: Amount, time: number, reason: ExitReason = 'end_of_backtest'): ClosedLot[] {
    const q = this.lots.get(symbol) ?? [];
    let qty = ZERO_FX;
    for (const l of q) qty = add(qty, l.qty);
    if (qty.m === 0n) return [];
    const p = fx(price);
    return this.consume(symbol, qty, {
      tradeId: null,
      decisionId: null,
      time,
      price: p,
      proceeds: roundTo(mul(qty, p), SCALE, 'half_even'),
      exitFee: ZERO_FX,
      reason,
    });
  }

  /** Symbols with open lots (dust excluded). */
  openSymbols(): string[] {
    return [...this.lots.entries()].filter(([, q]) => q.length > 0).map(([s]) => s);
  }

  private consume(
    symbol: string,
    quantity: Fixed,
    exit: {
      tradeId: string | null;
      decisionId: string | null;
      time: number;
      price: Fixed;
      proceeds: Fixed;
      exitFee: Fixed;
      reason: ExitReason;
    },
  ): ClosedLot[] {
    const q = this.lots.get(symbol) ?? [];
    const step = this.stepOf(symbol);
    const out: ClosedLot[] = [];
    let left = quantity;
    let proceedsLeft = exit.proceeds;
    let feeLeft = exit.exitFee;
    while (left.m > 0n && q.length > 0) {
      const lot = q[0] as Lot;
      const take = cmp(lot.qty, left) <= 0 ? lot.qty : left;
      const last = cmp(take, left) === 0;
      const cost = share(lot.cost, take, lot.qty);
      const entryFee = share(lot.fee, take, lot.qty);
      const proceeds = last ? proceedsLeft : share(exit.proceeds, take, quantity);
      const exitFee = last ? feeLeft : share(exit.exitFee, take, quantity);
      const pnl = sub(proceeds, cost);
      out.push({
        symbol,
        entryTradeId: lot.tradeId,
        entryDecisionId: lot.decisionId,
        exitTradeId: exit.tradeId,
        exitDecisionId: exit.decisionId,
        entryTime: lot.time,
        exitTime: exit.time,
        entryPrice: fixedString(lot.price),
        exitPrice: fixedString(exit.price),
        quantity: fixedString(take),
        entryCost: fixedString(cost),
        proceeds: fixedString(proceeds),
        pnlUsdt: fixedString(pnl),
        pnlPct: pct(pnl, cost),
        fees: fixedString(add(entryFee, exitFee)),
        holdingMs: exit.time - lot.time,
        exitReason: exit.reason,
      });
      left = sub(left, take);
      proceedsLeft = sub(proceedsLeft, proceeds);
      feeLeft = sub(feeLeft, exitFee);
      lot.qty = sub(lot.qty, take);
      lot.cost = sub(lot.cost, cost);
      lot.fee = sub(lot.fee, entryFee);
      if (lot.qty.m === 0n) {
        q.shift();
      } else if (cmp(lot.qty, step) < 0) {
        // Dust: joins the next lot, or waits for the next buy (see header).
        q.shift();
        const next = q[0];
        if (next) merge(next, lot);
        else {
          const d = this.dust.get(symbol);
          if (d) merge(d, lot);
          else this.dust.set(symbol, lot);
        }
      }
    }
    return out;
  }
}

function merge(into: Lot, dust: Lot): void {
  into.qty = add(into.qty, dust.qty);
  into.cost = add(into.cost, dust.cost);
  into.fee = add(into.fee, dust.fee);
}

/**
 * Every outcome of a ledger (filled lines in ledger order). `finalMarks`, for a backtest: the open lots
 * of each symbol are closed at that mark as end_of_backtest.
 */
export function outcomesFromLedger(
  fills: readonly LedgerFill[],
  opts: {
    stepOf: (symbol: string) => Fixed;
    finalMarks?: Readonly<Record<string, { price: Amount; time: number }>>;
  },
): ClosedLot[] {
  const book = new FifoLots(opts.stepOf);
  const out: ClosedLot[] = [];
  for (const f of fills) out.push(...book.apply(f));
  if (opts.finalMarks) {
    for (const symbol of book.openSymbols()) {
      const m = opts.finalMarks[symbol];
      if (m) out.push(...book.closeAll(symbol, m.price, m.time));
    }
  }
  return out;
}
