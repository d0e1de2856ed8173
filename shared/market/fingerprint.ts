/**
 * A 64-bit fingerprint of a candle series (two independent 32-bit hashes over the bits of every field of
 * every bar): equal series give equal fingerprints, and any changed value, bar or length changes it but
 * with odds of about 2^-64. For memoizing pure computations over bars (the market reading of a decision
 * point) without keeping or comparing the bars themselves. About 30 µs for 1,440 bars.
 */
import type { Candle } from './types';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

export function fingerprintCandles(candles: readonly Candle[]): string {
  let h1 = 0x811c9dc5; // FNV-1a style
  let h2 = 0x9747b28c; // murmur style
  const add = (v: number | null | undefined) => {
    f64[0] = v ?? Number.NaN;
    for (let k = 0; k < 2; k++) {
      const w = u32[k]!;
      h1 = Math.imul(h1 ^ w, 0x01000193);
      h2 = Math.imul(h2 ^ w, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
  };
  for (const c of candles) {
    add(c.openTime);
    add(c.open);
    add(c.high);
    add(c.low);
    add(c.close);
    add(c.volume);
    add(c.closeTime);
    add(c.quoteVolume);
    add(c.trades);
    add(c.takerBuyBase);
    add(c.takerBuyQuote);
  }
  return `${(h1 >>> 0).toString(16)}${(h2 >>> 0).toString(16).padStart(8, '0')}`;
}
