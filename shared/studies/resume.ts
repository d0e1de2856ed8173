/**
 * Resume a finished study: every cell that failed, or whose backtest has failed decisions (flagged,
 * left out of the report), runs again the way a backtest resumes (shared/pipeline/backtest/resume.ts):
 * only the failed or never-reached decisions are decided again, the decisions already made are kept
 * (no model call, $0), and the cell's backtest is simulated again. The caller then starts the Study
 * workflow: its plan step lists the cells that are not `succeeded`, so the complete cells are left
 * alone, and the report is built again over every cell.
 *
 * - A variant cell with a backtest: `resumeBacktest` reopens it (its failed decisions deleted, status
 *   pending); the cell's start step then finds it pending and runs it (the same backtest id). A backtest
 *   with nothing to resume (its cell failed while recording) is left as it is and the cell is recorded
 *   again from it. A variant cell without a backtest, and a failed baseline, start afresh.
 * - The study is reopened first with one conditional UPDATE (finished -> pending): of two resumes at
 *   once, one wins and the other is a 409. A study with nothing to resume is a 409 and changes nothing.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { studies, studyCells } from '../db/schema';
import { resumeBacktest } from '../pipeline/backtest';
import type { PipelineDeps } from '../pipeline/deps';
import { AppError, isAppError } from '../util/errors';
import { type CellResult, recordStudyProgress } from './cells';

export interface StudyResumeOutcome {
  studyId: string;
  /** Cells that run again (failed, or with failed decisions). */
  cells: number;
  /** Of those, variant cells whose backtest was reopened (only its failed decisions decided again). */
  backtestsResumed: number;
  /** Decision points decided again over those backtests. */
  decisionsToRun: number;
  /** Decisions kept as they were in those backtests (no new model call). */
  decisionsKept: number;
}

/** A cell to run again: it failed, or it succeeded with failed decisions (flagged). */
function needsResume(c: { status: string; result: unknown }): boolean {
  if (c.status === 'failed') return true;
  const r = c.result as CellResult | null;
  return c.status === 'succeeded' && r !== null && !r.complete;
}

export async function resumeStudy(deps: PipelineDeps, studyId: string): Promise<StudyResumeOutcome> {
  const [study] = await deps.db
    .select({ status: studies.status })
    .from(studies)
    .where(eq(studies.id, studyId));
  if (!study) throw new AppError('NOT_FOUND', `study ${studyId} not found`, { field: 'id', id: studyId });
  if (study.status === 'pending' || study.status === 'running')
    throw new AppError('CONFLICT', `study ${studyId} is ${study.status}: wait for it to finish`, {
      id: studyId,
      status: study.status,
    });
  const cells = (
    await deps.db
      .select({
        id: studyCells.id,
        kind: studyCells.kind,
        status: studyCells.status,
        result: studyCells.result,
        backtestId: studyCells.backtestId,
      })
      .from(studyCells)
      .where(eq(studyCells.studyId, studyId))
  ).filter(needsResume);
  if (cells.length === 0)
    throw new AppError('CONFLICT', `study ${studyId} has no failed or flagged cell to resume`, {
      id: studyId,
    });
  const reopened = await deps.db
    .update(studies)
    // The old report goes: it is built again over every cell when the rerun ends.
    .set({ status: 'pending', error: null, finishedAt: null, report: null })
    .where(and(eq(studies.id, studyId), inArray(studies.status, ['succeeded', 'failed'])))
    .returning({ id: studies.id });
  if (reopened.length === 0)
    throw new AppError('CONFLICT', `study ${studyId} is already being resumed`, { id: studyId });

  let backtestsResumed = 0;
  let decisionsToRun = 0;
  let decisionsKept = 0;
  for (const c of cells) {
    if (c.kind === 'variant' && c.backtestId) {
      try {
        const r = await resumeBacktest(deps, c.backtestId);
        backtestsResumed++;
        decisionsToRun += r.toRun;
        decisionsKept += r.kept;
      } catch (e) {
        // Nothing to resume in the backtest itself: the cell is recorded again from it.
        if (!(isAppError(e) && e.code === 'CONFLICT')) throw e;
      }
    }
    await deps.db
      .update(studyCells)
      .set({ status: 'pending', error: null, finishedAt: null })
      .where(eq(studyCells.id, c.id));
  }
  await recordStudyProgress(deps, studyId);
  return { studyId, cells: cells.length, backtestsResumed, decisionsToRun, decisionsKept };
}
