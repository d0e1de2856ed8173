/** The in-process backtest runner: the state machine's steps in this process (CLI, tests, fallback). */
import { runLearningCycle } from '../../learning/cycle';
import { AppError } from '../../util/errors';
import type { PipelineDeps } from '../deps';
import { type BacktestView, getBacktest } from './read';
import { planBacktest, runBacktestDecision, simulateBacktest } from './steps';
import { markBacktestFailed } from './store';
import { endBacktestSegment } from './walk-forward';

export interface RunBacktestOptions {
  /** Decision points run at once (the Map's MaxConcurrency). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * plan -> decision points with bounded concurrency (segment by segment, with a learning cycle between
 * two, for a walk-forward backtest) -> simulate, in this process. Any failure marks the
 * backtest failed (with the error) and is rethrown.
 */
export async function runBacktest(
  deps: PipelineDeps,
  backtestId: string,
  opts: RunBacktestOptions = {},
): Promise<BacktestView> {
  const concurrency = Math.max(1, opts.concurrency ?? deps.settings.BACKTEST_MAP_CONCURRENCY);
  try {
    let done = 0;
    let total = 0;
    // One segment without walk-forward learning; with it, a learning cycle between segments.
    for (let segment: number | null = 0; segment !== null; ) {
      const { items, decisions } = await planBacktest(deps, { backtestId, segment });
      total = decisions;
      let next = 0;
      const worker = async () => {
        for (;;) {
          const k = next++;
          const item = items[k];
          if (!item) return;
          await runBacktestDecision(deps, item);
          done++;
          opts.onProgress?.(done, total);
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
      const end = await endBacktestSegment(deps, { backtestId, segment });
      if (end.cycleId) await runLearningCycle(deps, end.cycleId);
      segment = end.next;
    }
    await simulateBacktest(deps, { backtestId });
  } catch (e) {
    const error =
      e instanceof AppError
        ? { code: e.code, message: e.message }
        : { code: 'INTERNAL', message: (e as Error)?.message ?? String(e) };
    await markBacktestFailed(deps, { backtestId, error }).catch(() => undefined);
    throw e;
  }
  return getBacktest(deps, backtestId);
}
