/**
 * Number and time formatting for a trader's screen: fixed decimals, thousands separators, explicit
 * signs on changes, UTC times (the API's and Binance's clock), and an em dash for "no value" (the API
 * sends null for undefined metrics, never a sentinel, and the screen keeps it that way).
 */
import { CLAMP_UNIT_PCT } from '../../shared/api/contract';

export const NO_VALUE = '—';

type Num = number | null | undefined;

function isNum(x: Num): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

const usdFormatters = new Map<number, Intl.NumberFormat>();
function usdFormatter(decimals: number): Intl.NumberFormat {
  let f = usdFormatters.get(decimals);
  if (!f) {
    f = new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency: 'USD',
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
    usdFormatters.set(decimals, f);
  }
  return f;
}

/** Money in USDT, 2 decimals: "$12,345.67", "-$3.10". */
export function fmtUsd(x: Num, decimals = 2): string {
  return isNum(x) ? usdFormatter(decimals).format(x) : NO_VALUE;
}

/** Signed money for PnL: "+$12.30", "-$4.00", "$0.00". */
export function fmtUsdSigned(x: Num): string {
  if (!isNum(x)) return NO_VALUE;
  const s = fmtUsd(x);
  return x > 0 ? `+${s}` : s;
}

/** LLM spend: sub-cent amounts keep 4 decimals so $0.0012 is not shown as $0.00. */
export function fmtCost(x: Num): string {
  if (!isNum(x)) return NO_VALUE;
  if (x === 0) return '$0.00';
  return Math.abs(x) < 1 ? fmtUsd(x, 4) : fmtUsd(x, 2);
}

/** An asset price: 2 decimals from $100, more below so small-cap prices stay readable. */
export function fmtPrice(x: Num): string {
  if (!isNum(x)) return NO_VALUE;
  const abs = Math.abs(x);
  const decimals = abs >= 100 ? 2 : abs >= 1 ? 3 : abs >= 0.01 ? 5 : 8;
  return x.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A quantity of an asset: up to 8 decimals, trailing zeros dropped. */
export function fmtQty(x: Num): string {
  return isNum(x) ? x.toLocaleString('en-US', { maximumFractionDigits: 8 }) : NO_VALUE;
}

/** Quote assets whose amounts read as money (2 decimals). */
const MONEY_ASSETS = new Set(['USDT', 'USDC', 'FDUSD', 'BUSD', 'USD']);

/**
 * A clamp's requested/allowed amount in the unit the API says it is in: "12%" of equity for sizing
 * rules, "1,234.56 USDT" for notional rules, "0.01234 BTC" for quantity rules; a clamp recorded
 * without a unit shows the bare number.
 */
export function fmtClampAmount(x: Num, unit: string | undefined): string {
  if (!isNum(x)) return NO_VALUE;
  if (unit === CLAMP_UNIT_PCT) return `${x.toLocaleString('en-US', { maximumFractionDigits: 2 })}%`;
  if (unit && MONEY_ASSETS.has(unit))
    return `${x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${unit}`;
  return `${fmtQty(x)}${unit ? ` ${unit}` : ''}`;
}

/** A value already in percent (changePct24h, totalReturnPct): "+1.23%". */
export function fmtPct(x: Num, opts: { decimals?: number; signed?: boolean } = {}): string {
  if (!isNum(x)) return NO_VALUE;
  const { decimals = 2, signed = true } = opts;
  const s = `${x.toFixed(decimals)}%`;
  return signed && x > 0 ? `+${s}` : s === `-${(0).toFixed(decimals)}%` ? `${(0).toFixed(decimals)}%` : s;
}

/** A fraction shown as percent (metrics: total return 0.123 -> "+12.30%"). */
export function fmtFraction(x: Num, opts: { decimals?: number; signed?: boolean } = {}): string {
  return isNum(x) ? fmtPct(x * 100, opts) : NO_VALUE;
}

/** A plain ratio (Sharpe, profit factor): "1.23". */
export function fmtRatio(x: Num, decimals = 2): string {
  return isNum(x) ? x.toFixed(decimals) : NO_VALUE;
}

/** Whole counts (tokens, calls): "1,234,567". */
export function fmtInt(x: Num): string {
  return isNum(x) ? Math.round(x).toLocaleString('en-US') : NO_VALUE;
}

/** Token counts in a tight cell: "980", "12.3k", "1.25M". */
export function fmtTokens(x: Num): string {
  if (!isNum(x)) return NO_VALUE;
  const abs = Math.abs(x);
  if (abs < 1000) return String(Math.round(x));
  if (abs < 1_000_000) return `${(x / 1000).toFixed(abs < 10_000 ? 2 : 1)}k`;
  return `${(x / 1_000_000).toFixed(2)}M`;
}

/** Latency: "850 ms", "2.35 s", "1 min 5 s". */
export function fmtMs(x: Num): string {
  if (!isNum(x)) return NO_VALUE;
  if (x < 1000) return `${Math.round(x)} ms`;
  if (x < 60_000) return `${(x / 1000).toFixed(2)} s`;
  const min = Math.floor(x / 60_000);
  return `${min} min ${Math.round((x % 60_000) / 1000)} s`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** An ISO time as "2024-01-31 12:00 UTC" (the API's clock; never the browser's zone). */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return NO_VALUE;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return NO_VALUE;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** An ISO time as "2024-01-31". */
export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return NO_VALUE;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return NO_VALUE;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** CSS tone for a signed number: gains green, losses red, zero and null neutral. */
export function tone(x: Num): 'up' | 'down' | 'flat' {
  if (!isNum(x) || x === 0) return 'flat';
  return x > 0 ? 'up' : 'down';
}

/** snake_case or camelCase field name -> "Sentence case" label. */
export function humanize(key: string): string {
  const words = key
    .replace(/_/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
