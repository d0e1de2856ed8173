import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../backtest/strategies';
import {
  bootstrapExcess,
  compound,
  deflatedSharpe,
  expectedMaxSharpe,
  kurtosis,
  mean,
  median,
  normCdf,
  normInv,
  probabilisticSharpe,
  quantile,
  sampleStd,
  sharpe,
  skewness,
  stationaryBootstrapIndices,
} from './statistics';

describe('moments and quantiles (by hand)', () => {
  // [1, 2, 3, 4, 10]: mean 4; deviations -3 -2 -1 0 6; m2 = 50/5 = 10, m3 = 180/5 = 36, m4 = 1394/5 = 278.8
  const xs = [1, 2, 3, 4, 10];
  it('mean, median, sample stdev', () => {
    expect(mean(xs)).toBe(4);
    expect(median(xs)).toBe(3);
    expect(sampleStd(xs)).toBeCloseTo(Math.sqrt(50 / 4), 12);
  });
  it('skewness m3 / m2^1.5 and kurtosis m4 / m2^2 (not excess)', () => {
    expect(skewness(xs)).toBeCloseTo(36 / 10 ** 1.5, 12);
    expect(kurtosis(xs)).toBeCloseTo(2.788, 12);
    expect(skewness([2, 2, 2])).toBeNull();
  });
  it('type-7 quantiles as R and numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantile([4, 1, 3, 2], 0.975)).toBeCloseTo(3.925, 12);
  });
  it('compound', () => {
    expect(compound([0.1, -0.1])).toBeCloseTo(-0.01, 12);
    expect(compound([0.1, -0.1, 0.5], [2, 2])).toBeCloseTo(1.25, 12);
  });
});

describe('the normal distribution', () => {
  // Reference values: 0.5 * erfc(-x / sqrt(2)) in double precision (Python's math.erfc).
  it.each([
    [1.96, 0.9750021048517795],
    [1, 0.8413447460685429],
    [-2, 0.02275013194817922],
    [-6.5, 4.016000583859125e-11],
    [0, 0.5],
  ])('Phi(%d) = %d', (x, p) => {
    expect(normCdf(x)).toBeCloseTo(p, 14);
    if (p < 1e-6) expect(normCdf(x) / p).toBeCloseTo(1, 8); // relative 1e-9 in the far tail
  });
  it.each([
    [0.975, 1.9599639845400536],
    [0.99, 2.3263478740408408],
    [1e-10, -6.361340902404056],
    [0.5, 0],
  ])('Phi^-1(%d) = %d', (p, x) => {
    expect(normInv(p)).toBeCloseTo(x, 9);
  });
});

describe('Sharpe, PSR and DSR (Bailey & Lopez de Prado)', () => {
  it('Sharpe is per period, null without variance', () => {
    expect(sharpe([0.01, 0.03])).toBeCloseTo(0.02 / Math.sqrt(0.0002), 12);
    expect(sharpe([0.01, 0.01])).toBeNull();
  });

  it('PSR by hand: SR 0.1, SR* 0, T 101, normal returns', () => {
    // z = 0.1 * sqrt(100) / sqrt(1 - 0 + (3 - 1) / 4 * 0.01) = 1 / sqrt(1.005) = 0.9975093361; Phi(z) = 0.8407413278
    expect(probabilisticSharpe(0.1, 0, 101, 0, 3)).toBeCloseTo(0.8407413278013518, 10);
    // Against itself the probability is one half.
    expect(probabilisticSharpe(0.2, 0.2, 50, -1, 6)).toBeCloseTo(0.5, 12);
  });

  it('reproduces the Deflated Sharpe Ratio paper’s example (SR0 = 0.1132, DSR = 0.9004)', () => {
    // N = 100 trials, V[SR] = 1/2 annualized (1/2 / 250 per day), SR = 2.5 annualized over T = 1250 days,
    // skewness -3, kurtosis 10 (Bailey & Lopez de Prado 2014, section 3).
    const srStar = expectedMaxSharpe(100, 0.5 / 250);
    expect(srStar).toBeCloseTo(0.1132, 4);
    const dsr = deflatedSharpe(2.5 / Math.sqrt(250), 1250, -3, 10, { n: 100, variance: 0.5 / 250 });
    expect(dsr).toBeCloseTo(0.9004, 3);
  });

  it('one trial deflates nothing: DSR = PSR(0)', () => {
    expect(expectedMaxSharpe(1, 0.01)).toBe(0);
    expect(deflatedSharpe(0.1, 101, 0, 3, { n: 1, variance: 0.01 })).toBeCloseTo(
      probabilisticSharpe(0.1, 0, 101, 0, 3) as number,
      12,
    );
  });

  it('more trials raise the bar', () => {
    const a = deflatedSharpe(0.1, 500, 0, 3, { n: 2, variance: 0.001 }) as number;
    const b = deflatedSharpe(0.1, 500, 0, 3, { n: 20, variance: 0.001 }) as number;
    expect(b).toBeLessThan(a);
  });
});

describe('the stationary bootstrap (Politis & Romano)', () => {
  it('mean block length 1 is the iid bootstrap: every index uniform', () => {
    const rand = mulberry32(9);
    const counts = new Array(10).fill(0);
    for (let r = 0; r < 5000; r++) for (const i of stationaryBootstrapIndices(10, 1, rand)) counts[i]++;
    for (const c of counts) expect(c / 50_000).toBeCloseTo(0.1, 1);
  });

  it('blocks have geometric length with the requested mean', () => {
    const rand = mulberry32(5);
    const idx = stationaryBootstrapIndices(200_000, 8, rand);
    let runs = 1;
    for (let k = 1; k < idx.length; k++) {
      const next = ((idx[k - 1] as number) + 1) % idx.length;
      if (idx[k] !== next) runs++;
    }
    // A new block starts with probability 1/8 (and lands on the next index by chance 1 in n).
    expect(idx.length / runs).toBeGreaterThan(7.6);
    expect(idx.length / runs).toBeLessThan(8.4);
  });

  it('is seeded: the same seed gives the same interval', () => {
    const cells = [
      { strategy: [0.01, -0.02, 0.03, 0.0, 0.01], benchmark: [0.02, -0.01, 0.01, 0.01, 0.0] },
      { strategy: [0.0, 0.01, -0.01, 0.02, 0.0], benchmark: [0.01, 0.0, 0.0, 0.01, 0.02] },
    ];
    const a = bootstrapExcess(cells, { replicates: 500, seed: 3, rand: mulberry32(3) });
    const b = bootstrapExcess(cells, { replicates: 500, seed: 3, rand: mulberry32(3) });
    expect(a).toEqual(b);
    expect(a?.meanLow).toBeLessThan(a?.meanHigh as number);
  });

  it('a strategy equal to the benchmark has a zero-width interval at 0', () => {
    const r = [0.01, -0.02, 0.03, 0.005];
    const iv = bootstrapExcess([{ strategy: r, benchmark: r }], {
      replicates: 200,
      seed: 1,
      rand: mulberry32(1),
    });
    expect(iv?.meanLow).toBe(0);
    expect(iv?.meanHigh).toBe(0);
  });

  it('the interval of a mean of iid returns is about +-1.96 sigma / sqrt(n) wide (normal theory)', () => {
    // One cell, benchmark flat: the excess is the compounded return, about the sum for small returns.
    const g = mulberry32(77);
    const n = 400;
    const s = Array.from({ length: n }, () => (normInv(g() * 0.999998 + 0.000001) * 0.001) as number);
    const iv = bootstrapExcess([{ strategy: s, benchmark: new Array(n).fill(0) }], {
      replicates: 2000,
      seed: 2,
      rand: mulberry32(2),
      meanBlock: 1,
    });
    const sd = (sampleStd(s) as number) * Math.sqrt(n);
    const width = (iv?.meanHigh as number) - (iv?.meanLow as number);
    expect(width / (2 * 1.96 * sd)).toBeGreaterThan(0.85);
    expect(width / (2 * 1.96 * sd)).toBeLessThan(1.15);
  });
});
