/**
 * Order planning: a trader's decision (BUY/SELL/HOLD and a size in % of equity) becomes an order the
 * exchange would accept, or a recorded rejection. The same function serves the live book and the
 * backtest simulator, so a backtest trades under exactly the live rules.
 *
 * Exported: `planOrder`, `OrderPlan`, `Clamp`, `ClampRule`, `RiskLimits`, `DEFAULT_LIMITS`,
 * `ExecutionCosts`, `DEFAULT_COSTS`, `fillFromPlan`.
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
import { type Book, Dec, type DecimalInput, dec, equityOf, type Fill, roundLedger, type Side } from './book';

export type Action = 'BUY' | 'SELL' | 'HOLD';

export type ClampRule =
  | 'MAX_POSITION'
  | 'MAX_EXPOSURE'
  | 'CASH'
  | 'LOT_SIZE'
  | 'MIN_QTY'
  | 'MIN_NOTIONAL'
  | 'LONG_ONLY'
  | 'DUST';

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
const PER_PCT = new Dec('0.01');

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
  const limits = ctx.limits ?? DEFAULT_LIMITS;
  checkRange('maxPositionPct', limits.maxPositionPct, PCT);
  checkRange('maxTotalExposurePct', limits.maxTotalExposurePct, PCT);
  const costs = ctx.costs ?? DEFAULT_COSTS;
  // A 100% fee or slippage would make a zero price: the maximum is one basis point less.
  checkRange('feeBps', costs.feeBps, BPS - 1);
  checkRange('slippageBps', costs.slippageBps, BPS - 1);
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

function floorToStep(qty: Dec, step: Dec): Dec {
  if (qty.lte(0)) return new Dec(0);
  // Binance steps are powers of ten (0.00000100): truncating decimals is the same floor, without a division.
  const places = powerOfTenPlaces(step);
  if (places !== null) return qty.toDecimalPlaces(places, Dec.ROUND_DOWN);
  return qty.div(step).floor().times(step);
}

const filterCache = new WeakMap<SymbolFilters, { step: Dec; minQty: Dec; minNotional: Dec }>();
/** The filters as decimals, parsed once per filters object (planOrder runs once per backtest decision). */
function filterDecimals(f: SymbolFilters): { step: Dec; minQty: Dec; minNotional: Dec } {
  let v = filterCache.get(f);
  if (!v) {
    v = { step: dec(f.stepSize), minQty: dec(f.minQty), minNotional: dec(f.minNotional) };
    filterCache.set(f, v);
  }
  return v;
}

const stepPlacesCache = new Map<string, number | null>();
/** k when step = 10^-k (k >= 0), else null. */
function powerOfTenPlaces(step: Dec): number | null {
  const key = step.toString();
  let v = stepPlacesCache.get(key);
  if (v === undefined) {
    const k = step.decimalPlaces();
    v = step.eq(new Dec(10).pow(-k)) ? k : null;
    stepPlacesCache.set(key, v);
  }
  return v;
}

/** Plan the order for a decision. Pure; throws AppError only on invalid input. */
export function planOrder(req: OrderRequest, ctx: PlanContext): OrderPlan {
  const { ref } = validate(req, ctx);
  const limits = ctx.limits ?? DEFAULT_LIMITS;
  const costs = ctx.costs ?? DEFAULT_COSTS;
  const f = ctx.filters;
  const { step, minQty, minNotional } = filterDecimals(f);
  const quote = f.quoteAsset;
  const base = f.baseAsset;
  const marks: Record<string, DecimalInput> = { ...(ctx.marks ?? {}), [req.symbol]: ref };
  const equity = equityOf(ctx.book, marks);
  const clamps: Clamp[] = [];
  const held = ctx.book.positions[req.symbol]?.quantity ?? new Dec(0);

  if (req.action === 'HOLD') return { status: 'hold', symbol: req.symbol, clamps, equity, reason: 'HOLD' };
  if (req.sizePct === 0 && !req.closeAll)
    return { status: 'hold', symbol: req.symbol, clamps, equity, reason: 'size 0%' };

  const { slip, fee: feeRate } = ratesOf(costs);
  const side: Side = req.action;
  const price = roundLedger(side === 'BUY' ? ref.times(slip.plus(1)) : ref.times(new Dec(1).minus(slip)));
  const requestedNotional = equity.times(req.sizePct).times(PER_PCT);
  const reject = (rule: ClampRule, reason: string, quantity: Dec): OrderPlan => ({
    status: 'rejected',
    symbol: req.symbol,
    side,
    rule,
    reason,
    clamps,
    equity,
    referencePrice: ref,
    price,
    quantity,
  });
  const money = (x: Dec) => roundLedger(x).toFixed();

  if (side === 'BUY') {
    let notional = requestedNotional;
    const positionValue = held.times(ref);
    const maxPosition = equity.times(limits.maxPositionPct).times(PER_PCT);
    const roomPosition = Dec.max(0, maxPosition.minus(positionValue));
    if (notional.gt(roomPosition)) {
      clamps.push({
        rule: 'MAX_POSITION',
        requested: money(notional),
        allowed: money(roomPosition),
        unit: quote,
        reason: `a position may hold at most ${limits.maxPositionPct}% of equity (${money(maxPosition)} ${quote}); it holds ${money(positionValue)}`,
      });
      notional = roomPosition;
    }
    let exposure = new Dec(0);
    for (const p of Object.values(ctx.book.positions)) {
      if (!p.quantity.isZero()) exposure = exposure.plus(p.quantity.times(dec(marks[p.symbol] ?? 0)));
    }
    const maxExposure = equity.times(limits.maxTotalExposurePct).times(PER_PCT);
    const roomExposure = Dec.max(0, maxExposure.minus(exposure));
    if (notional.gt(roomExposure)) {
      clamps.push({
        rule: 'MAX_EXPOSURE',
        requested: money(notional),
        allowed: money(roomExposure),
        unit: quote,
        reason: `all crypto may be at most ${limits.maxTotalExposurePct}% of equity (${money(maxExposure)} ${quote}); held ${money(exposure)}`,
      });
      notional = roomExposure;
    }
    if (notional.gt(ctx.book.cash)) {
      clamps.push({
        rule: 'CASH',
        requested: money(notional),
        allowed: money(ctx.book.cash),
        unit: quote,
        reason: 'cash may never go negative',
      });
      notional = ctx.book.cash;
    }
    const rawQty = notional.div(price);
    const qty = floorToStep(rawQty, step);
    if (!qty.eq(rawQty)) {
      clamps.push({
        rule: 'LOT_SIZE',
        requested: rawQty.toDecimalPlaces(LOT_DISPLAY_DECIMALS, Dec.ROUND_DOWN).toFixed(),
        allowed: qty.toFixed(),
        unit: base,
        reason: `quantity floored to the LOT_SIZE step ${f.stepSize}`,
      });
    }
    if (qty.lt(minQty) || qty.isZero()) {
      const limitedBy = clamps.find((c) => c.rule !== 'LOT_SIZE');
      clamps.push({
        rule: 'MIN_QTY',
        requested: qty.toFixed(),
        allowed: '0',
        unit: base,
        reason: `quantity under the minimum ${f.minQty}`,
      });
      return reject(
        limitedBy?.rule ?? 'MIN_QTY',
        limitedBy
          ? `nothing left to buy: ${limitedBy.reason}`
          : `quantity ${qty} under the minimum ${f.minQty}`,
        qty,
      );
    }
    const finalNotional = roundLedger(qty.times(price));
    if (finalNotional.lt(minNotional)) {
      clamps.push({
        rule: 'MIN_NOTIONAL',
        requested: money(finalNotional),
        allowed: '0',
        unit: quote,
        reason: `order value under the minimum notional ${f.minNotional} ${quote}`,
      });
      return reject(
        'MIN_NOTIONAL',
        `order value ${money(finalNotional)} ${quote} under minimum ${f.minNotional}`,
        qty,
      );
    }
    return {
      status: 'order',
      symbol: req.symbol,
      side,
      quantity: qty,
      referencePrice: ref,
      price,
      notional: finalNotional,
      feeRate,
      closesPosition: false,
      dustQuantity: new Dec(0),
      clamps,
      equity,
    };
  }

  // SELL
  const sellable = floorToStep(held, step);
  if (sellable.isZero() || sellable.lt(minQty)) {
    clamps.push({
      rule: 'LONG_ONLY',
      requested: money(requestedNotional),
      allowed: '0',
      unit: quote,
      reason: held.isZero() ? `no ${base} held (long-only)` : `only dust held (${held} ${base})`,
    });
    return reject(
      'LONG_ONLY',
      held.isZero() ? `nothing to sell: no ${base} held` : 'only dust held',
      new Dec(0),
    );
  }
  const positionValue = held.times(ref);
  let qty: Dec;
  let closes = false;
  if (req.closeAll || requestedNotional.gte(positionValue)) {
    if (!req.closeAll && requestedNotional.gt(positionValue)) {
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
    const rawQty = requestedNotional.div(ref);
    qty = floorToStep(rawQty, step);
    if (!qty.eq(rawQty)) {
      clamps.push({
        rule: 'LOT_SIZE',
        requested: rawQty.toDecimalPlaces(LOT_DISPLAY_DECIMALS, Dec.ROUND_DOWN).toFixed(),
        allowed: qty.toFixed(),
        unit: base,
        reason: `quantity floored to the LOT_SIZE step ${f.stepSize}`,
      });
    }
    const remainderValue = held.minus(qty).times(ref);
    if (remainderValue.lt(minNotional)) {
      clamps.push({
        rule: 'DUST',
        requested: qty.toFixed(),
        allowed: sellable.toFixed(),
        unit: base,
        reason: `the remainder (${money(remainderValue)} ${quote}) would be under the minimum notional ${f.minNotional} and unsellable: selling the whole position`,
      });
      qty = sellable;
      closes = true;
    }
  }
  if (qty.isZero() || qty.lt(minQty)) {
    clamps.push({
      rule: 'MIN_QTY',
      requested: qty.toFixed(),
      allowed: '0',
      unit: base,
      reason: `quantity under the minimum ${f.minQty}`,
    });
    return reject('MIN_QTY', `quantity ${qty} under the minimum ${f.minQty}`, qty);
  }
  const notional = roundLedger(qty.times(price));
  if (notional.lt(minNotional)) {
    clamps.push({
      rule: 'MIN_NOTIONAL',
      requested: money(notional),
      allowed: '0',
      unit: quote,
      reason: `order value under the minimum notional ${f.minNotional} ${quote}`,
    });
    return reject(
      'MIN_NOTIONAL',
      `order value ${money(notional)} ${quote} under minimum ${f.minNotional}`,
      qty,
    );
  }
  return {
    status: 'order',
    symbol: req.symbol,
    side,
    quantity: qty,
    referencePrice: ref,
    price,
    notional,
    feeRate,
    closesPosition: closes,
    dustQuantity: closes ? held.minus(qty) : new Dec(0),
    clamps,
    equity,
  };
}

/** Requested quantities in LOT_SIZE clamps are shown truncated to this many decimals. */
const LOT_DISPLAY_DECIMALS = 12;

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
