/**
 * Gap detection: pure, so the simulator and the importer use the same rule without touching a database.
 *
 * Rule: two consecutive bars whose open times are more than one interval apart leave a gap. Its size is
 * the number of interval steps strictly between them, rounded up, so a hole that ends on a misaligned bar
 * (Binance's Feb-2018 archive has bars opening at :28) still counts the grid slots it skipped. Bars that
 * come *closer* than one interval (the re-alignment after a misaligned run) are not a hole and are not
 * reported here. Gaps are reported, never filled: inventing candles would change every indicator.
 */
import { type Gap, TIMEFRAME_MS, type Timeframe } from './types';

export function gapBetween(prevOpenTime: number, nextOpenTime: number, intervalMs: number): Gap | undefined {
  const diff = nextOpenTime - prevOpenTime;
  if (diff <= intervalMs) return undefined;
  return {
    afterOpenTime: prevOpenTime,
    nextOpenTime,
    missingBars: Math.ceil(diff / intervalMs) - 1,
  };
}

/** Gaps inside a series sorted by open time (the edges of a requested range are the caller's concern). */
export function detectGaps(candles: readonly { openTime: number }[], timeframe: Timeframe): Gap[] {
  const intervalMs = TIMEFRAME_MS[timeframe];
  const gaps: Gap[] = [];
  for (let i = 1; i < candles.length; i++) {
    const gap = gapBetween(candles[i - 1]!.openTime, candles[i]!.openTime, intervalMs);
    if (gap) gaps.push(gap);
  }
  return gaps;
}

/** Incremental form for streams (the importer sees one row at a time). */
export class GapTracker {
  readonly gaps: Gap[] = [];
  private prev: number | undefined;
  constructor(private readonly intervalMs: number) {}

  push(openTime: number): void {
    if (this.prev !== undefined) {
      const gap = gapBetween(this.prev, openTime, this.intervalMs);
      if (gap) this.gaps.push(gap);
    }
    this.prev = openTime;
  }
}
