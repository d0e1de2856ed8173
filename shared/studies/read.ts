/** Reading studies: one with its cells and report, the keyset-paged list, and the cells as CSV. */
import { and, asc, desc, eq, lt, or, sql } from 'drizzle-orm';
import { decodeCursor, encodeCursor } from '../db/cursor';
import { studies, studyCells } from '../db/schema';
import type { PipelineDeps } from '../pipeline/deps';
import { AppError } from '../util/errors';
import type { CellResult, DecisionCounts } from './cells';
import type { StudyReport } from './report';
import type { StudyRequest } from './request';

export interface StudyCellView {
  id: string;
  seq: number;
  kind: 'variant' | 'baseline';
  label: string;
  symbol: string;
  windowStart: Date;
  windowEnd: Date;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  backtestId: string | null;
  decisions: number;
  totalReturn: number | null;
  buyAndHoldReturn: number | null;
  excess: number | null;
  sharpeDaily: number | null;
  feesPaid: number | null;
  llmUsd: number | null;
  sample: string | null;
  decisionCounts: DecisionCounts | null;
  /** A cell with failed decisions (or a failed backtest): left out of the report's intervals. */
  flagged: boolean;
  complete: boolean;
  curve: [number, number, number][];
  error: { code: string; message: string } | null;
}

export interface StudyView {
  id: string;
  name: string;
  status: 'pending' | 'running' | 'succeeded' | 'failed';
  request: StudyRequest;
  estimate: unknown;
  progress: { done: number; total: number };
  report: StudyReport | null;
  error: { code: string; message: string } | null;
  createdAt: Date;
  finishedAt: Date | null;
}

function cellView(c: typeof studyCells.$inferSelect): StudyCellView {
  const r = c.result as CellResult | null;
  return {
    id: c.id,
    seq: c.seq,
    kind: c.kind,
    label: c.label,
    symbol: c.symbol,
    windowStart: c.windowStart,
    windowEnd: c.windowEnd,
    status: c.status,
    backtestId: c.backtestId,
    decisions: c.decisions,
    totalReturn: r?.totalReturn ?? null,
    buyAndHoldReturn: r?.buyAndHoldReturn ?? null,
    excess: r?.excess ?? null,
    sharpeDaily: r?.sharpeDaily ?? null,
    feesPaid: r?.feesPaid ?? null,
    llmUsd: r?.llmUsd ?? null,
    sample: r?.sample ?? null,
    decisionCounts: r?.decisionCounts ?? null,
    flagged: c.status === 'failed' || (r !== null && !r.complete),
    complete: c.status === 'succeeded' && (r?.complete ?? false),
    curve: r?.curve ?? [],
    error: (c.error as { code: string; message: string } | null) ?? null,
  };
}

function studyView(row: typeof studies.$inferSelect): StudyView {
  return {
    id: row.id,
    name: row.name,
    status: row.status,
    request: row.request as StudyRequest,
    estimate: row.estimate,
    progress: { done: row.cellsDone, total: row.cellsTotal },
    report: (row.report as StudyReport | null) ?? null,
    error: (row.error as { code: string; message: string } | null) ?? null,
    createdAt: row.createdAt,
    finishedAt: row.finishedAt,
  };
}

export async function getStudy(
  deps: PipelineDeps,
  id: string,
): Promise<StudyView & { cells: StudyCellView[] }> {
  const [row] = await deps.db.select().from(studies).where(eq(studies.id, id));
  if (!row) throw new AppError('NOT_FOUND', `study ${id} not found`, { field: 'id', id });
  const cells = await deps.db
    .select()
    .from(studyCells)
    .where(eq(studyCells.studyId, id))
    .orderBy(asc(studyCells.seq));
  return { ...studyView(row), cells: cells.map(cellView) };
}

export async function listStudies(
  deps: PipelineDeps,
  { limit, cursor }: { limit: number; cursor?: string | undefined },
): Promise<{ items: StudyView[]; nextCursor: string | null }> {
  const key = decodeCursor(cursor);
  const created = sql`date_trunc('milliseconds', ${studies.createdAt})`;
  const rows = await deps.db
    .select()
    .from(studies)
    .where(
      key
        ? or(
            lt(created, new Date(key.timeMs)),
            and(eq(created, new Date(key.timeMs)), lt(studies.id, key.id)),
          )
        : undefined,
    )
    .orderBy(desc(created), desc(studies.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((r) => ({ ...studyView(r), report: null })),
    nextCursor:
      rows.length > limit && last ? encodeCursor({ timeMs: last.createdAt.getTime(), id: last.id }) : null,
  };
}

const CSV_COLUMNS = [
  'seq',
  'kind',
  'label',
  'symbol',
  'window_start',
  'window_end',
  'status',
  'sample',
  'decisions',
  'decided',
  'abstained',
  'failed',
  'flagged',
  'total_return',
  'buy_and_hold_return',
  'excess_return',
  'sharpe_daily',
  'fees_paid',
  'llm_usd',
  'backtest_id',
  'error',
] as const;

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One line per cell (RFC 4180: quoted when needed, CRLF-free), returns as fractions. */
export async function studyCellsCsv(deps: PipelineDeps, id: string): Promise<string> {
  const study = await getStudy(deps, id);
  const lines = [CSV_COLUMNS.join(',')];
  for (const c of study.cells) {
    lines.push(
      [
        c.seq,
        c.kind,
        c.label,
        c.symbol,
        c.windowStart.toISOString(),
        c.windowEnd.toISOString(),
        c.status,
        c.sample,
        c.decisions,
        c.decisionCounts?.decided,
        c.decisionCounts?.abstained,
        c.decisionCounts?.failed,
        c.flagged,
        c.totalReturn,
        c.buyAndHoldReturn,
        c.excess,
        c.sharpeDaily,
        c.feesPaid,
        c.llmUsd,
        c.backtestId,
        c.error ? `${c.error.code}: ${c.error.message}` : null,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
