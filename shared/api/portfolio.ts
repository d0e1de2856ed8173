/**
 * Read models of the books for `GET /portfolio`, `GET /portfolio/history` and `GET /trades`, in the
 * API contract's shapes (numbers rounded for display; the database keeps the exact decimals).
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
import type { Settings } from '../config/settings';
import type { DbOrTx } from '../db/client';
import { portfolioSnapshots, runs, trades } from '../db/schema';
import { ensureRun, getPortfolio, LIVE_RUN_ID, loadBook } from '../portfolio/repository';
import { AppError } from '../util/errors';
import type { PortfolioDto, TradeDto } from './contract';

const MONEY_DECIMALS = 8;
const num = (s: string | number) => Number(Number(s).toFixed(MONEY_DECIMALS));

export type PriceLookup = (symbol: string) => Promise<number | null>;

export async function livePortfolio(
  db: DbOrTx,
  settings: Settings,
  price: PriceLookup,
  nowMs: number,
  runId = LIVE_RUN_ID,
): Promise<PortfolioDto> {
  if (runId === LIVE_RUN_ID)
    await ensureRun(db, { id: LIVE_RUN_ID, kind: 'live', initialCash: settings.INITIAL_CASH });
  const book = await loadBook(db, runId);
  const held = Object.values(book.positions)
    .filter((p) => !p.quantity.isZero())
    .map((p) => p.symbol);
  const prices: Record<string, number> = {};
  const failed: string[] = [];
  await Promise.all(
    held.map(async (s) => {
      const p = await price(s).catch(() => null);
      if (p !== null && Number.isFinite(p) && p > 0) prices[s] = p;
      else failed.push(s);
    }),
  );
  const view = await getPortfolio(db, runId, prices);
  const assumed = [...new Set([...failed, ...view.pricesAssumed])].sort();
  return {
    runId,
    initialCash: num(view.initialCash),
    cash: num(view.cash),
    equity: num(view.equity),
    positionsValue: num(view.positionsValue),
    totalReturnPct: Number((view.totalReturn * 100).toFixed(6)),
    realizedPnl: num(view.realizedPnl),
    unrealizedPnl: num(view.unrealizedPnl),
    feesPaid: num(view.feesPaid),
    positions: view.positions.map((p) => {
      const priced = prices[p.symbol] !== undefined;
      return {
        symbol: p.symbol,
        quantity: num(p.quantity),
        avgEntryPrice: num(p.avgEntryPrice),
        currentPrice: priced ? num(p.price) : null,
        marketValue: priced ? num(p.value) : null,
        unrealizedPnl: priced ? num(p.unrealizedPnl) : null,
      };
    }),
    asOf: new Date(nowMs).toISOString(),
    pricesNote: assumed.length
      ? `no current price for ${assumed.join(', ')}: valued at the average entry price`
      : null,
  };
}

export function tradeDto(r: typeof trades.$inferSelect): TradeDto {
  const clamps = Array.isArray(r.clamps) ? (r.clamps as Record<string, unknown>[]) : [];
  const n = (v: unknown) => (v === undefined || v === null || !Number.isFinite(Number(v)) ? null : Number(v));
  return {
    id: r.id,
    runId: r.runId,
    decisionId: r.decisionId,
    symbol: r.symbol,
    side: r.side,
    status: r.status,
    reason: r.reason,
    quantity: num(r.quantity),
    price: num(r.price),
    notional: num(r.notional),
    fee: num(r.fee),
    feeAsset: r.feeAsset,
    feeUsd: num(r.feeUsd),
    realizedPnl: num(r.realizedPnl),
    clamps: clamps.map((c) => ({
      rule: String(c.rule ?? ''),
      requested: n(c.requested),
      allowed: n(c.allowed),
      ...(typeof c.unit === 'string' ? { unit: c.unit } : {}),
      reason: String(c.reason ?? c.detail ?? ''),
    })),
    executedAt: r.executedAt.toISOString(),
  };
}

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
    items: page.map(tradeDto),
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
