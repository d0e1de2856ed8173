/**
 * Exact decimals as scaled BigInts: the arithmetic kernel under the ledger (book.ts, order.ts) and the
 * backtest simulator.
 *
 * Exported: `Fixed`, `fixed`, `parseFixed`, `fixedString`, `decString`, `fixedToNumber`, `add`, `sub`,
 * `mul`, `neg`, `cmp`, `isZero`, `max0`, `roundTo`, `divTo`, `stepPlaces`, `floorToStep`, `Rounding`,
 * `ZERO_FX`, `ONE_FX`. (Conversions from and to decimal.js: `fromDec`/`toDec` in book.ts.)
 *
 * Design decisions:
 * - A value is `m / 10^s` (m a BigInt, s >= 0 decimal places). Sums, differences and products are
 *   exact; nothing rounds unless asked to (`roundTo`, `divTo`), so the kernel is exact by construction,
 *   at any number of digits (decimal.js rounds every result to its precision, 40 digits here).
 * - Why not decimal.js in the hot path: on the backtest's fills, each decimal.js operation allocates a
 *   digit array and a division costs 1.6-10 us; the same exact operation on BigInts costs tens of ns.
 *   Measured: ~20 us per fill before, a few us after (bench/simulator.bench.ts).
 * - Divisions are the only place the result is rounded: `divTo` rounds the EXACT quotient once at the
 *   requested places (floor for LOT_SIZE, half-even for a proportional cost). decimal.js rounded the
 *   quotient to 40 significant digits first; the two agree unless the exact quotient has a run of about
 *   28 nines or zeros after the rounding digit, where this kernel is the correct one.
 * - Strings match decimal.js: `fixedString` is `Decimal#toFixed()` (plain notation, no trailing zeros)
 *   and `decString` is `Decimal#toString()` (exponent notation when the exponent is <= -7 or >= 21),
 *   so records and messages are byte-identical to what the decimal.js ledger produced.
 */
export interface Fixed {
  /** Scaled integer. */
  readonly m: bigint;
  /** Decimal places: the value is m / 10^s. */
  readonly s: number;
}

const POW10: bigint[] = [1n];
function pow10(k: number): bigint {
  for (let i = POW10.length; i <= k; i++) POW10[i] = (POW10[i - 1] as bigint) * 10n;
  return POW10[k] as bigint;
}

export function fixed(m: bigint, s: number): Fixed {
  return { m, s };
}
export const ZERO_FX: Fixed = fixed(0n, 0);
export const ONE_FX: Fixed = fixed(1n, 0);

const NUMERIC = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const PLAIN = /^-?\d+(?:\.\d+)?$/;

/** Parse a decimal string or a finite number (its shortest round-trip string, as decimal.js does). */
export function parseFixed(input: string | number): Fixed {
  if (typeof input === 'number' && Number.isSafeInteger(input)) return { m: BigInt(input), s: 0 };
  const text = typeof input === 'number' ? String(input) : input;
  // Fast path for plain "123" / "-123.45" (every price and size in a backtest): no capture groups.
  const dot = text.indexOf('.');
  if (PLAIN.test(text)) {
    return dot < 0
      ? { m: BigInt(text), s: 0 }
      : { m: BigInt(text.slice(0, dot) + text.slice(dot + 1)), s: text.length - dot - 1 };
  }
  const g = NUMERIC.exec(text);
  const int = g?.[2] ?? '';
  const frac = g?.[3] ?? '';
  if (!g || (int === '' && frac === '')) throw new Error(`not a finite decimal: ${text}`);
  const exp = g[4] ? Number(g[4]) : 0;
  let m = BigInt(int + frac);
  let s = frac.length - exp;
  if (s < 0) {
    m *= pow10(-s);
    s = 0;
  }
  return { m: g[1] === '-' ? -m : m, s };
}

/** As `Decimal#toFixed()`: plain notation, trailing zeros dropped, "0" for zero. */
export function fixedString(x: Fixed): string {
  if (x.m === 0n) return '0';
  const neg = x.m < 0n;
  let digits = (neg ? -x.m : x.m).toString();
  if (x.s === 0) return neg ? `-${digits}` : digits;
  if (digits.length <= x.s) digits = '0'.repeat(x.s - digits.length + 1) + digits;
  const cut = digits.length - x.s;
  let end = digits.length;
  while (end > cut && digits.charCodeAt(end - 1) === 48) end--;
  const body = end > cut ? `${digits.slice(0, cut)}.${digits.slice(cut, end)}` : digits.slice(0, cut);
  return neg ? `-${body}` : body;
}

/** Decimal.js's default toExpNeg / toExpPos: exponent notation outside (-7, 21). */
const EXP_NEG = -7;
const EXP_POS = 21;

/** As `Decimal#toString()` (used where messages interpolate a decimal). */
export function decString(x: Fixed): string {
  if (x.m === 0n) return '0';
  const neg = x.m < 0n;
  const digits = (neg ? -x.m : x.m).toString();
  const e = digits.length - 1 - x.s;
  if (e > EXP_NEG && e < EXP_POS) return fixedString(x);
  let end = digits.length;
  while (end > 1 && digits.charCodeAt(end - 1) === 48) end--;
  const mantissa = end > 1 ? `${digits[0]}.${digits.slice(1, end)}` : (digits[0] as string);
  return `${neg ? '-' : ''}${mantissa}e${e < 0 ? '' : '+'}${e}`;
}

export function fixedToNumber(x: Fixed): number {
  return Number(fixedString(x));
}

function scaled(x: Fixed, s: number): bigint {
  return s === x.s ? x.m : x.m * pow10(s - x.s);
}
export function add(a: Fixed, b: Fixed): Fixed {
  if (a.s === b.s) return { m: a.m + b.m, s: a.s };
  const s = Math.max(a.s, b.s);
  return { m: scaled(a, s) + scaled(b, s), s };
}
export function sub(a: Fixed, b: Fixed): Fixed {
  if (a.s === b.s) return { m: a.m - b.m, s: a.s };
  const s = Math.max(a.s, b.s);
  return { m: scaled(a, s) - scaled(b, s), s };
}
export function mul(a: Fixed, b: Fixed): Fixed {
  return { m: a.m * b.m, s: a.s + b.s };
}
/** -1, 0 or 1. */
export function cmp(a: Fixed, b: Fixed): number {
  if (a.s === b.s) return a.m < b.m ? -1 : a.m > b.m ? 1 : 0;
  const s = Math.max(a.s, b.s);
  const x = scaled(a, s);
  const y = scaled(b, s);
  return x < y ? -1 : x > y ? 1 : 0;
}
export function neg(x: Fixed): Fixed {
  return { m: -x.m, s: x.s };
}
export function isZero(x: Fixed): boolean {
  return x.m === 0n;
}
export function max0(x: Fixed): Fixed {
  return x.m < 0n ? ZERO_FX : x;
}

export type Rounding = 'down' | 'half_even';

/** q = n / d (d > 0) rounded: 'down' toward zero, 'half_even' to the nearest, ties to even. */
function roundQuotient(n: bigint, d: bigint, mode: Rounding): { q: bigint; exact: boolean } {
  let q = n / d;
  const r = n - q * d;
  if (r === 0n) return { q, exact: true };
  if (mode === 'half_even') {
    const twice = (r < 0n ? -r : r) * 2n;
    if (twice > d || (twice === d && (q & 1n) !== 0n)) q += n < 0n ? -1n : 1n;
  }
  return { q, exact: false };
}

/** x rounded to `places` decimals (returned as is when it has no more). */
export function roundTo(x: Fixed, places: number, mode: Rounding): Fixed {
  if (x.s <= places) return x;
  return { m: roundQuotient(x.m, pow10(x.s - places), mode).q, s: places };
}

/** The exact quotient a / b rounded once at `places` decimals; `exact` when nothing was cut. */
export function divTo(a: Fixed, b: Fixed, places: number, mode: Rounding): { q: Fixed; exact: boolean } {
  if (b.m === 0n) throw new Error('division by zero');
  // a / b x 10^places = a.m x 10^(b.s + places) / (b.m x 10^a.s)
  let n = a.m * pow10(b.s + places);
  let d = b.m * pow10(a.s);
  if (d < 0n) {
    n = -n;
    d = -d;
  }
  const { q, exact } = roundQuotient(n, d, mode);
  return { q: { m: q, s: places }, exact };
}

/** k when step = 10^-k (k >= 0), else null (then floors divide by the step). */
export function stepPlaces(step: Fixed): number | null {
  let { m, s } = step;
  while (s > 0 && m % 10n === 0n) {
    m /= 10n;
    s--;
  }
  return m === 1n ? s : null;
}

/** x floored to a multiple of the step (0 when x <= 0); `places` = stepPlaces(step). */
export function floorToStep(x: Fixed, step: Fixed, places: number | null): Fixed {
  if (x.m <= 0n) return ZERO_FX;
  if (places !== null) return roundTo(x, places, 'down');
  return mul(divTo(x, step, 0, 'down').q, step);
}
