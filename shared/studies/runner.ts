/**
 * The in-process study runner: the Study state machine's steps in this process (the host's fallback
 * when the local state machines cannot be built, and the CLI's fast path). Same steps, same order:
 * plan -> each cell (start; its backtest through the in-process backtest runner; record) with bounded
 * concurrency -> report. A cell's failure is recorded on the cell; a failure of plan or report fails
 * the study.
 */
import { runBacktest } from '../pipeline/backtest';
import type { PipelineDeps } from '../pipeline/deps';
import { AppError } from '../util/errors';
import { markStudyFailed, planStudy, recordStudyCell, reportStudy, startStudyCell } from './cells';

export interface RunStudyOptions {
  /** Cells at once (the cell Map's MaxConcurrency). */
  concurrency?: number;
  /** Decision points at once inside each cell's backtest. */
  backtestConcurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

const errorOf = (e: unknown) =>
  e instanceof AppError
    ? { code: e.code, message: e.message }
    : { code: 'INTERNAL', message: (e as Error)?.message ?? String(e) };

export async function runStudy(
  deps: PipelineDeps,
  studyId: string,
  opts: RunStudyOptions = {},
): Promise<void> {
  try {
    const { items } = await planStudy(deps, { studyId });
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (;;) {
        const item = items[next++];
        if (!item) return;
        try {
          const started = await startStudyCell(deps, item);
          if (started.run && started.backtestId) {
            await runBacktest(deps, started.backtestId, {
              ...(opts.backtestConcurrency ? { concurrency: opts.backtestConcurrency } : {}),
            }).catch(() => undefined); // recorded on the backtest; the cell reads it
          }
          await recordStudyCell(deps, item);
        } catch (e) {
          await recordStudyCell(deps, { ...item, error: errorOf(e) });
        }
        done++;
        opts.onProgress?.(done, items.length);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(Math.max(1, opts.concurrency ?? 4), items.length) }, worker),
    );
    await reportStudy(deps, { studyId });
  } catch (e) {
    await markStudyFailed(deps, { studyId, error: errorOf(e) }).catch(() => undefined);
    throw e;
  }
}
