/**
 * The point-in-time view of the sentiment series, and the compact numbers the sentiment analyst gets.
 *
 * Decisions:
 * - Same rule as the candles' clock-gated view (shared/indicators/market-view.ts): a point is visible
 *   at decision time t only when `knownAt <= t` (F&G of day D from D+1 00:00 UTC; a funding rate just
 *   after its funding time; nothing at or after t). `timeline.at(t)` holds one private bound and hands
 *   out copies, so later values cannot be reached, not merely avoided.
 * - Known-at times are made non-decreasing (prefix maximum) so the visible points are a prefix.
 * - A series whose newest visible value is too old for "now" (MAX_AGE_MS: an upstream that stopped, a
 *   cache with a hole) counts as missing, with the reason: a stale number would read as current.
 * - Numbers are rounded (6 significant digits): small prompts, stable LLM cache keys.
 */
import { AppError } from '../util/errors';
import {
  DAY_MS,
  SERIES_LABEL,
  type SentimentPoint,
  type SentimentSeries,
  type SentimentSourceName,
} from './types';

const HOUR_MS = 3_600_000;
const YEAR_MS = 365 * DAY_MS;
const SIGNIFICANT_DIGITS = 6;
const PCT = 100;
/** Fewer samples than this in the trailing year: no percentile (it would say little). */
const MIN_PERCENTILE_SAMPLES = 30;
/** The newest value older than this at t makes the series missing for that decision. */
export const MAX_AGE_MS: Record<SentimentSeries, number> = {
  fng: 3 * DAY_MS,
  funding: DAY_MS,
  open_interest: 3 * HOUR_MS,
  long_short: 3 * HOUR_MS,
};
/** How far back a decision reads each series (the percentiles' trailing year and the 30-day change). */
export const LOOKBACK_MS: Record<SentimentSeries, number> = {
  fng: YEAR_MS + 31 * DAY_MS,
  funding: YEAR_MS + DAY_MS,
  open_interest: 2 * DAY_MS,
  long_short: 2 * DAY_MS,
};

export interface SeriesView {
  readonly decisionTime: number;
  readonly length: number;
  /** The newest visible point, or undefined. A frozen copy. */
  last(): Readonly<SentimentPoint> | undefined;
  /** Visible points with time >= fromTime, copies, ascending. */
  since(fromTime: number): Readonly<SentimentPoint>[];
  /** The newest visible point with time <= time, or undefined. */
  atOrBefore(time: number): Readonly<SentimentPoint> | undefined;
}

export interface SeriesTimeline {
  at(decisionTime: number): SeriesView;
}

export function createSeriesTimeline(points: readonly SentimentPoint[]): SeriesTimeline {
  const sorted = points.map((p) => Object.freeze({ ...p })).sort((a, b) => a.time - b.time);
  const known = new Float64Array(sorted.length);
  let prev = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < sorted.length; i++) {
    prev = Math.max(prev, sorted[i]!.knownAt);
    known[i] = prev;
  }
  const boundAt = (t: number) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((known[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return {
    at(decisionTime) {
      if (!Number.isFinite(decisionTime))
        throw new AppError('VALIDATION_ERROR', 'decisionTime must be a finite epoch ms', {
          field: 'decisionTime',
        });
      const bound = boundAt(decisionTime);
      const visible = sorted.slice(0, bound);
      return Object.freeze({
        decisionTime,
        length: bound,
        last: () => visible[bound - 1],
        since: (fromTime: number) => visible.filter((p) => p.time >= fromTime),
        atOrBefore: (time: number) => {
          for (let i = bound - 1; i >= 0; i--) if (visible[i]!.time <= time) return visible[i];
          return undefined;
        },
      });
    },
  };
}

/** The sentiment numbers known at a decision time, per source; `missing` says why a source has none. */
export interface SentimentSummary {
  asOf: string;
  /** Sources asked for (SENTIMENT_SOURCES), in order. */
  requested: SentimentSourceName[];
  missing: Partial<Record<SentimentSourceName, string>>;
  fearGreed?: {
    value: number;
    classification: string;
    /** Whole days between the end of the value's day and t (0: yesterday's value at today's decision). */
    ageDays: number;
    change7d: number | null;
    change30d: number | null;
    /** Share of the trailing year's values at or below this one, %. */
    percentile1y: number | null;
  };
  funding?: {
    /** The latest funding rate, % per funding interval (0.01 = 0.01%). */
    latestPct: number;
    hoursAgo: number;
    mean7dPct: number;
    percentile1y: number | null;
  };
  openInterest?: { latest: number; change24hPct: number | null };
  longShort?: { ratio: number; longAccountPct: number | null };
}

const round = (x: number) => Number(x.toPrecision(SIGNIFICANT_DIGITS));

function percentile(values: readonly number[], x: number): number | null {
  if (values.length < MIN_PERCENTILE_SAMPLES) return null;
  return round((values.filter((v) => v <= x).length / values.length) * PCT);
}

function staleReason(
  series: SentimentSeries,
  last: SentimentPoint | undefined,
  t: number,
): string | undefined {
  const at = new Date(t).toISOString();
  if (!last) return `no ${SERIES_LABEL[series]} value known before ${at}`;
  const age = t - last.knownAt;
  if (age > MAX_AGE_MS[series])
    return `the newest ${SERIES_LABEL[series]} value known before ${at} is ${Math.floor(age / HOUR_MS)} h old (more than ${MAX_AGE_MS[series] / HOUR_MS} h)`;
  return undefined;
}

/**
 * Summaries of each series visible at t. `views` holds the series read (and `failed` the ones whose
 * read failed, with the reason); a requested series in neither is missing as "not read".
 */
export function summarizeSentiment(
  t: number,
  requested: readonly SentimentSourceName[],
  views: Partial<Record<SentimentSeries, SeriesView>>,
  failed: Partial<Record<SentimentSourceName, string>> = {},
): SentimentSummary {
  const out: SentimentSummary = { asOf: new Date(t).toISOString(), requested: [...requested], missing: {} };
  const num = (p: SentimentPoint) => Number(p.value);
  for (const source of requested) {
    if (source === 'static') continue;
    if (failed[source]) {
      out.missing[source] = failed[source];
      continue;
    }
    const view = views[source];
    if (!view) {
      out.missing[source] = `${SERIES_LABEL[source]} was not read`;
      continue;
    }
    const last = view.last();
    const stale = staleReason(source, last, t);
    if (stale || !last) {
      out.missing[source] = stale ?? 'no value';
      continue;
    }
    const v = num(last);
    const ago = (ms: number) => {
      const p = view.atOrBefore(last.time - ms);
      return p && last.time - p.time < ms + 2 * DAY_MS ? p : undefined;
    };
    const year = view.since(last.time - YEAR_MS + 1).map(num);
    switch (source) {
      case 'fng': {
        const d7 = ago(7 * DAY_MS);
        const d30 = ago(30 * DAY_MS);
        out.fearGreed = {
          value: v,
          classification: last.label ?? '',
          ageDays: Math.floor((t - last.knownAt) / DAY_MS),
          change7d: d7 ? v - num(d7) : null,
          change30d: d30 ? v - num(d30) : null,
          percentile1y: percentile(year, v),
        };
        break;
      }
      case 'funding': {
        const week = view.since(last.time - 7 * DAY_MS + 1).map(num);
        out.funding = {
          latestPct: round(v * PCT),
          hoursAgo: round((t - last.time) / HOUR_MS),
          mean7dPct: round((week.reduce((s, x) => s + x, 0) / week.length) * PCT),
          percentile1y: percentile(year, v),
        };
        break;
      }
      case 'open_interest': {
        const p = view.atOrBefore(last.time - DAY_MS);
        const base = p && last.time - p.time <= DAY_MS + 3 * HOUR_MS ? num(p) : undefined;
        out.openInterest = {
          latest: round(v),
          change24hPct: base !== undefined && base > 0 ? round((v / base - 1) * PCT) : null,
        };
        break;
      }
      case 'long_short':
        out.longShort = {
          ratio: round(v),
          longAccountPct: last.value2 === null ? null : round(Number(last.value2) * PCT),
        };
        break;
    }
  }
  return out;
}
