/**
 * Read model of `GET /outcomes`: a page of a book's outcomes (newest first) and the aggregates over all
 * of them, mapped to the API's shape here (the repository returns domain objects).
 */
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { runs } from '../db/schema';
import { outcomeAggregates, pageOutcomes } from '../outcomes/repository';
import type { TradeOutcome } from '../outcomes/types';
import { LIVE_RUN_ID } from '../portfolio/repository';
import { AppError } from '../util/errors';
import type { OutcomeDto, OutcomesPageDto } from './contract';

export function outcomeDto(o: TradeOutcome): OutcomeDto {
  return {
    ...o,
    entryTime: new Date(o.entryTime).toISOString(),
    exitTime: new Date(o.exitTime).toISOString(),
    context: o.context as unknown as Record<string, unknown>,
  };
}

export async function outcomesPage(
  db: DbOrTx,
  q: { limit: number; cursor?: string | undefined; run_id?: string | undefined; symbol?: string | undefined },
): Promise<OutcomesPageDto> {
  const runId = q.run_id ?? LIVE_RUN_ID;
  if (q.run_id !== undefined) {
    const [run] = await db.select({ id: runs.id }).from(runs).where(eq(runs.id, q.run_id));
    if (!run) throw new AppError('NOT_FOUND', `run_id: no run ${q.run_id}`, { field: 'run_id' });
  }
  let cursor: string | null = null;
  if (q.cursor !== undefined && q.cursor !== '') {
    const m = /^outcome:(\d{1,12})$/.exec(Buffer.from(q.cursor, 'base64url').toString('utf8'));
    if (!m?.[1])
      throw new AppError(
        'VALIDATION_ERROR',
        'cursor: not a cursor this API issued (use nextCursor from a previous page)',
        {
          field: 'cursor',
        },
      );
    cursor = m[1];
  }
  const page = await pageOutcomes(db, { runId, symbol: q.symbol, limit: q.limit, cursor });
  const aggregates = await outcomeAggregates(db, { runId, symbol: q.symbol });
  return {
    runId,
    items: page.items.map(outcomeDto),
    nextCursor: page.nextCursor
      ? Buffer.from(`outcome:${page.nextCursor}`, 'utf8').toString('base64url')
      : null,
    aggregates,
  };
}
