/**
 * Backtest statistics: one pure function over (equity curve, round trips, fills), as in
 * backtesting.py. Formulas are those of ../shared/design/BACKTESTING.md ("Metrics").
 *
 * Exported: `computeMetrics`, `equityStats`, `maxDrawdown`, `dailyReturns`, `tradeStats`, `Metrics`,
 * `EquityStats`, `Drawdown`, `TradeStats`, `RoundTrip`, `MIN_CAGR_DAYS`, `DAYS_PER_YEAR`.
 *
 * Conventions (locked; the UI multiplies by 100 for display):
 * - Every return, drawdown, win rate and exposure is a FRACTION (0.1 = 10%). Money is in the quote asset.
 * - Undefined values are null, never a sentinel: no closed trade -> win rate null; no loss -> profit
 *   factor null; zero variance -> Sharpe null; span under 30 days -> CAGR (and Calmar) null.
 * - An equity point's timestamp is the instant its mark is known (a bar's close: openTime + interval).
 *   Daily UTC returns group points by the UTC day of (timestamp - 1 ms), so the mark at 00:00:00.000
 *   closes the day before. The day's equity is its last point; daily returns are between consecutive
 *   days that have points (the first day, holding the starting equity, is the base).
 * - Sharpe (headline) = mean / sample stdev (ddof 1) of daily returns x sqrt(365), risk-free 0.
 *   Per-bar Sharpe = same on bar-to-bar returns x sqrt(periods per year); both reported, labelled.
 * - Sortino = mean(daily r) / sqrt(mean(min(r, 0)^2)) x sqrt(365).  Calmar = CAGR / max drawdown.
 * - CAGR = (E_T / E_0)^(365 / days) - 1 with days = (T_end - T_start) / 86,400,000.
 * - Max drawdown: its peak is the LAST point at the running maximum before the trough (as empyrical),
 *   so a book waiting in cash at its peak is not counted as in drawdown; duration = peak to recovery.
 * - Loops, never Math.max(...xs): a 1m backtest can hold more round trips than the call stack allows.
 */
import { periodsPerYear, type Timeframe } from '../market/types';

export const DAYS_PER_YEAR = 365;
export const MIN_CAGR_DAYS = 30;
const DAY_MS = 86_400_000;

/** A closed (or still open) round trip: from a buy on a flat book to the sale that flattens it. */
export interface RoundTrip {
  symbol: string;
  entryTime: number;
  exitTime: number | null;
  /** Quantity-weighted average fill price of the buys / sales. */
  entryPrice: number;
  exitPrice: number | null;
  quantityBought: number;
  buyNotional: number;
  sellNotional: number;
  fees: number;
  /** Realized PnL of its sales (gross) minus every fee of the trip; for an open trip, plus unrealized. */
  pnl: number;
  /** pnl / buyNotional. */
  returnFraction: number;
  barsHeld: number;
  exitReason: string | null;
  closed: boolean;
  fills: number;
}

export interface Drawdown {
  /** max(1 - E_t / max_{s<=t} E_s), a fraction; 0 when equity never fell. */
  value: number;
  /** The last time equity stood at the running maximum before the trough. */
  peakTime: number | null;
  troughTime: number | null;
  /** First time equity is back at the peak after the trough; null if it never recovered. */
  recoveryTime: number | null;
  /** Peak to recovery, or peak to the last point when not recovered (ms). */
  durationMs: number | null;
  recovered: boolean;
  peakEquity: number | null;
  troughEquity: number | null;
}

export interface EquityStats {
  startTime: number;
  endTime: number;
  days: number;
  bars: number;
  initialEquity: number;
  finalEquity: number;
  totalReturn: number;
  cagr: number | null;
  cagrNote: string | null;
  maxDrawdown: Drawdown;
  /** Headline: daily UTC returns x sqrt(365). */
  sharpeDaily: number | null;
  /** Bar-to-bar returns x sqrt(periods per year). */
  sharpePerBar: number | null;
  sortinoDaily: number | null;
  calmar: number | null;
  dailyReturnCount: number;
}

export interface TradeStats {
  /** Closed round trips. */
  count: number;
  openTrades: number;
  winRate: number | null;
  profitFactor: number | null;
  grossProfit: number;
  grossLoss: number;
  avgWin: number | null;
  avgLoss: number | null;
  best: number | null;
  worst: number | null;
}

export interface Metrics extends EquityStats {
  trades: TradeStats;
  /** Fraction of bars holding a sellable position at the bar's close. */
  exposure: number;
  feesPaid: number;
  /** Sum of fill notionals. */
  tradedNotional: number;
  /** tradedNotional / mean equity. */
  turnover: number | null;
  fills: number;
  rejectedOrders: number;
  labels: { sharpeDaily: string; sharpePerBar: string; returns: string };
}

function meanStd(xs: ArrayLike<number>): { mean: number; std: number | null } {
  const n = xs.length;
  if (n === 0) return { mean: Number.NaN, std: null };
  let m = 0;
  for (let i = 0; i < n; i++) m += xs[i] as number;
  m /= n;
  if (n < 2) return { mean: m, std: null };
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = (xs[i] as number) - m;
    ss += d * d;
  }
  return { mean: m, std: Math.sqrt(ss / (n - 1)) };
}

/** Relative tolerance under which a standard deviation counts as zero (float noise on a flat curve). */
const ZERO_VARIANCE = 1e-15;

function sharpe(returns: ArrayLike<number>, annualization: number): number | null {
  const { mean, std } = meanStd(returns);
  if (std === null || !(std > ZERO_VARIANCE)) return null;
  return (mean / std) * Math.sqrt(annualization);
}

/**
 * `sharpe` of the bar-to-bar returns, computed from the equity in two passes without materializing the
 * returns (one 70,000-element array less per run); same operations in the same order as meanStd.
 */
function barSharpe(equity: ArrayLike<number>, annualization: number): number | null {
  const n = equity.length - 1;
  if (n < 2) return null;
  let m = 0;
  for (let i = 1; i <= n; i++) m += (equity[i] as number) / (equity[i - 1] as number) - 1;
  m /= n;
  let ss = 0;
  for (let i = 1; i <= n; i++) {
    const d = (equity[i] as number) / (equity[i - 1] as number) - 1 - m;
    ss += d * d;
  }
  const std = Math.sqrt(ss / (n - 1));
  if (!(std > ZERO_VARIANCE)) return null;
  return (m / std) * Math.sqrt(annualization);
}

function sortino(returns: ArrayLike<number>, annualization: number): number | null {
  const n = returns.length;
  if (n === 0) return null;
  let m = 0;
  let down = 0;
  for (let i = 0; i < n; i++) {
    const r = returns[i] as number;
    m += r;
    if (r < 0) down += r * r;
  }
  m /= n;
  const dd = Math.sqrt(down / n);
  if (!(dd > ZERO_VARIANCE)) return null;
  return (m / dd) * Math.sqrt(annualization);
}

export function maxDrawdown(timestamps: ArrayLike<number>, equity: ArrayLike<number>): Drawdown {
  const n = equity.length;
  let peak = Number.NEGATIVE_INFINITY;
  let peakIdx = -1;
  let best = 0;
  let bestPeak = -1;
  let bestTrough = -1;
  for (let i = 0; i < n; i++) {
    const e = equity[i] as number;
    // `>=`: a drawdown starts at the LAST point at the running maximum (a book sitting in cash at its
    // peak is not in drawdown yet), as empyrical dates it; the first point would overstate durations.
    if (e >= peak) {
      peak = e;
      peakIdx = i;
    } else {
      const dd = 1 - e / peak;
      if (dd > best) {
        best = dd;
        bestPeak = peakIdx;
        bestTrough = i;
      }
    }
  }
  if (bestTrough < 0) {
    return {
      value: 0,
      peakTime: null,
      troughTime: null,
      recoveryTime: null,
      durationMs: null,
      recovered: true,
      peakEquity: null,
      troughEquity: null,
    };
  }
  const peakEq = equity[bestPeak] as number;
  let rec = -1;
  for (let i = bestTrough + 1; i < n; i++) {
    if ((equity[i] as number) >= peakEq) {
      rec = i;
      break;
    }
  }
  const peakTime = timestamps[bestPeak] as number;
  const recoveryTime = rec >= 0 ? (timestamps[rec] as number) : null;
  return {
    value: best,
    peakTime,
    troughTime: timestamps[bestTrough] as number,
    recoveryTime,
    durationMs: (recoveryTime ?? (timestamps[n - 1] as number)) - peakTime,
    recovered: rec >= 0,
    peakEquity: peakEq,
    troughEquity: equity[bestTrough] as number,
  };
}

/** Daily UTC returns (see header for the day of a point). */
export function dailyReturns(timestamps: ArrayLike<number>, equity: ArrayLike<number>): number[] {
  const closes: number[] = [];
  let day = Number.NaN;
  for (let i = 0; i < equity.length; i++) {
    const d = Math.floor(((timestamps[i] as number) - 1) / DAY_MS);
    if (d !== day) {
      closes.push(equity[i] as number);
      day = d;
    } else closes[closes.length - 1] = equity[i] as number;
  }
  const out: number[] = [];
  for (let k = 1; k < closes.length; k++) out.push((closes[k] as number) / (closes[k - 1] as number) - 1);
  return out;
}

export function equityStats(
  timestamps: ArrayLike<number>,
  equity: ArrayLike<number>,
  timeframe: Timeframe,
): EquityStats {
  const n = equity.length;
  if (n === 0) throw new Error('equityStats needs at least one point');
  const startTime = timestamps[0] as number;
  const endTime = timestamps[n - 1] as number;
  const e0 = equity[0] as number;
  const eT = equity[n - 1] as number;
  const days = (endTime - startTime) / DAY_MS;
  const totalReturn = eT / e0 - 1;
  const cagr = days >= MIN_CAGR_DAYS ? (eT / e0) ** (DAYS_PER_YEAR / days) - 1 : null;
  const dd = maxDrawdown(timestamps, equity);
  const daily = dailyReturns(timestamps, equity);
  return {
    startTime,
    endTime,
    days,
    bars: n,
    initialEquity: e0,
    finalEquity: eT,
    totalReturn,
    cagr,
    cagrNote: cagr === null ? `withheld: span of ${days.toFixed(2)} days is under ${MIN_CAGR_DAYS}` : null,
    maxDrawdown: dd,
    sharpeDaily: sharpe(daily, DAYS_PER_YEAR),
    sharpePerBar: barSharpe(equity, periodsPerYear(timeframe)),
    sortinoDaily: sortino(daily, DAYS_PER_YEAR),
    calmar: cagr !== null && dd.value > 0 ? cagr / dd.value : null,
    dailyReturnCount: daily.length,
  };
}

export function tradeStats(trips: readonly RoundTrip[]): TradeStats {
  const closed = trips.filter((t) => t.closed);
  const wins = closed.filter((t) => t.pnl > 0);
  const losses = closed.filter((t) => t.pnl < 0);
  const grossProfit = wins.reduce((s, t) => s + t.pnl, 0);
  const grossLoss = -losses.reduce((s, t) => s + t.pnl, 0);
  // A loop, not Math.max(...pnls): spreading 10^5+ trips (a 1m backtest) overflows the call stack.
  let best = Number.NEGATIVE_INFINITY;
  let worst = Number.POSITIVE_INFINITY;
  for (const t of closed) {
    if (t.pnl > best) best = t.pnl;
    if (t.pnl < worst) worst = t.pnl;
  }
  return {
    count: closed.length,
    openTrades: trips.length - closed.length,
    winRate: closed.length ? wins.length / closed.length : null,
    profitFactor: grossLoss > 0 ? grossProfit / grossLoss : null,
    grossProfit,
    grossLoss,
    avgWin: wins.length ? grossProfit / wins.length : null,
    avgLoss: losses.length ? -grossLoss / losses.length : null,
    best: closed.length ? best : null,
    worst: closed.length ? worst : null,
  };
}

export interface MetricsInput {
  timeframe: Timeframe;
  timestamps: ArrayLike<number>;
  equity: ArrayLike<number>;
  trips: readonly RoundTrip[];
  /** Bars (equity points) that held a sellable position. */
  barsWithPosition: number;
  feesPaid: number;
  tradedNotional: number;
  fills: number;
  rejectedOrders: number;
}

export function computeMetrics(input: MetricsInput): Metrics {
  const stats = equityStats(input.timestamps, input.equity, input.timeframe);
  let sum = 0;
  for (let i = 0; i < input.equity.length; i++) sum += input.equity[i] as number;
  const meanEquity = sum / input.equity.length;
  return {
    ...stats,
    trades: tradeStats(input.trips),
    exposure: input.barsWithPosition / input.equity.length,
    feesPaid: input.feesPaid,
    tradedNotional: input.tradedNotional,
    turnover: meanEquity > 0 ? input.tradedNotional / meanEquity : null,
    fills: input.fills,
    rejectedOrders: input.rejectedOrders,
    labels: {
      sharpeDaily: 'Sharpe (headline): daily UTC returns, sample stdev, x sqrt(365), risk-free 0',
      sharpePerBar: `Sharpe per bar: bar returns x sqrt(${periodsPerYear(input.timeframe)}) (${input.timeframe})`,
      returns: 'returns, drawdowns, win rate and exposure are fractions (0.1 = 10%)',
    },
  };
}
