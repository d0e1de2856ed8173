/**
 * The book: pure ledger math for a long-only spot portfolio, exact so nothing drifts (decimal.js values
 * at the API, exact scaled BigInts in the fill kernel).
 *
 * Exported: `Dec` (the decimal constructor used here), `Book`, `Position`, `Fill`, `TradeRecord`,
 * `emptyBook`, `applyFill`, `equityOf`, `unrealizedPnl`, `avgEntryPrice`, `checkInvariants`,
 * `rebuildFromLedger`, `bookToJSON`, `LEDGER_SCALE`, and the exact kernel `fillExact`, `ExactLedger`,
 * `ExactPosition`, `ExactFill`, `ExactTrade`, `fromDec`, `toDec`.
 *
 * The fill arithmetic is implemented ONCE, in `fillExact`, on exact scaled BigInts (exact.ts);
 * `applyFill` is its decimal.js face (the live book), the backtest simulator calls `fillExact` directly.
 *
 * Design decisions:
 * - Every stored amount is rounded to LEDGER_SCALE (12) decimals, the scale of the database's
 *   numeric(30,12) columns, at the moment it is created (notional, fee, cost removed on a sale). After
 *   that, the ledger only adds and subtracts them, which is exact. So a book rebuilt from the database
 *   is the same book, to the last digit.
 * - PnL convention (gross of fees, fees subtracted once):
 *     realizedPnl + unrealizedPnl - feesPaid = equity - initialCash     (exactly)
 *   where the cost basis of a buy is its notional minus the fee's value (the coins actually received,
 *   valued at the fill price), realized PnL of a sale is its notional minus the cost basis it removes,
 *   unrealized PnL is quantity x mark - cost basis, and feesPaid sums every fee valued in the quote
 *   asset at the fill price. Induction: a buy moves cash by -notional and (cost, fees) by
 *   (notional - feeUsd, feeUsd); a sale moves cash by notional - fee and (realized, cost, fees) by
 *   (notional - costRemoved, -costRemoved, fee). Both sides of the identity move by the same amount.
 * - The cost basis is stored, not the average entry price: the average is a rounded quotient, and
 *   quantity x rounded average would break the identity above by up to 1e-12 per fill.
 * - Binance takes the fee from the asset received: on a buy, in base (you receive qty x (1 - fee));
 *   on a sale, in quote (you receive notional x (1 - fee)).
 * - A sale of part of a position removes cost proportionally (rounded to 12 decimals); a sale of the
 *   whole position removes all of it, so a closed position leaves no stray cost.
 */
import Decimal from 'decimal.js';
import { AppError } from '../util/errors';
import {
  add,
  cmp,
  decString,
  divTo,
  type Fixed,
  fixedString,
  mul,
  neg,
  parseFixed,
  roundTo,
  sub,
  ZERO_FX,
} from './exact';

/**
 * A private decimal.js constructor: 40 significant digits, so products and sums of ledger amounts
 * (at most 18 integer digits + 12 decimals = 30) are exact before they are rounded on purpose; more
 * digits only slow divisions down. Cloned so the global Decimal settings of other modules are untouched.
 */
export const Dec = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_EVEN });
export type Dec = InstanceType<typeof Dec>;
export type DecimalInput = Dec | string | number;

/** Decimals kept on every ledger amount (the database's numeric(30,12)). */
export const LEDGER_SCALE = 12;
const ZERO = new Dec(0);

export function dec(x: DecimalInput): Dec {
  return x instanceof Dec ? x : new Dec(x);
}
export function roundLedger(x: Dec): Dec {
  return x.toDecimalPlaces(LEDGER_SCALE, Dec.ROUND_HALF_EVEN);
}

export interface Position {
  symbol: string;
  baseAsset: string;
  quantity: Dec;
  /** Exact cost of the held quantity, gross of fees (see header). */
  costBasis: Dec;
  realizedPnl: Dec;
  feesPaid: Dec;
}

export interface Book {
  initialCash: Dec;
  cash: Dec;
  realizedPnl: Dec;
  /** All fees, valued in the quote asset at their fill price. */
  feesPaid: Dec;
  positions: Readonly<Record<string, Position>>;
}

export type Side = 'BUY' | 'SELL';

/** What the exchange did: the input of applyFill. Quantities and prices are already final. */
export interface Fill {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  side: Side;
  /** Order quantity in base (already floored to the LOT_SIZE step). */
  quantity: Dec;
  /** Fill price after slippage. */
  price: Dec;
  /** Price before slippage (recorded for the slippage audit). */
  referencePrice: Dec;
  /** Fee rate as a fraction (10 bps = 0.001). */
  feeRate: Dec;
  executedAt: number;
  /** 'signal' | 'stop_loss' | 'take_profit' | 'buy_and_hold' … */
  reason: string;
}

/** One filled ledger line: everything needed to rebuild the book without replaying the math. */
export interface TradeRecord {
  symbol: string;
  side: Side;
  quantity: Dec;
  price: Dec;
  referencePrice: Dec;
  notional: Dec;
  /** Fee in `feeAsset` (base on a buy, quote on a sale). */
  fee: Dec;
  feeAsset: string;
  feeUsd: Dec;
  /** Gross realized PnL of a sale (0 on a buy). */
  realizedPnl: Dec;
  /** Quantity added to (buy) or removed from (sale) the position. */
  positionDelta: Dec;
  /** Cash added (sale) or removed (buy, negative). */
  cashDelta: Dec;
  /** Quantity left in the position after this fill. */
  quantityAfter: Dec;
  executedAt: number;
  reason: string;
}

export function emptyBook(initialCash: DecimalInput): Book {
  const cash = roundLedger(dec(initialCash));
  if (!cash.isFinite() || cash.lte(0)) {
    throw new AppError(
      'VALIDATION_ERROR',
      `initialCash must be a positive amount (got ${String(initialCash)})`,
      {
        field: 'initialCash',
      },
    );
  }
  return { initialCash: cash, cash, realizedPnl: ZERO, feesPaid: ZERO, positions: {} };
}

export function avgEntryPrice(p: Position): Dec {
  return p.quantity.isZero() ? ZERO : roundLedger(p.costBasis.div(p.quantity));
}

/** Equity at the given marks. Every held symbol needs a mark: a missing one is an error, never 0. */
export function equityOf(book: Book, marks: Readonly<Record<string, DecimalInput>>): Dec {
  let equity = book.cash;
  for (const p of Object.values(book.positions)) {
    if (p.quantity.isZero()) continue;
    equity = equity.plus(p.quantity.times(markFor(marks, p.symbol)));
  }
  return equity;
}

export function unrealizedPnl(book: Book, marks: Readonly<Record<string, DecimalInput>>): Dec {
  let u = ZERO;
  for (const p of Object.values(book.positions)) {
    if (p.quantity.isZero() && p.costBasis.isZero()) continue;
    u = u.plus(p.quantity.times(markFor(marks, p.symbol)).minus(p.costBasis));
  }
  return u;
}

function markFor(marks: Readonly<Record<string, DecimalInput>>, symbol: string): Dec {
  const m = marks[symbol];
  if (m === undefined) {
    throw new AppError('VALIDATION_ERROR', `no price given for held symbol ${symbol}`, {
      field: 'prices',
      symbol,
    });
  }
  return dec(m);
}

export function fromDec(d: Dec): Fixed {
  return parseFixed(d.toFixed());
}
export function toDec(x: Fixed): Dec {
  return new Dec(fixedString(x));
}

/** One symbol's side of a book, exact. */
export interface ExactPosition {
  quantity: Fixed;
  costBasis: Fixed;
  realizedPnl: Fixed;
  feesPaid: Fixed;
}
export interface ExactLedger {
  cash: Fixed;
  realizedPnl: Fixed;
  feesPaid: Fixed;
  position: ExactPosition;
}
export interface ExactFill {
  side: Side;
  /** > 0, already floored to the step. */
  quantity: Fixed;
  /** > 0, after slippage. */
  price: Fixed;
  feeRate: Fixed;
  baseAsset: string;
  quoteAsset: string;
}
/** The computed columns of a ledger line (see TradeRecord). */
export interface ExactTrade {
  notional: Fixed;
  fee: Fixed;
  feeUsd: Fixed;
  realizedPnl: Fixed;
  positionDelta: Fixed;
  cashDelta: Fixed;
  quantityAfter: Fixed;
}

function ledgerRound(x: Fixed): Fixed {
  return roundTo(x, LEDGER_SCALE, 'half_even');
}

/**
 * The fill arithmetic of the module header on exact values. Pure. Refuses (AppError CONFLICT) a buy
 * costing more than the cash and a sale of more than is held.
 */
export function fillExact(l: ExactLedger, f: ExactFill): { ledger: ExactLedger; trade: ExactTrade } {
  const pos = l.position;
  const notional = ledgerRound(mul(f.quantity, f.price));
  if (f.side === 'BUY') {
    if (cmp(notional, l.cash) > 0) {
      throw new AppError(
        'CONFLICT',
        `buy of ${decString(notional)} ${f.quoteAsset} exceeds cash ${decString(l.cash)}`,
        { field: 'quantity' },
      );
    }
    const feeBase = ledgerRound(mul(f.quantity, f.feeRate));
    const received = sub(f.quantity, feeBase);
    const feeUsd = ledgerRound(mul(feeBase, f.price));
    const position: ExactPosition = {
      quantity: add(pos.quantity, received),
      costBasis: add(pos.costBasis, sub(notional, feeUsd)),
      realizedPnl: pos.realizedPnl,
      feesPaid: add(pos.feesPaid, feeUsd),
    };
    return {
      ledger: {
        cash: sub(l.cash, notional),
        realizedPnl: l.realizedPnl,
        feesPaid: add(l.feesPaid, feeUsd),
        position,
      },
      trade: {
        notional,
        fee: feeBase,
        feeUsd,
        realizedPnl: ZERO_FX,
        positionDelta: received,
        cashDelta: neg(notional),
        quantityAfter: position.quantity,
      },
    };
  }
  const order = cmp(f.quantity, pos.quantity);
  if (order > 0) {
    throw new AppError(
      'CONFLICT',
      `sale of ${decString(f.quantity)} ${f.baseAsset} exceeds holding ${decString(pos.quantity)}`,
      { field: 'quantity' },
    );
  }
  const feeQuote = ledgerRound(mul(notional, f.feeRate));
  const costRemoved =
    order === 0
      ? pos.costBasis
      : divTo(mul(pos.costBasis, f.quantity), pos.quantity, LEDGER_SCALE, 'half_even').q;
  const realized = sub(notional, costRemoved);
  const position: ExactPosition = {
    quantity: sub(pos.quantity, f.quantity),
    costBasis: sub(pos.costBasis, costRemoved),
    realizedPnl: add(pos.realizedPnl, realized),
    feesPaid: add(pos.feesPaid, feeQuote),
  };
  const cashDelta = sub(notional, feeQuote);
  return {
    ledger: {
      cash: add(l.cash, cashDelta),
      realizedPnl: add(l.realizedPnl, realized),
      feesPaid: add(l.feesPaid, feeQuote),
      position,
    },
    trade: {
      notional,
      fee: feeQuote,
      feeUsd: feeQuote,
      realizedPnl: realized,
      positionDelta: neg(f.quantity),
      cashDelta,
      quantityAfter: position.quantity,
    },
  };
}

/**
 * Apply one fill. Pure: returns a new book and the ledger line. Refuses (AppError, book unchanged) a
 * fill that would break an invariant: a sale of more than is held, a buy costing more than the cash.
 */
export function applyFill(book: Book, fill: Fill): { book: Book; trade: TradeRecord } {
  if (!fill.quantity.isFinite() || fill.quantity.lte(0)) {
    throw new AppError('VALIDATION_ERROR', 'fill quantity must be positive', { field: 'quantity' });
  }
  if (!fill.price.isFinite() || fill.price.lte(0)) {
    throw new AppError('VALIDATION_ERROR', 'fill price must be positive', { field: 'price' });
  }
  const prev: Position = book.positions[fill.symbol] ?? {
    symbol: fill.symbol,
    baseAsset: fill.baseAsset,
    quantity: ZERO,
    costBasis: ZERO,
    realizedPnl: ZERO,
    feesPaid: ZERO,
  };
  const { ledger, trade } = fillExact(
    {
      cash: fromDec(book.cash),
      realizedPnl: fromDec(book.realizedPnl),
      feesPaid: fromDec(book.feesPaid),
      position: {
        quantity: fromDec(prev.quantity),
        costBasis: fromDec(prev.costBasis),
        realizedPnl: fromDec(prev.realizedPnl),
        feesPaid: fromDec(prev.feesPaid),
      },
    },
    {
      side: fill.side,
      quantity: fromDec(fill.quantity),
      price: fromDec(fill.price),
      feeRate: fromDec(fill.feeRate),
      baseAsset: fill.baseAsset,
      quoteAsset: fill.quoteAsset,
    },
  );
  const position: Position = {
    ...prev,
    quantity: toDec(ledger.position.quantity),
    costBasis: toDec(ledger.position.costBasis),
    realizedPnl: toDec(ledger.position.realizedPnl),
    feesPaid: toDec(ledger.position.feesPaid),
  };
  const fee = toDec(trade.fee);
  return {
    book: {
      ...book,
      cash: toDec(ledger.cash),
      realizedPnl: toDec(ledger.realizedPnl),
      feesPaid: toDec(ledger.feesPaid),
      positions: { ...book.positions, [fill.symbol]: position },
    },
    trade: {
      symbol: fill.symbol,
      side: fill.side,
      quantity: fill.quantity,
      price: fill.price,
      referencePrice: fill.referencePrice,
      notional: toDec(trade.notional),
      fee,
      feeAsset: fill.side === 'BUY' ? fill.baseAsset : fill.quoteAsset,
      feeUsd: fill.side === 'BUY' ? toDec(trade.feeUsd) : fee,
      realizedPnl: fill.side === 'BUY' ? ZERO : toDec(trade.realizedPnl),
      positionDelta: toDec(trade.positionDelta),
      cashDelta: toDec(trade.cashDelta),
      quantityAfter: position.quantity,
      executedAt: fill.executedAt,
      reason: fill.reason,
    },
  };
}

/** The ledger's view of a trade: the columns the `trades` table stores. */
export interface LedgerLine {
  symbol: string;
  side: Side;
  quantity: DecimalInput;
  notional: DecimalInput;
  fee: DecimalInput;
  feeUsd: DecimalInput;
  realizedPnl: DecimalInput;
}

export interface RebuiltBook {
  cash: Dec;
  realizedPnl: Dec;
  feesPaid: Dec;
  positions: Record<string, { quantity: Dec; costBasis: Dec; realizedPnl: Dec; feesPaid: Dec }>;
}

/**
 * Rebuild cash and positions from the filled ledger lines alone, by sums (no replay of applyFill),
 * so it is an independent check of the book: buys add quantity - fee (base) and cost notional - feeUsd
 * and take notional from cash; sales remove quantity and cost notional - realizedPnl and add
 * notional - fee to cash.
 */
export function rebuildFromLedger(initialCash: DecimalInput, lines: readonly LedgerLine[]): RebuiltBook {
  let cash = dec(initialCash);
  let realized = ZERO;
  let fees = ZERO;
  const positions: RebuiltBook['positions'] = {};
  for (const l of lines) {
    let p = positions[l.symbol];
    if (!p) {
      p = { quantity: ZERO, costBasis: ZERO, realizedPnl: ZERO, feesPaid: ZERO };
      positions[l.symbol] = p;
    }
    const qty = dec(l.quantity);
    const notional = dec(l.notional);
    const fee = dec(l.fee);
    const feeUsd = dec(l.feeUsd);
    const r = dec(l.realizedPnl);
    if (l.side === 'BUY') {
      p.quantity = p.quantity.plus(qty.minus(fee));
      p.costBasis = p.costBasis.plus(notional.minus(feeUsd));
      cash = cash.minus(notional);
    } else {
      p.quantity = p.quantity.minus(qty);
      p.costBasis = p.costBasis.minus(notional.minus(r));
      p.realizedPnl = p.realizedPnl.plus(r);
      cash = cash.plus(notional.minus(fee));
    }
    p.feesPaid = p.feesPaid.plus(feeUsd);
    realized = realized.plus(r);
    fees = fees.plus(feeUsd);
  }
  return { cash, realizedPnl: realized, feesPaid: fees, positions };
}

/**
 * Check every invariant of BACKTESTING.md; returns the violations (empty when all hold):
 * cash >= 0, quantity >= 0, equity = cash + sum(qty x price), realized + unrealized - fees =
 * equity - initial cash (exactly), and the ledger rebuilds cash and every position exactly.
 */
export function checkInvariants(
  book: Book,
  prices: Readonly<Record<string, DecimalInput>>,
  ledger: readonly LedgerLine[],
): string[] {
  const violations: string[] = [];
  if (book.cash.lt(0)) violations.push(`cash is negative: ${book.cash}`);
  let sumValue = ZERO;
  for (const p of Object.values(book.positions)) {
    if (p.quantity.lt(0)) violations.push(`${p.symbol} quantity is negative: ${p.quantity}`);
    if (p.costBasis.lt(0)) violations.push(`${p.symbol} cost basis is negative: ${p.costBasis}`);
    if (p.quantity.isZero() && !p.costBasis.isZero()) {
      violations.push(`${p.symbol} has cost basis ${p.costBasis} with no quantity`);
    }
    if (!p.quantity.isZero()) sumValue = sumValue.plus(p.quantity.times(markFor(prices, p.symbol)));
  }
  const equity = equityOf(book, prices);
  if (!equity.eq(book.cash.plus(sumValue)))
    violations.push(`equity ${equity} != cash + positions ${sumValue}`);
  const lhs = book.realizedPnl.plus(unrealizedPnl(book, prices)).minus(book.feesPaid);
  const rhs = equity.minus(book.initialCash);
  if (!lhs.eq(rhs)) violations.push(`realized + unrealized - fees = ${lhs} but equity - initial = ${rhs}`);

  const rebuilt = rebuildFromLedger(book.initialCash, ledger);
  if (!rebuilt.cash.eq(book.cash))
    violations.push(`ledger rebuilds cash ${rebuilt.cash}, book has ${book.cash}`);
  if (!rebuilt.realizedPnl.eq(book.realizedPnl)) {
    violations.push(`ledger rebuilds realized ${rebuilt.realizedPnl}, book has ${book.realizedPnl}`);
  }
  if (!rebuilt.feesPaid.eq(book.feesPaid)) {
    violations.push(`ledger rebuilds fees ${rebuilt.feesPaid}, book has ${book.feesPaid}`);
  }
  const symbols = new Set([...Object.keys(rebuilt.positions), ...Object.keys(book.positions)]);
  for (const s of symbols) {
    const r = rebuilt.positions[s];
    const p = book.positions[s];
    const rq = r?.quantity ?? ZERO;
    const pq = p?.quantity ?? ZERO;
    if (!rq.eq(pq)) violations.push(`ledger rebuilds ${s} quantity ${rq}, book has ${pq}`);
    const rc = r?.costBasis ?? ZERO;
    const pc = p?.costBasis ?? ZERO;
    if (!rc.eq(pc)) violations.push(`ledger rebuilds ${s} cost ${rc}, book has ${pc}`);
  }
  return violations;
}

/** Strings for JSON: the book as an API or a snapshot shows it. */
export interface BookJSON {
  initialCash: string;
  cash: string;
  realizedPnl: string;
  feesPaid: string;
  positions: {
    symbol: string;
    quantity: string;
    avgEntryPrice: string;
    costBasis: string;
    realizedPnl: string;
    feesPaid: string;
  }[];
}

export function bookToJSON(book: Book): BookJSON {
  return {
    initialCash: book.initialCash.toFixed(),
    cash: book.cash.toFixed(),
    realizedPnl: book.realizedPnl.toFixed(),
    feesPaid: book.feesPaid.toFixed(),
    positions: Object.values(book.positions)
      .sort((a, b) => a.symbol.localeCompare(b.symbol))
      .map((p) => ({
        symbol: p.symbol,
        quantity: p.quantity.toFixed(),
        avgEntryPrice: avgEntryPrice(p).toFixed(),
        costBasis: p.costBasis.toFixed(),
        realizedPnl: p.realizedPnl.toFixed(),
        feesPaid: p.feesPaid.toFixed(),
      })),
  };
}
