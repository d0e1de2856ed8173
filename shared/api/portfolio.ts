/**
 * Read models of the books for `GET /portfolio`, `GET /portfolio/history` and `GET /trades`, in the
 * API contract's shapes (numbers rounded for display; the database keeps the exact decimals). The
 * portfolio and trade records themselves are shared/portfolio/records.ts's.
 *
 * Decisions:
 * - The live book is marked to the latest price the caller can get (the exchange ticker on the hosts).
 *   A symbol whose price cannot be read is valued at its average entry price and named in `pricesNote`,
 *   never silently.
 * - Reading the live portfolio creates the empty live book on first use (INITIAL_CASH), so a fresh
 *   install answers with its starting cash instead of a 404.
 * - Trades are paginated by the run's ledger order (`seq`), newest first; the cursor is opaque.
 */
import { and, desc, eq, lt } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { portfolioSnapshots, runs, trades } from '../db/schema';
import { displayNumber as num, tradeRecord } from '../portfolio/records';
import { LIVE_RUN_ID } from '../portfolio/repository';
import { AppError } from '../util/errors';
import type { TradeDto } from './contract';

export { livePortfolio, type PriceLookup } from '../portfolio/records';

export async function tradesPage(
  db: DbOrTx,
  q: { limit: number; cursor?: string | undefined; run_id?: string | undefined; symbol?: string | undefined },
): Promise<{ items: TradeDto[]; nextCursor: string | null }> {
  const runId = q.run_id ?? LIVE_RUN_ID;
  let before: number | undefined;
  if (q.cursor !== undefined && q.cursor !== '') {
    const decoded = Buffer.from(q.cursor, 'base64url').toString('utf8');
    const m = /^seq:(\d{1,12})$/.exec(decoded);
    if (!m?.[1]) {
      throw new AppError(
        'VALIDATION_ERROR',
        'cursor: not a cursor this API issued (use nextCursor from a previous page)',
        {
          field: 'cursor',
        },
      );
    }
    before = Number(m[1]);
  }
  if (q.run_id !== undefined) {
    const [run] = await db.select({ id: runs.id }).from(runs).where(eq(runs.id, q.run_id));
    if (!run) throw new AppError('NOT_FOUND', `run_id: no run ${q.run_id}`, { field: 'run_id' });
  }
  const rows = await db
    .select()
    .from(trades)
    .where(
      and(
        eq(trades.runId, runId),
        q.symbol ? eq(trades.symbol, q.symbol) : undefined,
        before !== undefined ? lt(trades.seq, before) : undefined,
      ),
    )
    .orderBy(desc(trades.seq))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    items: page.map(tradeRecord),
    nextCursor:
      rows.length > q.limit && last ? Buffer.from(`seq:${last.seq}`, 'utf8').toString('base64url') : null,
  };
}

export async function portfolioHistory(
  db: DbOrTx,
  { limit, runId = LIVE_RUN_ID }: { limit: number; runId?: string },
): Promise<{ runId: string; points: { timestamp: string; equity: number }[] }> {
  // The newest `limit` points, returned oldest first (a chart's order).
  const rows = await db
    .select({ timestamp: portfolioSnapshots.timestamp, equity: portfolioSnapshots.equity })
    .from(portfolioSnapshots)
    .where(eq(portfolioSnapshots.runId, runId))
    .orderBy(desc(portfolioSnapshots.timestamp), desc(portfolioSnapshots.id))
    .limit(limit);
  return {
    runId,
    points: rows.reverse().map((r) => ({ timestamp: r.timestamp.toISOString(), equity: num(r.equity) })),
  };
}
