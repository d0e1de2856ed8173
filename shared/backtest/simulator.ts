/**
 * The backtest simulator: one PURE, deterministic, sequential pass over candles and timed decisions.
 *
 * Exported: `simulate`, `TimedDecision`, `SimulationInput`, `SimulationSettings`, `SimulationResult`,
 * `SimFill`, `SimRejection`, `FillTiming`, `tradeListHash`.
 *
 * Design decisions (every one is also printed in `result.assumptions`):
 * - A decision is taken at the close of bar d: `decisionTime` must be exactly that bar's known-at time
 *   (openTime + interval, = closeTime + 1; see indicators/market-view.ts `barKnownAt`). Any other
 *   timestamp is rejected (VALIDATION_ERROR): we never guess which bar a decision meant.
 * - It fills at the OPEN of bar d+1 by default (`fillAt: 'next_close'` for that bar's close); never on
 *   bar d, and never on a bar that opened before the decision (Binance's misaligned Feb-2018 bars: the
 *   fill moves to the next bar that opens after it). A decision with no such bar is reported in
 *   `unfilled`, not filled.
 * - The range ends at `settings.endTime` when given (a backtest's `end_date`): a bar belongs to the
 *   range when its close is known by then (openTime + interval <= endTime). Nothing uses a bar past it:
 *   the equity curve, the final mark and buy-and-hold end at the last close inside the range, stops are
 *   not checked past it, and a decision whose fill bar (d+1) lies past it is reported in `unfilled` with
 *   that reason (its order would execute after the range). Without `endTime` the range is the candles.
 * - Orders go through the SAME rules as the live book (shared/portfolio): `planExact`/`fillExact`, the
 *   exact kernels behind `planOrder`/`applyFill` (limits, LOT_SIZE, min notional, fees from the asset
 *   received, slippage against the trader). The simulator calls the kernels directly on exact scaled
 *   BigInts, so a fill allocates no decimal.js objects (the bench's ~20 us per fill was decimal.js);
 *   only the per-bar mark-to-market uses float64 (statistics, never written back).
 * - Stop-loss / take-profit: levels are set from the fill price of a BUY that carries them and apply to
 *   the whole position (a later BUY without them keeps the current levels; closing clears them). They
 *   are checked intrabar on every bar after the fill (in `next_open` mode including the fill bar, whose
 *   whole range happens after its open), pessimistically: if the low reaches the stop, the stop wins
 *   even if the high also reached the take-profit; a gap through the stop fills at the open; a
 *   take-profit fills at its level (a favourable gap is not credited). Intrabar exits are stamped with
 *   the bar's open time (the exact minute is unknown). Exits pay slippage and fees like any fill.
 * - Order of events within a bar: open fill (next_open) -> stop/take-profit -> close fill (next_close)
 *   -> mark at the close.
 * - The equity curve starts at the first decision's bar (equity = initial cash) and has one point per
 *   bar to the end of the candles, stamped with the bar's known-at time.
 * - Buy and hold: 100% of the initial cash bought at the first decision's fill (same fees, slippage,
 *   filters; position limits lifted), marked at every bar like the strategy.
 * - Round trips: a trip opens with a BUY on a book holding nothing sellable and closes with the sale
 *   that sells the whole sellable position; its PnL is the realized PnL of its sales minus all of its
 *   fees. Dust a LOT_SIZE step cannot sell stays in the book (and in the next trip's cost).
 */
import { createHash } from 'node:crypto';
import { barKnownAt } from '../indicators/market-view';
import { type Candle, filtersFor, type SymbolFilters, TIMEFRAME_MS, type Timeframe } from '../market/types';
import { FifoLots } from '../outcomes/ledger';
import { type SizingSettings, sizeBuy } from '../outcomes/sizing';
import type { OutcomeLike } from '../outcomes/stats';
import {
  type Action,
  applyFill,
  type Book,
  type BookJSON,
  bookToJSON,
  type Clamp,
  DEFAULT_COSTS,
  DEFAULT_LIMITS,
  Dec,
  type ExactLedger,
  type ExactPlan,
  type ExactRules,
  type ExactTrade,
  emptyBook,
  exactRules,
  fillExact,
  fillFromPlan,
  fromDec,
  planExact,
  planOrder,
  type RiskLimits,
  toDec,
} from '../portfolio';
import {
  add,
  type Fixed,
  fixed,
  fixedString,
  fixedToNumber,
  mul,
  ONE_FX,
  parseFixed,
  sub,
  ZERO_FX,
} from '../portfolio/exact';
import { AppError } from '../util/errors';
import { computeMetrics, type EquityStats, equityStats, type Metrics, type RoundTrip } from './metrics';

export type FillTiming = 'next_open' | 'next_close';

export interface TimedDecision {
  /** Epoch ms of the close of the bar decided on (openTime + interval). */
  decisionTime: number;
  action: Action;
  /** % of equity (BUY: to buy; SELL: to sell, >= the position's value sells all). */
  sizePct: number;
  /** Stop-loss distance below the fill price, % (BUY only). */
  stopLossPct?: number;
  /** Take-profit distance above the fill price, % (BUY only). */
  takeProfitPct?: number;
  /** Fraction of full Kelly for this BUY (the strategy version it ran under); default sizing.fraction. */
  kellyFraction?: number;
  decisionId?: string;
}

export interface SimulationSettings {
  symbol: string;
  initialCash: number | string;
  feeBps?: number;
  slippageBps?: number;
  limits?: RiskLimits;
  /** Exchange filters; default `filtersFor(symbol)`. */
  filters?: SymbolFilters;
  fillAt?: FillTiming;
  /**
   * SIZING for BUYs (shared/outcomes/sizing.ts): Kelly from this simulation's own outcomes (FIFO lots,
   * shared/outcomes/ledger.ts) closed strictly before each decision's time. Absent or 'trader': the
   * decisions' sizes, and no outcome is tracked here (the hot path stays as it was).
   */
  sizing?: SizingSettings;
  /**
   * Epoch ms the simulated range ends at (a backtest's end_date): bars whose close is later are not used
   * at all (see the header). Absent: the range ends with the candles.
   */
  endTime?: number;
}

export interface SimulationInput {
  candles: readonly Candle[];
  timeframe: Timeframe;
  decisions: readonly TimedDecision[];
  settings: SimulationSettings;
}

/** A filled order, amounts as exact decimal strings. */
export interface SimFill {
  seq: number;
  decisionId: string | null;
  decisionTime: number | null;
  executedAt: number;
  barIndex: number;
  side: 'BUY' | 'SELL';
  /** 'signal' | 'stop_loss' | 'take_profit' */
  reason: string;
  quantity: string;
  price: string;
  referencePrice: string;
  notional: string;
  fee: string;
  feeAsset: string;
  feeUsd: string;
  realizedPnl: string;
  quantityAfter: string;
  clamps: Clamp[];
}

export interface SimRejection {
  decisionId: string | null;
  decisionTime: number | null;
  executedAt: number;
  side: 'BUY' | 'SELL';
  reason: string;
  rule: string;
  clamps: Clamp[];
}

export interface SimulationResult {
  fills: SimFill[];
  rejections: SimRejection[];
  /** Decisions that could not fill (no bar after them in the data). */
  unfilled: { decisionId: string | null; decisionTime: number; reason: string }[];
  trades: RoundTrip[];
  equityCurve: { timestamp: number; equity: number }[];
  metrics: Metrics;
  buyAndHold:
    | (EquityStats & {
        entryTime: number;
        entryPrice: string;
        quantity: string;
        fees: string;
        /** Buy-and-hold equity at the same timestamps as `equityCurve`. */
        equityCurve: { timestamp: number; equity: number }[];
      })
    | null;
  assumptions: string[];
  finalBook: BookJSON;
  /** The price and time the final book is marked at (what is still open closes there as end_of_backtest). */
  finalMark: { price: string; time: number };
  tradeListHash: string;
}

const PCT = 100;
const PER_PCT_FX = fixed(1n, 2);

function validateDecision(d: TimedDecision, k: number): void {
  const field = (f: string) => `decisions[${k}].${f}`;
  if (!Number.isFinite(d.decisionTime)) {
    throw new AppError('VALIDATION_ERROR', `${field('decisionTime')} must be epoch ms`, {
      field: field('decisionTime'),
    });
  }
  if (d.action !== 'BUY' && d.action !== 'SELL' && d.action !== 'HOLD') {
    throw new AppError('VALIDATION_ERROR', `${field('action')} must be BUY, SELL or HOLD`, {
      field: field('action'),
    });
  }
  if (!Number.isFinite(d.sizePct) || d.sizePct < 0 || d.sizePct > PCT) {
    throw new AppError('VALIDATION_ERROR', `${field('sizePct')} must be between 0 and 100`, {
      field: field('sizePct'),
    });
  }
  for (const f of ['stopLossPct', 'takeProfitPct'] as const) {
    const v = d[f];
    if (v !== undefined && !(Number.isFinite(v) && v > 0 && (f === 'takeProfitPct' || v < PCT))) {
      throw new AppError('VALIDATION_ERROR', `${field(f)} must be a positive percentage`, {
        field: field(f),
      });
    }
  }
}

/** sha256 over the canonical fill list: the determinism fingerprint (as jesse guards refactors). */
export function tradeListHash(fills: readonly SimFill[]): string {
  // One update over the joined lines: the same digest as one update per line, far fewer native calls.
  const lines = new Array<string>(fills.length);
  for (let i = 0; i < fills.length; i++) {
    const f = fills[i] as SimFill;
    lines[i] =
      `${f.seq}|${f.executedAt}|${f.side}|${f.reason}|${f.quantity}|${f.price}|${f.fee}|${f.feeUsd}|${f.realizedPnl}\n`;
  }
  return createHash('sha256').update(lines.join('')).digest('hex');
}

/** How many leading candles lie in a range ending at `endTime`: their close is known by then. */
export function barsInRange(candles: readonly Candle[], timeframe: Timeframe, endTime: number): number {
  let knownAt = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < candles.length; i++) {
    knownAt = Math.max(knownAt, barKnownAt(candles[i] as Candle, timeframe));
    if (knownAt > endTime) return i;
  }
  return candles.length;
}

export function simulate(input: SimulationInput): SimulationResult {
  const { timeframe, decisions, settings } = input;
  if (!(timeframe in TIMEFRAME_MS)) {
    throw new AppError('UNSUPPORTED_TIMEFRAME', `unsupported timeframe ${String(timeframe)}`, {
      field: 'timeframe',
    });
  }
  const endTime = settings.endTime;
  if (endTime !== undefined && !Number.isFinite(endTime)) {
    throw new AppError('VALIDATION_ERROR', 'settings.endTime must be epoch ms', {
      field: 'settings.endTime',
    });
  }
  // Bars past the range are cut off here, so nothing below can read them.
  const inRange =
    endTime === undefined ? input.candles.length : barsInRange(input.candles, timeframe, endTime);
  const dataAfterRange = inRange < input.candles.length;
  const candles = dataAfterRange ? input.candles.slice(0, inRange) : input.candles;
  const n = candles.length;
  if (n < 2)
    throw new AppError('INSUFFICIENT_DATA', 'a backtest needs at least 2 candles', { field: 'candles' });
  if (decisions.length === 0) {
    throw new AppError('VALIDATION_ERROR', 'a backtest needs at least one decision', { field: 'decisions' });
  }
  const fillAt: FillTiming = settings.fillAt ?? 'next_open';
  if (fillAt !== 'next_open' && fillAt !== 'next_close') {
    throw new AppError('VALIDATION_ERROR', 'settings.fillAt must be next_open or next_close', {
      field: 'settings.fillAt',
    });
  }
  const filters = settings.filters ?? filtersFor(settings.symbol);
  const limits = settings.limits ?? DEFAULT_LIMITS;
  const costs = {
    feeBps: settings.feeBps ?? DEFAULT_COSTS.feeBps,
    slippageBps: settings.slippageBps ?? DEFAULT_COSTS.slippageBps,
  };

  // The two columns every bar reads, as typed arrays; open/high/low/openTime are read from the candles
  // only on events (fills, armed stops), so they are not copied (less to allocate per run).
  const close = new Float64Array(n);
  const known = new Float64Array(n);
  const interval = TIMEFRAME_MS[timeframe];
  /** Indices i where bar i opens more than one interval after bar i - 1 (gaps are rare: a short list). */
  const gapAt: number[] = [];
  let prevKnown = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const c = candles[i] as Candle;
    if (i > 0 && c.openTime - (candles[i - 1] as Candle).openTime > interval) gapAt.push(i);
    if (i > 0 && !(c.openTime > (candles[i - 1] as Candle).openTime)) {
      throw new AppError(
        'VALIDATION_ERROR',
        `candles must be sorted by openTime without duplicates (index ${i})`,
        {
          field: 'candles',
        },
      );
    }
    close[i] = c.close;
    prevKnown = Math.max(prevKnown, barKnownAt(c, timeframe));
    known[i] = prevKnown;
  }

  // Map each decision to the bar it was taken on (exact known-at match), by a merge walk.
  const m = decisions.length;
  const decisionBar = new Int32Array(m);
  const fillBar = new Int32Array(m);
  let b = 0;
  for (let k = 0; k < m; k++) {
    const d = decisions[k] as TimedDecision;
    validateDecision(d, k);
    if (endTime !== undefined && d.decisionTime > endTime) {
      throw new AppError(
        'VALIDATION_ERROR',
        `decisions[${k}].decisionTime ${new Date(d.decisionTime).toISOString()} is after the range's end ${new Date(endTime).toISOString()}`,
        { field: `decisions[${k}].decisionTime`, decisionTime: d.decisionTime },
      );
    }
    if (k > 0 && !(d.decisionTime > (decisions[k - 1] as TimedDecision).decisionTime)) {
      throw new AppError('VALIDATION_ERROR', `decisions must be in increasing time order (decisions[${k}])`, {
        field: `decisions[${k}].decisionTime`,
      });
    }
    while (b < n && (known[b] as number) < d.decisionTime) b++;
    if (b >= n || known[b] !== d.decisionTime) {
      throw new AppError(
        'VALIDATION_ERROR',
        `decisions[${k}].decisionTime ${new Date(d.decisionTime).toISOString()} is not the close of a ${timeframe} bar in the data: a decision is taken on a bar's close (openTime + interval)`,
        { field: `decisions[${k}].decisionTime`, decisionTime: d.decisionTime },
      );
    }
    decisionBar[k] = b;
    // The fill bar: the next bar that opens at or after the decision (d+1, except after Binance's
    // misaligned 2018 bars, where the next bar can open before the previous one is known).
    let f = b + 1;
    while (f < n && (candles[f] as Candle).openTime < d.decisionTime) f++;
    fillBar[k] = f;
  }

  const start = decisionBar[0] as number;
  const points = n - start;
  const equity = new Float64Array(points);
  // An equity point is stamped with its bar's known-at time: a view on `known`, not a copy.
  const stamps = known.subarray(start);
  const step = Number(filters.stepSize);

  const startBook: Book = emptyBook(settings.initialCash);
  const initial = startBook.initialCash.toNumber();
  const flatPosition = { quantity: ZERO_FX, costBasis: ZERO_FX, realizedPnl: ZERO_FX, feesPaid: ZERO_FX };
  let ledger: ExactLedger = {
    cash: fromDec(startBook.cash),
    realizedPnl: ZERO_FX,
    feesPaid: ZERO_FX,
    position: flatPosition,
  };
  /** The book has a position entry once anything filled (as applyFill creates it). */
  let traded = false;
  // Built on the first order, so invalid filters/limits/costs fail exactly when planOrder would.
  let rules: ExactRules | null = null;
  let cashF = initial;
  let qtyF = 0;
  let stopF = Number.NaN;
  let takeF = Number.NaN;
  let stopFx: Fixed | null = null;
  let takeFx: Fixed | null = null;
  const fills: SimFill[] = [];
  const rejections: SimRejection[] = [];
  const unfilled: SimulationResult['unfilled'] = [];
  const trips: RoundTrip[] = [];
  let trip: OpenTrip | null = null;
  let tradedNotional = 0;
  const sizing = settings.sizing && settings.sizing.mode !== 'trader' ? settings.sizing : null;
  const stepFx = parseFixed(filters.stepSize);
  const lots = sizing ? new FifoLots(() => stepFx) : null;
  /** Outcomes closed so far, in exit order (only with Kelly sizing). */
  const closed: OutcomeLike[] = [];

  /** Record a fill (and its round trip); returns the quantity held after it, as a string. */
  const record = (
    trade: ExactTrade,
    plan: Extract<ExactPlan, { status: 'order' }>,
    ref: Fixed,
    time: number,
    reason: string,
    bar: number,
    d: TimedDecision | null,
    extraClamps: Clamp[] | null,
  ): string => {
    // Strings once (as Decimal#toFixed); the float statistics parse those strings.
    const quantity = fixedString(plan.quantity);
    const notionalStr = fixedString(trade.notional);
    const feeUsdStr = fixedString(trade.feeUsd);
    const realizedStr = fixedString(trade.realizedPnl);
    const quantityAfter = fixedString(trade.quantityAfter);
    const side = plan.side;
    fills.push({
      seq: fills.length + 1,
      decisionId: d?.decisionId ?? null,
      decisionTime: d?.decisionTime ?? null,
      executedAt: time,
      barIndex: bar,
      side,
      reason,
      quantity,
      price: fixedString(plan.price),
      referencePrice: fixedString(ref),
      notional: notionalStr,
      fee: fixedString(trade.fee),
      feeAsset: side === 'BUY' ? filters.baseAsset : filters.quoteAsset,
      feeUsd: feeUsdStr,
      realizedPnl: realizedStr,
      quantityAfter,
      clamps: extraClamps ? [...extraClamps, ...plan.clamps] : plan.clamps,
    });
    if (lots) {
      for (const o of lots.apply({
        tradeId: null,
        decisionId: d?.decisionId ?? null,
        symbol: settings.symbol,
        side,
        reason,
        quantity: plan.quantity,
        price: plan.price,
        notional: trade.notional,
        fee: trade.fee,
        feeUsd: trade.feeUsd,
        executedAt: time,
      }))
        closed.push({ exitTime: o.exitTime, pnlUsdt: o.pnlUsdt, pnlPct: o.pnlPct, exitReason: o.exitReason });
    }
    const notional = Number(notionalStr);
    const feeUsd = Number(feeUsdStr);
    tradedNotional += notional;
    if (side === 'BUY') {
      if (!trip) {
        trip = {
          symbol: settings.symbol,
          entryTime: time,
          exitTime: null,
          entryPrice: 0,
          exitPrice: null,
          quantityBought: 0,
          buyNotional: 0,
          sellNotional: 0,
          fees: 0,
          pnl: 0,
          returnFraction: 0,
          barsHeld: 0,
          exitReason: null,
          closed: false,
          fills: 0,
          realized: 0,
          soldQty: 0,
          entryBar: bar,
        };
      }
      trip.quantityBought += Number(quantity);
      trip.buyNotional += notional;
    } else if (trip) {
      trip.sellNotional += notional;
      trip.soldQty += Number(quantity);
      trip.realized += Number(realizedStr);
    }
    if (!trip) return quantityAfter;
    trip.fees += feeUsd;
    trip.fills += 1;
    if (side === 'SELL' && plan.closesPosition) {
      trips.push(finishTrip(trip, time, bar, reason, true, 0));
      trip = null;
    }
    return quantityAfter;
  };

  const rulesFor = (): ExactRules => {
    if (filters.symbol !== settings.symbol) {
      throw new AppError(
        'VALIDATION_ERROR',
        `filters are for ${filters.symbol}, order is for ${settings.symbol}`,
        { field: 'symbol' },
      );
    }
    rules = exactRules(filters, limits, costs);
    return rules;
  };

  const execute = (
    action: 'BUY' | 'SELL',
    sizePct: number,
    ref: number | Fixed,
    time: number,
    bar: number,
    reason: string,
    d: TimedDecision | null,
    closeAll = false,
    extraClamps: Clamp[] | null = null,
  ) => {
    if (typeof ref === 'number' && !(Number.isFinite(ref) && ref > 0)) {
      throw new AppError('VALIDATION_ERROR', `referencePrice must be positive (got ${ref})`, {
        field: 'referencePrice',
      });
    }
    const r = rules ?? rulesFor();
    const refFx = typeof ref === 'number' ? parseFixed(ref) : ref;
    const plan = planExact(
      {
        action,
        sizePct: parseFixed(sizePct),
        closeAll,
        ref: refFx,
        cash: ledger.cash,
        held: ledger.position.quantity,
        othersValue: ZERO_FX,
      },
      r,
    );
    if (plan.status === 'hold') return;
    if (plan.status === 'rejected') {
      rejections.push({
        decisionId: d?.decisionId ?? null,
        decisionTime: d?.decisionTime ?? null,
        executedAt: time,
        side: plan.side,
        reason: plan.reason,
        rule: plan.rule,
        clamps: extraClamps ? [...extraClamps, ...plan.clamps] : plan.clamps,
      });
      if (closeAll) clearStops(); // an exit with nothing sellable: nothing left to protect
      return;
    }
    const filled = fillExact(ledger, {
      side: plan.side,
      quantity: plan.quantity,
      price: plan.price,
      feeRate: r.feeRate,
      baseAsset: filters.baseAsset,
      quoteAsset: filters.quoteAsset,
    });
    ledger = filled.ledger;
    traded = true;
    cashF = fixedToNumber(ledger.cash);
    qtyF = Number(record(filled.trade, plan, refFx, time, reason, bar, d, extraClamps));
    if (plan.side === 'BUY' && d) {
      if (d.stopLossPct !== undefined) {
        stopFx = mul(plan.price, sub(ONE_FX, mul(parseFixed(d.stopLossPct), PER_PCT_FX)));
        stopF = fixedToNumber(stopFx);
      }
      if (d.takeProfitPct !== undefined) {
        takeFx = mul(plan.price, add(ONE_FX, mul(parseFixed(d.takeProfitPct), PER_PCT_FX)));
        takeF = fixedToNumber(takeFx);
      }
    }
    if (plan.side === 'SELL' && plan.closesPosition) clearStops();
  };
  const clearStops = () => {
    stopFx = null;
    takeFx = null;
    stopF = Number.NaN;
    takeF = Number.NaN;
  };

  const runDecision = (k: number, ref: number, time: number, bar: number) => {
    const d = decisions[k] as TimedDecision;
    if (d.action === 'HOLD') return;
    if (d.action === 'BUY' && sizing) {
      // Walk-forward: only outcomes closed strictly before the decision time (exits are in time order).
      let end = closed.length;
      while (end > 0 && (closed[end - 1] as OutcomeLike).exitTime >= d.decisionTime) end--;
      const sized = sizeBuy(
        d.sizePct,
        closed.slice(Math.max(0, end - sizing.lookback), end),
        d.kellyFraction === undefined ? sizing : { ...sizing, fraction: d.kellyFraction },
      );
      const note = sized.note;
      const clamp: Clamp[] | null = note
        ? [
            {
              rule: 'KELLY_SIZING',
              requested: String(note.requested),
              allowed: String(note.allowed),
              unit: '%',
              reason: note.reason,
            },
          ]
        : null;
      if (sized.sizePct <= 0) {
        rejections.push({
          decisionId: d.decisionId ?? null,
          decisionTime: d.decisionTime,
          executedAt: time,
          side: 'BUY',
          reason: `Kelly sized the buy at 0% of equity (${note?.reason ?? ''})`,
          rule: 'KELLY_SIZING',
          clamps: clamp ?? [],
        });
        return;
      }
      execute('BUY', sized.sizePct, ref, time, bar, 'signal', d, false, clamp);
      return;
    }
    execute(d.action, d.sizePct, ref, time, bar, 'signal', d);
  };

  // Decisions whose fill bar would be past the data.
  let lastFillable = m;
  for (let k = 0; k < m; k++) {
    if ((fillBar[k] as number) >= n) {
      lastFillable = Math.min(lastFillable, k);
      const d = decisions[k] as TimedDecision;
      unfilled.push({
        decisionId: d.decisionId ?? null,
        decisionTime: d.decisionTime,
        reason:
          dataAfterRange && endTime !== undefined
            ? `its fill (the next bar's ${fillAt === 'next_open' ? 'open' : 'close'}) would fall after the range's end ${new Date(endTime).toISOString()}: nothing after end_date is used`
            : 'no bar after the decision in the data (fills happen on the next bar)',
      });
    }
  }

  // The per-bar loop: float64 only, except when an event (a fill or a stop) happens.
  equity[0] = cashF;
  let k = 0;
  let nextFillBar = k < lastFillable ? (fillBar[k] as number) : -1;
  let barsWithPosition = 0;
  const openMode = fillAt === 'next_open';
  for (let j = start + 1; j < n; j++) {
    // `while`: two decisions can share a fill bar only around misaligned bars (see fillBar).
    while (openMode && j === nextFillBar) {
      const c = candles[j] as Candle;
      runDecision(k, c.open, c.openTime, j);
      k++;
      nextFillBar = k < lastFillable ? (fillBar[k] as number) : -1;
    }
    if (qtyF > 0 && (stopFx !== null || takeFx !== null)) {
      const c = candles[j] as Candle;
      if (stopFx && c.low <= stopF) {
        execute('SELL', PCT, c.open <= stopF ? c.open : stopFx, c.openTime, j, 'stop_loss', null, true);
      } else if (takeFx && c.high >= takeF) {
        execute('SELL', PCT, takeFx, c.openTime, j, 'take_profit', null, true);
      }
    }
    while (!openMode && j === nextFillBar) {
      runDecision(k, close[j] as number, known[j] as number, j);
      k++;
      nextFillBar = k < lastFillable ? (fillBar[k] as number) : -1;
    }
    const idx = j - start;
    equity[idx] = cashF + qtyF * (close[j] as number);
    if (qtyF >= step) barsWithPosition++;
  }

  const lastClose = close[n - 1] as number;
  const openTrip = trip as OpenTrip | null;
  if (openTrip) {
    const pos = ledger.position;
    const unrealized = fixedToNumber(pos.quantity) * lastClose - fixedToNumber(pos.costBasis);
    trips.push(finishTrip(openTrip, null, n - 1, null, false, unrealized));
  }
  const pos = ledger.position;
  const book: Book = {
    initialCash: startBook.initialCash,
    cash: toDec(ledger.cash),
    realizedPnl: toDec(ledger.realizedPnl),
    feesPaid: toDec(ledger.feesPaid),
    positions: traded
      ? {
          [settings.symbol]: {
            symbol: settings.symbol,
            baseAsset: filters.baseAsset,
            quantity: toDec(pos.quantity),
            costBasis: toDec(pos.costBasis),
            realizedPnl: toDec(pos.realizedPnl),
            feesPaid: toDec(pos.feesPaid),
          },
        }
      : {},
  };

  const equityCurve = new Array<{ timestamp: number; equity: number }>(points);
  for (let i = 0; i < points; i++)
    equityCurve[i] = { timestamp: stamps[i] as number, equity: equity[i] as number };

  const metrics = computeMetrics({
    timeframe,
    timestamps: stamps,
    equity,
    trips,
    barsWithPosition,
    feesPaid: book.feesPaid.toNumber(),
    tradedNotional,
    fills: fills.length,
    rejectedOrders: rejections.length,
  });

  return {
    fills,
    rejections,
    unfilled,
    trades: trips,
    equityCurve,
    metrics,
    buyAndHold: buyAndHold(),
    assumptions: assumptions(),
    finalBook: bookToJSON(book),
    finalMark: { price: String(lastClose), time: known[n - 1] as number },
    tradeListHash: tradeListHash(fills),
  };

  function buyAndHold(): SimulationResult['buyAndHold'] {
    const firstFillBar = fillBar[0] as number;
    if (firstFillBar >= n) return null;
    const fillCandle = candles[firstFillBar] as Candle;
    const ref = openMode ? fillCandle.open : (close[firstFillBar] as number);
    const time = openMode ? fillCandle.openTime : (known[firstFillBar] as number);
    const bh0 = emptyBook(settings.initialCash);
    const plan = planOrder(
      { action: 'BUY', sizePct: PCT, symbol: settings.symbol, referencePrice: new Dec(ref) },
      { book: bh0, filters, limits: { maxPositionPct: PCT, maxTotalExposurePct: PCT }, costs },
    );
    if (plan.status !== 'order') return null;
    const { book: bh, trade } = applyFill(bh0, fillFromPlan(plan, filters, time, 'buy_and_hold'));
    const cash = bh.cash.toNumber();
    const qty = bh.positions[settings.symbol]?.quantity.toNumber() ?? 0;
    const eq = new Float64Array(points);
    eq[0] = initial;
    // Bought on bar firstFillBar (at its open or close), so marked from that bar's close on.
    for (let j = start + 1; j < n; j++)
      eq[j - start] = j < firstFillBar ? initial : cash + qty * (close[j] as number);
    // A plain loop (Array.from with a mapper is several times slower on 70,000 points).
    const curve = new Array<{ timestamp: number; equity: number }>(points);
    for (let i = 0; i < points; i++) curve[i] = { timestamp: stamps[i] as number, equity: eq[i] as number };
    return {
      ...equityStats(stamps, eq, timeframe),
      entryTime: time,
      entryPrice: trade.price.toFixed(),
      quantity: trade.quantity.toFixed(),
      fees: trade.feeUsd.toFixed(),
      equityCurve: curve,
    };
  }

  function assumptions(): string[] {
    const bars = fillAt === 'next_open' ? 'the OPEN of the next bar' : 'the CLOSE of the next bar';
    let gaps = 0;
    for (const i of gapAt) if (i > start) gaps++;
    return [
      `Decisions are taken at a bar's close (openTime + ${timeframe}) on data with closeTime < decision time, and fill at ${bars}; never on the decision bar.`,
      `Fees: ${costs.feeBps} bps per fill, taken from the asset received (base on a buy, quote on a sale), valued in ${filters.quoteAsset} at the fill price.`,
      `Slippage: ${costs.slippageBps} bps against the trader on every fill, stop-loss and take-profit exits included.`,
      `Exchange filters for ${filters.symbol}: quantity floored to the LOT_SIZE step ${filters.stepSize} (min ${filters.minQty}); orders under ${filters.minNotional} ${filters.quoteAsset} are rejected and recorded; unsellable dust stays in the book.`,
      `Risk limits: max position ${limits.maxPositionPct}% of equity, max total exposure ${limits.maxTotalExposurePct}%, cash never negative; long-only spot. Every clamp is recorded on its fill or rejection.`,
      'SELL size is a % of equity to sell; a size at least the position value sells the whole position; a sale leaving less than the minimum notional sells all.',
      'Stop-loss/take-profit are checked intrabar, pessimistically: both reachable in one bar -> the stop wins; a gap through the stop fills at the open; a take-profit fills at its level.',
      `Initial cash ${book.initialCash.toFixed()} ${filters.quoteAsset}. Equity is marked to market at every bar close (float64 for statistics; the ledger itself is exact decimal).`,
      'Buy and hold: 100% of the initial cash bought at the first decision fill with the same fees, slippage and filters, marked at every bar close.',
      'Sharpe (headline) on daily UTC returns x sqrt(365), sample stdev, risk-free 0; per-bar Sharpe x sqrt(periods per year) also given. CAGR withheld under 30 days.',
      sizing
        ? `Sizing: SIZING=${sizing.mode}: a BUY's size is ${sizing.mode === 'kelly' ? 'the fractional Kelly size' : "the smaller of the decision's and the fractional Kelly size"} (f* = W - (1 - W) / R over the last ${sizing.lookback} outcomes closed strictly before the decision, x ${sizing.fraction}, floored at 0), when at least ${sizing.minTrades} exist; then the hard limits.`
        : "Sizing: the decisions' own sizes (SIZING=trader).",
      ...(endTime === undefined
        ? []
        : [
            `The range ends at ${new Date(endTime).toISOString()}: equity, buy-and-hold and the final mark end at the last close inside it (${new Date(known[n - 1] as number).toISOString()}); no bar after it is used, and a decision whose fill would fall after it is not filled.`,
          ]),
      gaps > 0
        ? `The candles have ${gaps} gap(s) after the first decision: a fill due on a missing bar happens at the next bar present.`
        : 'The candles have no gaps after the first decision.',
    ];
  }
}

/** A round trip being built: running sums kept alongside the public fields. */
type OpenTrip = RoundTrip & { realized: number; soldQty: number; entryBar: number };

function finishTrip(
  t: OpenTrip,
  exitTime: number | null,
  exitBar: number,
  exitReason: string | null,
  closed: boolean,
  unrealized: number,
): RoundTrip {
  const pnl = t.realized - t.fees + unrealized;
  return {
    symbol: t.symbol,
    entryTime: t.entryTime,
    exitTime,
    entryPrice: t.quantityBought > 0 ? t.buyNotional / t.quantityBought : 0,
    exitPrice: t.soldQty > 0 ? t.sellNotional / t.soldQty : null,
    quantityBought: t.quantityBought,
    buyNotional: t.buyNotional,
    sellNotional: t.sellNotional,
    fees: t.fees,
    pnl,
    returnFraction: t.buyNotional > 0 ? pnl / t.buyNotional : 0,
    barsHeld: exitBar - t.entryBar,
    exitReason,
    closed,
    fills: t.fills,
  };
}
