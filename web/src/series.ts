/** Series derived on the client from what the API returns (chart overlays only; no trading math). */
import { MAX_CANDLES_PER_REQUEST, timeframeSchema } from '../../shared/api/contract';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A timeframe's bar length in ms ("4h" -> 14,400,000), from its name. */
export function timeframeMs(tf: string): number {
  const m = /^(\d+)([mhd])$/.exec(tf);
  return m ? Number(m[1]) * (UNIT_MS[m[2] as string] as number) : Number.NaN;
}

/**
 * The candles to draw a period with: its own timeframe when the period fits in one request
 * (MAX_CANDLES_PER_REQUEST bars), else the smallest larger timeframe that fits (a year of 4h bars is
 * drawn with 12h). When even the largest does not fit, its last MAX_CANDLES_PER_REQUEST bars
 * (`clipped`: the start moves later).
 */
export function chartRangeFor(
  timeframe: string,
  startMs: number,
  endMs: number,
): { timeframe: string; startMs: number; clipped: boolean } {
  const all = timeframeSchema.options as readonly string[];
  const larger = all.slice(Math.max(0, all.indexOf(timeframe)));
  for (const tf of larger) {
    const bars = Math.floor((endMs - startMs) / timeframeMs(tf)) + 1;
    if (bars <= MAX_CANDLES_PER_REQUEST) return { timeframe: tf, startMs, clipped: false };
  }
  const widest = larger.at(-1) ?? timeframe;
  const iv = timeframeMs(widest);
  const lastBar = Math.floor(endMs / iv) * iv;
  return { timeframe: widest, startMs: lastBar - (MAX_CANDLES_PER_REQUEST - 1) * iv, clipped: true };
}

/** Exponential moving average over closes, for the dashboard's overlay (seeded with the first close). */
export function ema(
  values: { time: number; close: number }[],
  period: number,
): { time: number; value: number }[] {
  const k = 2 / (period + 1);
  const out: { time: number; value: number }[] = [];
  let prev: number | undefined;
  for (const [i, v] of values.entries()) {
    prev = prev === undefined ? v.close : v.close * k + prev * (1 - k);
    // Skip the warm-up so the line does not start where the seed is still dominant.
    if (i >= period - 1) out.push({ time: v.time, value: prev });
  }
  return out;
}

/** Drawdown series (percent, <= 0) from an equity curve: 100 * (E_t / max_{s<=t} E_s - 1). */
export function drawdownSeries(points: { time: number; value: number }[]): { time: number; value: number }[] {
  let peak = Number.NEGATIVE_INFINITY;
  return points.map((p) => {
    peak = Math.max(peak, p.value);
    return { time: p.time, value: peak > 0 ? (p.value / peak - 1) * 100 : 0 };
  });
}
