/**
 * The statistics of a study: a PURE module (no I/O, no clock, seeded randomness only).
 *
 * Exported: `mean`, `median`, `quantile`, `sampleStd`, `skewness`, `kurtosis`, `normCdf`, `normInv`,
 * `sharpe`, `probabilisticSharpe`, `expectedMaxSharpe`, `deflatedSharpe`, `stationaryBootstrapIndices`,
 * `defaultMeanBlock`, `bootstrapExcess`, `compound`, `EULER_MASCHERONI`.
 *
 * Formulas (also in the README, with their sources):
 * - Sharpe of a return series: mean / sample stdev (ddof 1), NOT annualized here (the PSR and DSR use the
 *   per-period figure; the report annualizes daily Sharpe x sqrt(365) for display).
 * - Skewness g3 = m3 / m2^1.5 and kurtosis g4 = m4 / m2^2 (NOT excess: a normal has 3), with central
 *   moments m_k = mean((x - mean)^k), as Bailey & Lopez de Prado use them.
 * - Probabilistic Sharpe Ratio (Bailey & Lopez de Prado 2012, "The Sharpe Ratio Efficient Frontier",
 *   eq. 9): PSR(SR*) = Phi( (SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2) ): the
 *   probability that the true Sharpe exceeds SR*, given T observations.
 * - Expected maximum Sharpe of N trials (Bailey & Lopez de Prado 2014, "The Deflated Sharpe Ratio",
 *   eq. 2, after the False Strategy theorem): SR0 = sqrt(V) ((1 - g) Phi^-1(1 - 1/N) + g Phi^-1(1 - 1/(N e)))
 *   with V the variance of the trials' Sharpe ratios and g the Euler-Mascheroni constant; 0 for N <= 1.
 * - Deflated Sharpe Ratio (same paper, eq. 1): DSR = PSR(SR0). The paper's example (N = 100, V = 1/2
 *   annualized, SR = 2.5 annualized, T = 1250 days, g3 = -3, g4 = 10) gives SR0 = 0.1132 per day and
 *   DSR = 0.9004; statistics.test.ts reproduces both.
 * - Phi by W. J. Cody's rational approximation as in Hart (1968) / G. West (2005), "Better
 *   approximations to cumulative normal functions" (double precision); Phi^-1 by P. J. Acklam's
 *   algorithm refined with one Halley step (full double precision).
 * - Stationary bootstrap (Politis & Romano 1994, "The Stationary Bootstrap"): resample a series in blocks
 *   of geometric length with mean L: each next index is the previous one + 1 (wrapping) with probability
 *   1 - 1/L, else a uniform random index. Default L = ceil(n^(1/3)), the rate at which the optimal block
 *   length grows (Politis & White 2004). A study resamples each cell's PAIRED daily returns (strategy and
 *   buy-and-hold on the same days, so their correlation is kept), compounds both, and takes the excess;
 *   the interval is the 2.5% and 97.5% percentiles (type 7, as R and numpy) of the replicates' mean and
 *   median excess over cells.
 */

export const EULER_MASCHERONI = 0.5772156649015329;

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return xs.length ? s / xs.length : Number.NaN;
}

/** Quantile by linear interpolation between order statistics (Hyndman & Fan type 7: R's and numpy's default). */
export function quantile(xs: ArrayLike<number>, q: number): number {
  const n = xs.length;
  if (n === 0) return Number.NaN;
  const s = Float64Array.from(xs as ArrayLike<number>).sort();
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return (s[lo] as number) + (h - lo) * ((s[hi] as number) - (s[lo] as number));
}

export function median(xs: ArrayLike<number>): number {
  return quantile(xs, 0.5);
}

export function sampleStd(xs: ArrayLike<number>): number | null {
  const n = xs.length;
  if (n < 2) return null;
  const m = mean(xs);
  let v = 0;
  for (let i = 0; i < n; i++) v += ((xs[i] as number) - m) ** 2;
  return Math.sqrt(v / (n - 1));
}

function centralMoments(xs: ArrayLike<number>): { m2: number; m3: number; m4: number } {
  const m = mean(xs);
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < xs.length; i++) {
    const d = (xs[i] as number) - m;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const n = xs.length;
  return { m2: m2 / n, m3: m3 / n, m4: m4 / n };
}

/** g3 = m3 / m2^1.5; null when the series has no variance. */
export function skewness(xs: ArrayLike<number>): number | null {
  const { m2, m3 } = centralMoments(xs);
  return xs.length < 2 || m2 === 0 ? null : m3 / m2 ** 1.5;
}

/** g4 = m4 / m2^2 (3 for a normal: not the excess kurtosis); null when the series has no variance. */
export function kurtosis(xs: ArrayLike<number>): number | null {
  const { m2, m4 } = centralMoments(xs);
  return xs.length < 2 || m2 === 0 ? null : m4 / (m2 * m2);
}

/** Standard normal CDF (Cody / Hart 5666, as G. West 2005). */
export function normCdf(x: number): number {
  const a = Math.abs(x);
  let c: number;
  if (a > 37) c = 0;
  else {
    const e = Math.exp((-a * a) / 2);
    if (a < 7.07106781186547) {
      let b = 3.52624965998911e-2 * a + 0.700383064443688;
      b = b * a + 6.37396220353165;
      b = b * a + 33.912866078383;
      b = b * a + 112.079291497871;
      b = b * a + 221.213596169931;
      b = b * a + 220.206867912376;
      c = e * b;
      b = 8.83883476483184e-2 * a + 1.75566716318264;
      b = b * a + 16.064177579207;
      b = b * a + 86.7807322029461;
      b = b * a + 296.564248779674;
      b = b * a + 637.333633378831;
      b = b * a + 793.826512519948;
      b = b * a + 440.413735824752;
      c /= b;
    } else {
      let b = a + 0.65;
      b = a + 4 / b;
      b = a + 3 / b;
      b = a + 2 / b;
      b = a + 1 / b;
      c = e / b / 2.506628274631;
    }
  }
  return x > 0 ? 1 - c : c;
}

const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1,
];
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

/** Inverse standard normal CDF (Acklam, one Halley refinement). */
export function normInv(p: number): number {
  if (!(p > 0 && p < 1)) {
    if (p === 0) return Number.NEGATIVE_INFINITY;
    if (p === 1) return Number.POSITIVE_INFINITY;
    return Number.NaN;
  }
  const [a0, a1, a2, a3, a4, a5] = A as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = B as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = C as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = D as [number, number, number, number];
  let x: number;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else if (p <= 1 - P_LOW) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
      (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  // Halley step on Phi(x) - p.
  const e = normCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Per-period Sharpe: mean / sample stdev, risk-free 0; null without variance. */
export function sharpe(xs: ArrayLike<number>): number | null {
  const s = sampleStd(xs);
  return s === null || s === 0 ? null : mean(xs) / s;
}

/**
 * PSR(SR*) for a per-period Sharpe `sr` over `t` observations with skewness g3 and kurtosis g4
 * (Bailey & Lopez de Prado 2012, eq. 9). Null when undefined (t < 2, or a non-positive variance term).
 */
export function probabilisticSharpe(
  sr: number,
  srStar: number,
  t: number,
  g3: number,
  g4: number,
): number | null {
  const v = 1 - g3 * sr + ((g4 - 1) / 4) * sr * sr;
  if (!(t >= 2) || !(v > 0)) return null;
  return normCdf(((sr - srStar) * Math.sqrt(t - 1)) / Math.sqrt(v));
}

/** Expected maximum per-period Sharpe of `n` trials whose Sharpe ratios have variance `variance` (eq. 2). */
export function expectedMaxSharpe(n: number, variance: number): number {
  if (n <= 1 || !(variance > 0)) return 0;
  const g = EULER_MASCHERONI;
  return Math.sqrt(variance) * ((1 - g) * normInv(1 - 1 / n) + g * normInv(1 - 1 / (n * Math.E)));
}

/** DSR = PSR(expected maximum Sharpe of the trials) (Bailey & Lopez de Prado 2014, eq. 1). */
export function deflatedSharpe(
  sr: number,
  t: number,
  g3: number,
  g4: number,
  trials: { n: number; variance: number },
): number | null {
  return probabilisticSharpe(sr, expectedMaxSharpe(trials.n, trials.variance), t, g3, g4);
}

/** Politis & Romano's default block growth: ceil(n^(1/3)). */
export function defaultMeanBlock(n: number): number {
  return Math.max(1, Math.ceil(Math.cbrt(n)));
}

/** One stationary-bootstrap resample of 0..n-1 (see the header), drawn from `rand` (uniform [0, 1)). */
export function stationaryBootstrapIndices(
  n: number,
  meanBlock: number,
  rand: () => number,
  out = new Int32Array(n),
) {
  const p = 1 / Math.max(1, meanBlock);
  let i = Math.floor(rand() * n);
  for (let k = 0; k < n; k++) {
    if (k > 0) i = rand() < p ? Math.floor(rand() * n) : i + 1 === n ? 0 : i + 1;
    out[k] = i;
  }
  return out;
}

/** prod(1 + r) - 1 over the given indices (all when omitted). */
export function compound(returns: ArrayLike<number>, indices?: ArrayLike<number>): number {
  let g = 1;
  const n = indices ? indices.length : returns.length;
  for (let k = 0; k < n; k++) g *= 1 + (returns[indices ? (indices[k] as number) : k] as number);
  return g - 1;
}

export interface PairedCell {
  /** The strategy's daily returns. */
  strategy: ArrayLike<number>;
  /** Buy-and-hold's daily returns on the same days (same length). */
  benchmark: ArrayLike<number>;
}

export interface BootstrapInterval {
  meanLow: number;
  meanHigh: number;
  medianLow: number;
  medianHigh: number;
  replicates: number;
  seed: number;
  /** The mean block length used, per cell (the median over cells when they differ). */
  meanBlock: number;
}

/**
 * 95% (or `level`) percentile intervals of the mean and median excess return over cells, from a
 * stationary bootstrap of each cell's paired daily returns (see the header). `rand` is a seeded
 * generator; null when no cell has a return.
 */
export function bootstrapExcess(
  cells: readonly PairedCell[],
  opts: { replicates: number; seed: number; rand: () => number; level?: number; meanBlock?: number },
): BootstrapInterval | null {
  const usable = cells.filter((c) => c.strategy.length > 0 && c.strategy.length === c.benchmark.length);
  if (usable.length === 0) return null;
  const level = opts.level ?? 0.95;
  const blocks = usable.map((c) => opts.meanBlock ?? defaultMeanBlock(c.strategy.length));
  const means = new Float64Array(opts.replicates);
  const medians = new Float64Array(opts.replicates);
  const excess = new Float64Array(usable.length);
  const scratch = usable.map((c) => new Int32Array(c.strategy.length));
  for (let r = 0; r < opts.replicates; r++) {
    for (let j = 0; j < usable.length; j++) {
      const c = usable[j] as PairedCell;
      const idx = stationaryBootstrapIndices(c.strategy.length, blocks[j] as number, opts.rand, scratch[j]);
      excess[j] = compound(c.strategy, idx) - compound(c.benchmark, idx);
    }
    means[r] = mean(excess);
    medians[r] = median(excess);
  }
  const a = (1 - level) / 2;
  return {
    meanLow: quantile(means, a),
    meanHigh: quantile(means, 1 - a),
    medianLow: quantile(medians, a),
    medianHigh: quantile(medians, 1 - a),
    replicates: opts.replicates,
    seed: opts.seed,
    meanBlock: median(blocks),
  };
}
