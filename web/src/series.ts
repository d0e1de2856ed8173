/** Series derived on the client from what the API returns (chart overlays only; no trading math). */

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
