/**
 * Order planning: a trader's decision (BUY/SELL/HOLD and a size in % of equity) becomes an order the
 * exchange would accept, or a recorded rejection. The same function serves the live book and the
 * backtest simulator, so a backtest trades under exactly the live rules.
 *
 * Exported: `planOrder`, `OrderPlan`, `Clamp`, `ClampRule`, `RiskLimits`, `DEFAULT_LIMITS`,
 * `ExecutionCosts`, `DEFAULT_COSTS`, `fillFromPlan`, and the exact kernel `planExact`, `exactRules`,
 * `ExactRules`, `ExactOrderInput`, `ExactPlan`.
 *
 * The rules are implemented ONCE, in `planExact`, on exact scaled BigInts (exact.ts); `planOrder` is
 * its decimal.js face for the live book, the backtest simulator calls `planExact` directly (no
 * decimal.js objects per fill). Amounts are exact until the ledger rounds them on purpose (12 decimals).
 *
 * Rules, in the order they apply (every one that changes the order is recorded as a Clamp, never a
 * silent min()):
 * - Equity for sizing = cash + sum(quantity x mark), the symbol itself marked at the reference price.
 * - BUY: requested notional = equity x sizePct / 100, then clamped by MAX_POSITION (the position's value
 *   after the buy <= maxPositionPct of equity), MAX_EXPOSURE (all crypto after the buy <=
 *   maxTotalExposurePct of equity), CASH (notional <= cash: cash never goes negative); the quantity is
 *   notional / fill price floored to the LOT_SIZE step. Under minQty or minNotional: rejected.
 * - SELL: sizePct is the % of EQUITY to sell (not of the position). Convention "sell all": when the
 *   requested value is at least the position's value at the reference price (sizePct >= 100 always
 *   is), the whole sellable position is sold (LONG_ONLY clamp recorded if more was asked). A partial
 *   sale that would leave less than minNotional behind sells everything instead (DUST clamp), because
 *   that remainder could never be sold later. Quantities are floored to the step; what the step cannot
 *   sell stays in the position as dust, reported in `dustQuantity`.
 * - Slippage moves the fill price against the trader: ref x (1 + bps) on a buy, ref x (1 - bps) on a sale.
 * - Long-only: nothing to sell -> rejected (LONG_ONLY).
 */
import type { SymbolFilters } from '../market/types';
import { AppError } from '../util/errors';
import {
  type Book,
  Dec,
  type DecimalInput,
  dec,
  type Fill,
  fromDec,
  LEDGER_SCALE,
  type Side,
  toDec,
} from './book';
import {
  add,
  cmp,
  decString,
  divTo,
  type Fixed,
  fixed,
  fixedString,
  floorToStep,
  isZero,
  max0,
  mul,
  ONE_FX,
  parseFixed,
  roundTo,
  stepPlaces,
  sub,
  ZERO_FX,
} from './exact';

export type Action = 'BUY' | 'SELL' | 'HOLD';

export type ClampRule =
  | 'MAX_POSITION'
  | 'MAX_EXPOSURE'
  | 'CASH'
  | 'LOT_SIZE'
  | 'MIN_QTY'
  | 'MIN_NOTIONAL'
  | 'LONG_ONLY'
  | 'DUST'
  /** The SIZING rule (shared/outcomes/sizing.ts): fractional Kelly changed the size, or did not apply. */
  | 'KELLY_SIZING';

/** The unit of a sizing clamp's amounts (the trader's size, MAX_POSITION_SIZE_PCT): % of equity. */
export const CLAMP_UNIT_PCT = 'pct_of_equity';

/** A recorded clamp: what was asked, what the rule allowed, and why (amounts as decimal strings). */
export interface Clamp {
  rule: ClampRule;
  requested: string;
  allowed: string;
  /** Unit of requested/allowed: the quote asset (notional) or the base asset (quantity). */
  unit: string;
  reason: string;
}

export interface RiskLimits {
  /** Max value of one asset, % of equity. */
  maxPositionPct: number;
  /** Max value of all crypto held, % of equity. */
  maxTotalExposurePct: number;
}
export const DEFAULT_LIMITS: RiskLimits = { maxPositionPct: 10, maxTotalExposurePct: 80 };

export interface ExecutionCosts {
  /** Fee per fill in basis points (Binance spot: 10 = 0.1%). */
  feeBps: number;
  /** Slippage against the trader in basis points. */
  slippageBps: number;
}
export const DEFAULT_COSTS: ExecutionCosts = { feeBps: 10, slippageBps: 5 };

const BPS = 10_000;
const PCT = 100;
// Multiplying by these is exact and much cheaper than a decimal division.
const PER_BPS = new Dec('0.0001');
/** Requested quantities in LOT_SIZE clamps are shown truncated to this many decimals. */
const LOT_DISPLAY_DECIMALS = 12;

export interface OrderRequest {
  action: Action;
  /** BUY: % of equity to buy. SELL: % of equity to sell (>= position value: sell all). */
  sizePct: number;
  symbol: string;
  /** Price before slippage: the last close, or the next open in a backtest. */
  referencePrice: DecimalInput;
  /** SELL only: sell the whole sellable position whatever sizePct says (stop-loss, take-profit exits). */
  closeAll?: boolean;
}

export interface PlanContext {
  book: Book;
  /** Marks for the other held symbols (the requested symbol is marked at referencePrice). */
  marks?: Readonly<Record<string, DecimalInput>>;
  filters: SymbolFilters;
  limits?: RiskLimits;
  costs?: ExecutionCosts;
}

interface PlanBase {
  symbol: string;
  clamps: Clamp[];
  equity: Dec;
}
export type OrderPlan =
  | (PlanBase & { status: 'hold'; reason: string })
  | (PlanBase & {
      status: 'rejected';
      side: Side;
      rule: ClampRule;
      reason: string;
      referencePrice: Dec;
      price: Dec;
      /** Quantity the order would have had. */
      quantity: Dec;
    })
  | (PlanBase & {
      status: 'order';
      side: Side;
      quantity: Dec;
      referencePrice: Dec;
      /** Fill price after slippage. */
      price: Dec;
      /** quantity x price (before fees). */
      notional: Dec;
      feeRate: Dec;
      /** True when the sale sells the whole sellable position. */
      closesPosition: boolean;
      /** Base quantity left that the step cannot sell (sales that close the position). */
      dustQuantity: Dec;
    });

function validate(req: OrderRequest, ctx: PlanContext): { ref: Dec } {
  if (req.action !== 'BUY' && req.action !== 'SELL' && req.action !== 'HOLD') {
    throw new AppError('VALIDATION_ERROR', `action must be BUY, SELL or HOLD (got ${String(req.action)})`, {
      field: 'action',
    });
  }
  if (!Number.isFinite(req.sizePct) || req.sizePct < 0 || req.sizePct > PCT) {
    throw new AppError('VALIDATION_ERROR', `sizePct must be between 0 and 100 (got ${req.sizePct})`, {
      field: 'sizePct',
    });
  }
  let ref: Dec;
  try {
    ref = dec(req.referencePrice);
  } catch {
    throw new AppError('VALIDATION_ERROR', 'referencePrice must be a number', { field: 'referencePrice' });
  }
  if (!ref.isFinite() || ref.lte(0)) {
    throw new AppError('VALIDATION_ERROR', `referencePrice must be positive (got ${ref})`, {
      field: 'referencePrice',
    });
  }
  if (ctx.filters.symbol !== req.symbol) {
    throw new AppError(
      'VALIDATION_ERROR',
      `filters are for ${ctx.filters.symbol}, order is for ${req.symbol}`,
      {
        field: 'symbol',
      },
    );
  }
  // Limits and costs are checked by exactRules, called right after.
  return { ref };
}

function checkRange(field: string, v: number, max: number): void {
  if (!Number.isFinite(v) || v < 0 || v > max) {
    throw new AppError('VALIDATION_ERROR', `${field} must be between 0 and ${max} (got ${v})`, { field });
  }
}

/** Fee and slippage as decimal fractions, built once per costs object. */
const rateCache = new WeakMap<ExecutionCosts, { feeBps: number; slippageBps: number; fee: Dec; slip: Dec }>();
function ratesOf(costs: ExecutionCosts): { fee: Dec; slip: Dec } {
  let r = rateCache.get(costs);
  // Re-derived if the object was mutated since it was cached.
  if (!r || r.feeBps !== costs.feeBps || r.slippageBps !== costs.slippageBps) {
    r = {
      feeBps: costs.feeBps,
      slippageBps: costs.slippageBps,
      fee: dec(costs.feeBps).times(PER_BPS),
      slip: dec(costs.slippageBps).times(PER_BPS),
    };
    rateCache.set(costs, r);
  }
  return r;
}

/**
 * Everything `planExact` needs besides the book, as exact values, built once per (filters, limits,
 * costs): a backtest builds it once for thousands of orders.
 */
export interface ExactRules {
  filters: SymbolFilters;
  limits: RiskLimits;
  step: Fixed;
  stepPlaces: number | null;
  minQty: Fixed;
  minNotional: Fixed;
  /** maxPositionPct / 100 and maxTotalExposurePct / 100. */
  maxPosition: Fixed;
  maxExposure: Fixed;
  feeRate: Fixed;
  /** 1 + slippage (buys) and 1 - slippage (sales). */
  buyFactor: Fixed;
  sellFactor: Fixed;
}

const PER_PCT_FX = fixed(1n, 2);
const PER_BPS_FX = fixed(1n, 4);

/** Validate limits and costs (AppError naming the field) and derive the exact rules. */
export function exactRules(filters: SymbolFilters, limits: RiskLimits, costs: ExecutionCosts): ExactRules {
  checkRange('maxPositionPct', limits.maxPositionPct, PCT);
  checkRange('maxTotalExposurePct', limits.maxTotalExposurePct, PCT);
  // A 100% fee or slippage would make a zero price: the maximum is one basis point less.
  checkRange('feeBps', costs.feeBps, BPS - 1);
  checkRange('slippageBps', costs.slippageBps, BPS - 1);
  const step = parseFixed(filters.stepSize);
  const slip = mul(parseFixed(costs.slippageBps), PER_BPS_FX);
  return {
    filters,
    limits: { maxPositionPct: limits.maxPositionPct, maxTotalExposurePct: limits.maxTotalExposurePct },
    step,
    stepPlaces: stepPlaces(step),
    minQty: parseFixed(filters.minQty),
    minNotional: parseFixed(filters.minNotional),
    maxPosition: mul(parseFixed(limits.maxPositionPct), PER_PCT_FX),
    maxExposure: mul(parseFixed(limits.maxTotalExposurePct), PER_PCT_FX),
    feeRate: mul(parseFixed(costs.feeBps), PER_BPS_FX),
    buyFactor: add(ONE_FX, slip),
    sellFactor: sub(ONE_FX, slip),
  };
}

/** The inputs of `planExact`: one symbol's side of the book, exact. */
export interface ExactOrderInput {
  action: Action;
  /** Already validated: 0..100. */
  sizePct: Fixed;
  closeAll: boolean;
  /** Price before slippage, > 0. */
  ref: Fixed;
  cash: Fixed;
  /** Quantity of this symbol held. */
  held: Fixed;
  /** Value of every OTHER held symbol at its mark. */
  othersValue: Fixed;
}

export type ExactPlan =
  | { status: 'hold'; reason: string; clamps: Clamp[]; equity: Fixed }
  | {
      status: 'rejected';
      side: Side;
      rule: ClampRule;
      reason: string;
      clamps: Clamp[];
      equity: Fixed;
      price: Fixed;
      quantity: Fixed;
    }
  | {
      status: 'order';
      side: Side;
      quantity: Fixed;
      price: Fixed;
      notional: Fixed;
      closesPosition: boolean;
      dustQuantity: Fixed;
      clamps: Clamp[];
      equity: Fixed;
    };

/** Money as recorded in a clamp: rounded to the ledger scale. */
function money(x: Fixed): string {
  return fixedString(roundTo(x, LEDGER_SCALE, 'half_even'));
}

function rejectWith(
  side: Side,
  equity: Fixed,
  price: Fixed,
  clamps: Clamp[],
  rule: ClampRule,
  reason: string,
  quantity: Fixed,
): ExactPlan {
  return { status: 'rejected', side, rule, reason, clamps, equity, price, quantity };
}

/** The MIN_QTY clamp, for buys and sells alike: the quantity is zero or under the lot minimum. */
function recordMinQty(qty: Fixed, rules: ExactRules, clamps: Clamp[]): void {
  clamps.push({
    rule: 'MIN_QTY',
    requested: fixedString(qty),
    allowed: '0',
    unit: rules.filters.baseAsset,
    reason: `quantity under the minimum ${rules.filters.minQty}`,
  });
}

/**
 * The last rule of buys and sells alike: the order's value at the fill price, on the ledger's scale,
 * must reach MIN_NOTIONAL. Under it the order is rejected, with the clamp recorded; else it is the order.
 */
function orderUnlessUnderMinNotional(
  side: Side,
  equity: Fixed,
  price: Fixed,
  qty: Fixed,
  rules: ExactRules,
  clamps: Clamp[],
  closesPosition: boolean,
  dustQuantity: Fixed,
): ExactPlan {
  const notional = roundTo(mul(qty, price), LEDGER_SCALE, 'half_even');
  if (cmp(notional, rules.minNotional) < 0) {
    const quote = rules.filters.quoteAsset;
    const minimum = rules.filters.minNotional;
    clamps.push({
      rule: 'MIN_NOTIONAL',
      requested: money(notional),
      allowed: '0',
      unit: quote,
      reason: `order value under the minimum notional ${minimum} ${quote}`,
    });
    return rejectWith(
      side,
      equity,
      price,
      clamps,
      'MIN_NOTIONAL',
      `order value ${money(notional)} ${quote} under minimum ${minimum}`,
      qty,
    );
  }
  return {
    status: 'order',
    side,
    quantity: qty,
    price,
    notional,
    closesPosition,
    dustQuantity,
    clamps,
    equity,
  };
}

/** notional / unitPrice floored to the step; records a LOT_SIZE clamp when that cut something. */
function floorLot(notional: Fixed, unitPrice: Fixed, rules: ExactRules, clamps: Clamp[]): Fixed {
  let qty: Fixed;
  let exact: boolean;
  if (notional.m <= 0n) {
    qty = ZERO_FX;
    exact = notional.m === 0n;
  } else if (rules.stepPlaces !== null) {
    ({ q: qty, exact } = divTo(notional, unitPrice, rules.stepPlaces, 'down'));
  } else {
    qty = mul(divTo(notional, mul(unitPrice, rules.step), 0, 'down').q, rules.step);
    exact = cmp(mul(qty, unitPrice), notional) === 0;
  }
  if (!exact) {
    clamps.push({
      rule: 'LOT_SIZE',
      requested: fixedString(divTo(notional, unitPrice, LOT_DISPLAY_DECIMALS, 'down').q),
      allowed: fixedString(qty),
      unit: rules.filters.baseAsset,
      reason: `quantity floored to the LOT_SIZE step ${rules.filters.stepSize}`,
    });
  }
  return qty;
}

/**
 * The order rules of the module header on exact values: the single implementation behind `planOrder`
 * (the live book) and the backtest simulator. Pure.
 */
export function planExact(req: ExactOrderInput, rules: ExactRules): ExactPlan {
  const f = rules.filters;
  const quote = f.quoteAsset;
  const base = f.baseAsset;
  const { held, ref } = req;
  const positionValue = mul(held, ref);
  const equity = add(add(req.cash, positionValue), req.othersValue);
  const clamps: Clamp[] = [];

  if (req.action === 'HOLD') return { status: 'hold', clamps, equity, reason: 'HOLD' };
  if (isZero(req.sizePct) && !req.closeAll) return { status: 'hold', clamps, equity, reason: 'size 0%' };

  const side: Side = req.action;
  const price = roundTo(
    mul(ref, side === 'BUY' ? rules.buyFactor : rules.sellFactor),
    LEDGER_SCALE,
    'half_even',
  );
  const requestedNotional = mul(mul(equity, req.sizePct), PER_PCT_FX);
  // No closures per call: planExact runs once per backtest decision.
  const reject = rejectWith;

  if (side === 'BUY') {
    let notional = requestedNotional;
    const maxPosition = mul(equity, rules.maxPosition);
    const roomPosition = max0(sub(maxPosition, positionValue));
    if (cmp(notional, roomPosition) > 0) {
      clamps.push({
        rule: 'MAX_POSITION',
        requested: money(notional),
        allowed: money(roomPosition),
        unit: quote,
        reason: `a position may hold at most ${rules.limits.maxPositionPct}% of equity (${money(maxPosition)} ${quote}); it holds ${money(positionValue)}`,
      });
      notional = roomPosition;
    }
    const exposure = add(positionValue, req.othersValue);
    const maxExposure = mul(equity, rules.maxExposure);
    const roomExposure = max0(sub(maxExposure, exposure));
    if (cmp(notional, roomExposure) > 0) {
      clamps.push({
        rule: 'MAX_EXPOSURE',
        requested: money(notional),
        allowed: money(roomExposure),
        unit: quote,
        reason: `all crypto may be at most ${rules.limits.maxTotalExposurePct}% of equity (${money(maxExposure)} ${quote}); held ${money(exposure)}`,
      });
      notional = roomExposure;
    }
    if (cmp(notional, req.cash) > 0) {
      clamps.push({
        rule: 'CASH',
        requested: money(notional),
        allowed: money(req.cash),
        unit: quote,
        reason: 'cash may never go negative',
      });
      notional = req.cash;
    }
    const qty = floorLot(notional, price, rules, clamps);
    if (cmp(qty, rules.minQty) < 0 || isZero(qty)) {
      const limitedBy = clamps.find((c) => c.rule !== 'LOT_SIZE');
      recordMinQty(qty, rules, clamps);
      return reject(
        side,
        equity,
        price,
        clamps,
        limitedBy?.rule ?? 'MIN_QTY',
        limitedBy
          ? `nothing left to buy: ${limitedBy.reason}`
          : `quantity ${decString(qty)} under the minimum ${f.minQty}`,
        qty,
      );
    }
    return orderUnlessUnderMinNotional(side, equity, price, qty, rules, clamps, false, ZERO_FX);
  }

  // SELL
  const sellable = floorToStep(held, rules.step, rules.stepPlaces);
  if (isZero(sellable) || cmp(sellable, rules.minQty) < 0) {
    clamps.push({
      rule: 'LONG_ONLY',
      requested: money(requestedNotional),
      allowed: '0',
      unit: quote,
      reason: isZero(held) ? `no ${base} held (long-only)` : `only dust held (${decString(held)} ${base})`,
    });
    return reject(
      side,
      equity,
      price,
      clamps,
      'LONG_ONLY',
      isZero(held) ? `nothing to sell: no ${base} held` : 'only dust held',
      ZERO_FX,
    );
  }
  let qty: Fixed;
  let closes = false;
  if (req.closeAll || cmp(requestedNotional, positionValue) >= 0) {
    if (!req.closeAll && cmp(requestedNotional, positionValue) > 0) {
      clamps.push({
        rule: 'LONG_ONLY',
        requested: money(requestedNotional),
        allowed: money(positionValue),
        unit: quote,
        reason: 'sale larger than the position: selling the whole position (long-only)',
      });
    }
    qty = sellable;
    closes = true;
  } else {
    qty = floorLot(requestedNotional, ref, rules, clamps);
    const remainderValue = mul(sub(held, qty), ref);
    if (cmp(remainderValue, rules.minNotional) < 0) {
      clamps.push({
        rule: 'DUST',
        requested: fixedString(qty),
        allowed: fixedString(sellable),
        unit: base,
        reason: `the remainder (${money(remainderValue)} ${quote}) would be under the minimum notional ${f.minNotional} and unsellable: selling the whole position`,
      });
      qty = sellable;
      closes = true;
    }
  }
  if (isZero(qty) || cmp(qty, rules.minQty) < 0) {
    recordMinQty(qty, rules, clamps);
    return reject(
      side,
      equity,
      price,
      clamps,
      'MIN_QTY',
      `quantity ${decString(qty)} under the minimum ${f.minQty}`,
      qty,
    );
  }
  return orderUnlessUnderMinNotional(
    side,
    equity,
    price,
    qty,
    rules,
    clamps,
    closes,
    closes ? sub(held, qty) : ZERO_FX,
  );
}

/** Plan the order for a decision. Pure; throws AppError only on invalid input. */
export function planOrder(req: OrderRequest, ctx: PlanContext): OrderPlan {
  const { ref } = validate(req, ctx);
  const rules = exactRules(ctx.filters, ctx.limits ?? DEFAULT_LIMITS, ctx.costs ?? DEFAULT_COSTS);
  // Other held symbols at their marks (a missing mark is an error, never 0; see equityOf).
  let othersValue = ZERO_FX;
  for (const p of Object.values(ctx.book.positions)) {
    if (p.symbol === req.symbol || p.quantity.isZero()) continue;
    const mark = ctx.marks?.[p.symbol];
    if (mark === undefined) {
      throw new AppError('VALIDATION_ERROR', `no price given for held symbol ${p.symbol}`, {
        field: 'prices',
        symbol: p.symbol,
      });
    }
    othersValue = add(othersValue, mul(fromDec(p.quantity), fromDec(dec(mark))));
  }
  const held = ctx.book.positions[req.symbol]?.quantity;
  const plan = planExact(
    {
      action: req.action,
      sizePct: parseFixed(req.sizePct),
      closeAll: req.closeAll === true,
      ref: fromDec(ref),
      cash: fromDec(ctx.book.cash),
      held: held ? fromDec(held) : ZERO_FX,
      othersValue,
    },
    rules,
  );
  const equity = toDec(plan.equity);
  const symbol = req.symbol;
  if (plan.status === 'hold')
    return { status: 'hold', symbol, clamps: plan.clamps, equity, reason: plan.reason };
  if (plan.status === 'rejected') {
    return {
      status: 'rejected',
      symbol,
      side: plan.side,
      rule: plan.rule,
      reason: plan.reason,
      clamps: plan.clamps,
      equity,
      referencePrice: ref,
      price: toDec(plan.price),
      quantity: toDec(plan.quantity),
    };
  }
  return {
    status: 'order',
    symbol,
    side: plan.side,
    quantity: toDec(plan.quantity),
    referencePrice: ref,
    price: toDec(plan.price),
    notional: toDec(plan.notional),
    feeRate: ratesOf(ctx.costs ?? DEFAULT_COSTS).fee,
    closesPosition: plan.closesPosition,
    dustQuantity: toDec(plan.dustQuantity),
    clamps: plan.clamps,
    equity,
  };
}

/** The fill an accepted plan produces (the simulated exchange fills the whole order at `price`). */
export function fillFromPlan(
  plan: Extract<OrderPlan, { status: 'order' }>,
  filters: SymbolFilters,
  executedAt: number,
  reason: string,
): Fill {
  return {
    symbol: plan.symbol,
    baseAsset: filters.baseAsset,
    quoteAsset: filters.quoteAsset,
    side: plan.side,
    quantity: plan.quantity,
    price: plan.price,
    referencePrice: plan.referencePrice,
    feeRate: plan.feeRate,
    executedAt,
    reason,
  };
}
