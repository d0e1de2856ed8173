/**
 * What the pipeline asks for: the sentiment summary known at a decision time, for one symbol.
 *
 * Decisions:
 * - Each source fails on its own: a read that errors (upstream down, timed out, rate-limited past what
 *   we wait, a malformed answer) makes that source missing for this decision, with the error as the
 *   reason; the others still count. Nothing here throws for a source's failure.
 * - Every series is read for the window before t only (LOOKBACK_MS .. t - 1) and the summary comes from
 *   the clock-gated view at t, the same for live decisions and backtests: a backtest decision never
 *   asks for, nor sees, anything published at or after its own time. Missing values are fetched on
 *   demand by the decision's own snapshot step, through the cache (only missing ranges, each asked once
 *   per process when it is a real upstream hole): there is no separate prefetch a backtest could
 *   silently skip, and a re-run reads the same values back from the database.
 * - The sources are read in parallel: a slow one costs its own timeout, not the sum.
 */
import type { SentimentStore } from './store';
import { SENTIMENT_SERIES, type SentimentSeries, type SentimentSourceName } from './types';
import {
  createSeriesTimeline,
  LOOKBACK_MS,
  type SentimentSummary,
  type SeriesView,
  summarizeSentiment,
} from './view';

export interface SentimentReader {
  /** The sources this reader consults (SENTIMENT_SOURCES). */
  readonly sources: readonly SentimentSourceName[];
  summaryAt(symbol: string, decisionTime: number): Promise<SentimentSummary>;
}

function reasonOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}

export function createSentimentReader(
  store: SentimentStore,
  sources: readonly SentimentSourceName[],
): SentimentReader {
  const series = SENTIMENT_SERIES.filter((s) => sources.includes(s));
  return {
    sources,
    async summaryAt(symbol, decisionTime) {
      const views: Partial<Record<SentimentSeries, SeriesView>> = {};
      const failed: Partial<Record<SentimentSourceName, string>> = {};
      await Promise.all(
        series.map(async (s) => {
          try {
            const { points } = await store.getSeries(
              s,
              symbol,
              Math.max(0, decisionTime - LOOKBACK_MS[s]),
              decisionTime - 1,
            );
            views[s] = createSeriesTimeline(points).at(decisionTime);
          } catch (e) {
            failed[s] = reasonOf(e);
          }
        }),
      );
      return summarizeSentiment(decisionTime, sources, views, failed);
    },
  };
}
