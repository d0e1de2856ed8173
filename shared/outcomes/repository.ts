/**
 * Persistence of outcomes (`trade_outcomes`). The rows are a function of the trade ledger
 * (shared/outcomes/ledger.ts) plus the entry decision's context, written:
 * - live: by `recordClosingOutcomes`, inside the transaction of the SELL that closes them (under the
 *   run's row lock, so `seq` = max + 1 is safe): the FIFO lots of that symbol are replayed from the
 *   run's filled trades and the pieces the new trade closed are inserted;
 * - backtests: by `replaceRunOutcomes`, in the simulate step's transaction, replacing the run's rows
 *   (a rerun replaces, never appends), end_of_backtest marks included.
 * `auditOutcomes` rebuilds them from `trades` and lists every difference (empty = they agree).
 *
 * Reading: `listOutcomes(db, query)` (the learning loop's and studies' door; walk-forward through
 * `closedBefore`, strict), `pageOutcomes` (the API, newest first), `outcomeAggregates`.
 */
import { and, asc, desc, eq, gte, inArray, lt, max, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { decisions, tradeOutcomes, trades } from '../db/schema';
import { filtersFor } from '../market/types';
import { cmp, type Fixed, parseFixed } from '../portfolio/exact';
import { AppError } from '../util/errors';
import { emptyContext, entryContextOf } from './context';
import { type ClosedLot, FifoLots, type LedgerFill, outcomesFromLedger } from './ledger';
import { aggregateOutcomes, type OutcomeAggregates } from './stats';
import type { EntryContext, ExitReason, OutcomeQuery, TradeOutcome } from './types';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

const stepCache = new Map<string, Fixed>();
/** The LOT_SIZE step of a symbol (dust below it, see ledger.ts). */
export function stepOf(symbol: string): Fixed {
  let s = stepCache.get(symbol);
  if (!s) {
    s = parseFixed(filtersFor(symbol).stepSize);
    stepCache.set(symbol, s);
  }
  return s;
}

type TradeRow = typeof trades.$inferSelect;
type OutcomeRow = typeof tradeOutcomes.$inferSelect;

export function ledgerFillOf(t: TradeRow): LedgerFill {
  return {
    tradeId: t.id,
    decisionId: t.decisionId,
    symbol: t.symbol,
    side: t.side,
    reason: t.reason,
    quantity: t.quantity,
    price: t.price,
    notional: t.notional,
    fee: t.fee,
    feeUsd: t.feeUsd,
    executedAt: t.executedAt.getTime(),
  };
}

async function filledTrades(db: DbOrTx, runId: string, symbol?: string): Promise<TradeRow[]> {
  const where = [eq(trades.runId, runId), eq(trades.status, 'filled')];
  if (symbol) where.push(eq(trades.symbol, symbol));
  return db
    .select()
    .from(trades)
    .where(and(...where))
    .orderBy(asc(trades.seq));
}

/** Entry contexts of the given decisions, one query. */
async function contextsOf(db: DbOrTx, ids: readonly (string | null)[]): Promise<Map<string, EntryContext>> {
  const unique = [...new Set(ids.filter((x): x is string => !!x))];
  const out = new Map<string, EntryContext>();
  if (unique.length === 0) return out;
  const rows = await db
    .select({
      id: decisions.id,
      provider: decisions.provider,
      outputs: decisions.outputs,
      promptVersions: decisions.promptVersions,
      snapshot: decisions.snapshot,
      consensus: decisions.consensus,
    })
    .from(decisions)
    .where(inArray(decisions.id, unique));
  for (const r of rows) out.set(r.id, entryContextOf(r));
  return out;
}

async function insertLots(
  db: DbOrTx,
  runId: string,
  backtestId: string | null,
  lots: readonly ClosedLot[],
  firstSeq: number,
): Promise<number> {
  if (lots.length === 0) return 0;
  const contexts = await contextsOf(
    db,
    lots.map((l) => l.entryDecisionId),
  );
  const values = lots.map((l, i) => {
    const context = (l.entryDecisionId ? contexts.get(l.entryDecisionId) : undefined) ?? emptyContext();
    return {
      runId,
      backtestId,
      seq: firstSeq + i,
      symbol: l.symbol,
      entryDecisionId: l.entryDecisionId,
      exitDecisionId: l.exitDecisionId,
      entryTradeId: l.entryTradeId,
      exitTradeId: l.exitTradeId,
      entryTime: new Date(l.entryTime),
      exitTime: new Date(l.exitTime),
      entryPrice: l.entryPrice,
      exitPrice: l.exitPrice,
      quantity: l.quantity,
      entryCost: l.entryCost,
      proceeds: l.proceeds,
      pnlUsdt: l.pnlUsdt,
      pnlPct: l.pnlPct.toFixed(8),
      fees: l.fees,
      holdingMs: l.holdingMs,
      exitReason: l.exitReason,
      regime: context.regime.detector?.regime ?? null,
      researcherConfidence:
        context.researcher.confidence === null ? null : context.researcher.confidence.toFixed(4),
      context,
    };
  });
  // Chunked: a long backtest can close thousands of lots (PostgreSQL caps bind parameters at 65,535).
  const CHUNK = 500;
  for (let i = 0; i < values.length; i += CHUNK) {
    await db.insert(tradeOutcomes).values(values.slice(i, i + CHUNK));
  }
  return values.length;
}

/**
 * Live: record the outcomes a just-written SELL closed. Call inside the fill's transaction, after the
 * trade row is inserted (the run row is locked by the caller).
 */
export async function recordClosingOutcomes(
  tx: DbOrTx,
  input: { runId: string; symbol: string; exitTradeId: string },
): Promise<number> {
  const book = new FifoLots(stepOf);
  let closed: ClosedLot[] = [];
  for (const t of await filledTrades(tx, input.runId, input.symbol)) {
    const lots = book.apply(ledgerFillOf(t));
    if (t.id === input.exitTradeId) closed = lots;
  }
  if (closed.length === 0) return 0;
  const [row] = await tx
    .select({ last: max(tradeOutcomes.seq) })
    .from(tradeOutcomes)
    .where(eq(tradeOutcomes.runId, input.runId));
  return insertLots(tx, input.runId, null, closed, (row?.last ?? 0) + 1);
}

/** Backtests: replace the run's outcomes with those of its (just written) ledger and final mark. */
export async function replaceRunOutcomes(
  tx: DbOrTx,
  input: {
    runId: string;
    backtestId: string | null;
    finalMarks?: Readonly<Record<string, { price: string; time: number }>>;
  },
): Promise<number> {
  await tx.delete(tradeOutcomes).where(eq(tradeOutcomes.runId, input.runId));
  const fills = (await filledTrades(tx, input.runId)).map(ledgerFillOf);
  const lots = outcomesFromLedger(fills, { stepOf, finalMarks: input.finalMarks });
  return insertLots(tx, input.runId, input.backtestId, lots, 1);
}

export function outcomeOf(r: OutcomeRow): TradeOutcome {
  return {
    id: r.id,
    runId: r.runId,
    backtestId: r.backtestId,
    symbol: r.symbol,
    entryDecisionId: r.entryDecisionId,
    exitDecisionId: r.exitDecisionId,
    entryTradeId: r.entryTradeId,
    exitTradeId: r.exitTradeId,
    entryTime: r.entryTime.getTime(),
    exitTime: r.exitTime.getTime(),
    entryPrice: Number(r.entryPrice),
    exitPrice: Number(r.exitPrice),
    quantity: Number(r.quantity),
    pnlUsdt: Number(r.pnlUsdt),
    pnlPct: Number(r.pnlPct),
    fees: Number(r.fees),
    holdingMs: Number(r.holdingMs),
    exitReason: r.exitReason as ExitReason,
    context: r.context as EntryContext,
  };
}

function validateQuery(q: OutcomeQuery): void {
  if (!q.runId || typeof q.runId !== 'string')
    throw new AppError('VALIDATION_ERROR', 'runId is required', { field: 'runId' });
  if (q.limit !== undefined && !(Number.isInteger(q.limit) && q.limit >= 1))
    throw new AppError('VALIDATION_ERROR', 'limit must be a positive integer', { field: 'limit' });
  for (const f of ['closedBefore', 'closedFrom'] as const) {
    const v = q[f];
    if (v !== undefined && !Number.isFinite(v))
      throw new AppError('VALIDATION_ERROR', `${f} must be epoch ms`, { field: f });
  }
}

/**
 * Outcomes of one book, oldest exit first. `closedBefore` is strict (exitTime < closedBefore) and
 * `closedFrom` inclusive; with `limit`, the MOST RECENT `limit` outcomes of that window (still returned
 * oldest first): what walk-forward readers (Kelly, the learning loop) want.
 */
export async function listOutcomes(db: DbOrTx, query: OutcomeQuery): Promise<TradeOutcome[]> {
  validateQuery(query);
  const where: SQL[] = [eq(tradeOutcomes.runId, query.runId)];
  if (query.symbol) where.push(eq(tradeOutcomes.symbol, query.symbol));
  if (query.closedBefore !== undefined) where.push(lt(tradeOutcomes.exitTime, new Date(query.closedBefore)));
  if (query.closedFrom !== undefined) where.push(gte(tradeOutcomes.exitTime, new Date(query.closedFrom)));
  const q = db
    .select()
    .from(tradeOutcomes)
    .where(and(...where))
    .orderBy(desc(tradeOutcomes.exitTime), desc(tradeOutcomes.seq));
  const rows = query.limit !== undefined ? await q.limit(query.limit) : await q;
  return rows.reverse().map(outcomeOf);
}

export interface OutcomePage {
  items: TradeOutcome[];
  nextCursor: string | null;
}

/** Newest first (by seq), paginated; the cursor is the last seq seen. */
export async function pageOutcomes(
  db: DbOrTx,
  q: { runId: string; symbol?: string; limit?: number; cursor?: string | null },
): Promise<OutcomePage> {
  const limit = q.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
    throw new AppError('VALIDATION_ERROR', `limit must be an integer from 1 to ${MAX_PAGE}`, {
      field: 'limit',
    });
  let before: number | null = null;
  if (q.cursor != null && q.cursor !== '') {
    before = Number(q.cursor);
    if (!Number.isSafeInteger(before) || before < 1)
      throw new AppError('VALIDATION_ERROR', 'cursor is not a valid outcome cursor', { field: 'cursor' });
  }
  const where: SQL[] = [eq(tradeOutcomes.runId, q.runId)];
  if (q.symbol) where.push(eq(tradeOutcomes.symbol, q.symbol));
  if (before !== null) where.push(lt(tradeOutcomes.seq, before));
  const rows = await db
    .select()
    .from(tradeOutcomes)
    .where(and(...where))
    .orderBy(desc(tradeOutcomes.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    items: page.map(outcomeOf),
    nextCursor: rows.length > limit ? String(page.at(-1)?.seq) : null,
  };
}

/** Aggregates over every outcome of a book (optionally one symbol). */
export async function outcomeAggregates(
  db: DbOrTx,
  q: { runId: string; symbol?: string },
): Promise<OutcomeAggregates> {
  return aggregateOutcomes(await listOutcomes(db, { runId: q.runId, symbol: q.symbol }));
}

/**
 * Rebuild a book's outcomes from its `trades` (and, for a backtest, its final mark) and compare them
 * with the stored rows, field by field. Returns the differences (empty when they agree).
 */
export async function auditOutcomes(
  db: DbOrTx,
  runId: string,
  finalMarks?: Readonly<Record<string, { price: string; time: number }>>,
): Promise<string[]> {
  const fills = (await filledTrades(db, runId)).map(ledgerFillOf);
  const rebuilt = outcomesFromLedger(fills, { stepOf, finalMarks });
  const stored = await db
    .select()
    .from(tradeOutcomes)
    .where(eq(tradeOutcomes.runId, runId))
    .orderBy(asc(tradeOutcomes.seq));
  const out: string[] = [];
  if (rebuilt.length !== stored.length) out.push(`count: ledger ${rebuilt.length}, stored ${stored.length}`);
  const n = Math.min(rebuilt.length, stored.length);
  const same = (a: string, b: string) => cmp(parseFixed(a), parseFixed(b)) === 0;
  for (let i = 0; i < n; i++) {
    const a = rebuilt[i] as ClosedLot;
    const b = stored[i] as OutcomeRow;
    const diff = (f: string, x: unknown, y: unknown) => out.push(`#${i + 1} ${f}: ledger ${x}, stored ${y}`);
    if (a.symbol !== b.symbol) diff('symbol', a.symbol, b.symbol);
    if (a.entryTradeId !== b.entryTradeId) diff('entryTradeId', a.entryTradeId, b.entryTradeId);
    if (a.exitTradeId !== b.exitTradeId) diff('exitTradeId', a.exitTradeId, b.exitTradeId);
    if (a.entryDecisionId !== b.entryDecisionId)
      diff('entryDecisionId', a.entryDecisionId, b.entryDecisionId);
    if (a.exitDecisionId !== b.exitDecisionId) diff('exitDecisionId', a.exitDecisionId, b.exitDecisionId);
    if (a.entryTime !== b.entryTime.getTime()) diff('entryTime', a.entryTime, b.entryTime.toISOString());
    if (a.exitTime !== b.exitTime.getTime()) diff('exitTime', a.exitTime, b.exitTime.toISOString());
    if (a.exitReason !== b.exitReason) diff('exitReason', a.exitReason, b.exitReason);
    for (const f of [
      'entryPrice',
      'exitPrice',
      'quantity',
      'entryCost',
      'proceeds',
      'pnlUsdt',
      'fees',
    ] as const)
      if (!same(a[f], b[f])) diff(f, a[f], b[f]);
    if (Math.abs(a.pnlPct - Number(b.pnlPct)) > 1e-8) diff('pnlPct', a.pnlPct, b.pnlPct);
  }
  return out;
}
