/**
 * Persistence of books on the `runs`, `positions`, `trades` and `portfolio_snapshots` tables.
 *
 * Exported: `ensureRun`, `loadBook`, `executeDecision`, `getPortfolio`, `listTrades`, `snapshot`,
 * `auditRun`, `executionSettingsFrom`, `LIVE_RUN_ID`, and their types.
 *
 * Design decisions:
 * - The ledger math is shared/portfolio (planOrder/applyFill); this file only reads and writes.
 * - `executeDecision` reads, plans, applies and writes inside ONE transaction that first locks the run
 *   row (`SELECT … FOR UPDATE`). Two executions against the same book serialize on that lock, so
 *   neither can plan on a stale book and overwrite the other's update (no lost update). The ledger
 *   order `seq` is max(seq) + 1 taken under the same lock; the (run_id, seq) unique index backs it up.
 * - Every amount is a numeric string (numeric(30,12)); ledger amounts are created at 12 decimals
 *   (book.ts) so what is stored is exactly what was computed.
 * - A filled SELL records the outcomes (FIFO lots) it closed in the same transaction
 *   (shared/outcomes/repository.ts), so outcomes never disagree with the ledger.
 * - Rejected orders are written to `trades` with status 'rejected' (zero notional and fee), so the user
 *   sees them with their clamps; HOLD writes nothing.
 * - Marks: equity needs a price for every held symbol. A caller that gives none for some symbol gets
 *   it valued at its average entry price, and the result lists it in `pricesAssumed` (never silent).
 */
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Settings } from '../config/settings';
import type { Db, DbOrTx } from '../db/client';
import { portfolioSnapshots, positions, runs, trades } from '../db/schema';
import { filtersFor, type SymbolFilters } from '../market/types';
import { recordClosingOutcomes } from '../outcomes/repository';
import { AppError } from '../util/errors';
import {
  applyFill,
  avgEntryPrice,
  type Book,
  type BookJSON,
  bookToJSON,
  Dec,
  type DecimalInput,
  dec,
  type Position,
  rebuildFromLedger,
} from './book';
import { type Action, type Clamp, fillFromPlan, planOrder } from './order';

export const LIVE_RUN_ID = 'live';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;

export interface ExecutionSettings {
  maxPositionPct: number;
  maxTotalExposurePct: number;
  feeBps: number;
  slippageBps: number;
  /** Exchange filters; default `filtersFor(symbol)`. */
  filters?: SymbolFilters;
}

/** The execution knobs from the validated settings (MAX_POSITION_SIZE_PCT, FEE_BPS, …). */
export function executionSettingsFrom(s: Settings): ExecutionSettings {
  return {
    maxPositionPct: s.MAX_POSITION_SIZE_PCT,
    maxTotalExposurePct: s.MAX_TOTAL_EXPOSURE_PCT,
    feeBps: s.FEE_BPS,
    slippageBps: s.SLIPPAGE_BPS,
  };
}

export interface RunInput {
  id: string;
  kind: 'live' | 'backtest';
  initialCash: DecimalInput;
}

/** Create the run (book) if it does not exist; an existing run is returned unchanged. */
export async function ensureRun(db: DbOrTx, input: RunInput) {
  if (!input.id || typeof input.id !== 'string') {
    throw new AppError('VALIDATION_ERROR', 'run id is required', { field: 'id' });
  }
  const cash = dec(input.initialCash);
  if (!cash.isFinite() || cash.lte(0)) {
    throw new AppError(
      'VALIDATION_ERROR',
      `initialCash must be positive (got ${String(input.initialCash)})`,
      {
        field: 'initialCash',
      },
    );
  }
  await db
    .insert(runs)
    .values({ id: input.id, kind: input.kind, initialCash: cash.toFixed(), cash: cash.toFixed() })
    .onConflictDoNothing({ target: runs.id });
  const [row] = await db.select().from(runs).where(eq(runs.id, input.id));
  if (!row) throw new AppError('INTERNAL', `run ${input.id} vanished after insert`);
  return row;
}

type RunRow = typeof runs.$inferSelect;
type PositionRow = typeof positions.$inferSelect;

function toBook(run: RunRow, rows: readonly PositionRow[]): Book {
  const ps: Record<string, Position> = {};
  for (const r of rows) {
    ps[r.symbol] = {
      symbol: r.symbol,
      baseAsset: filtersFor(r.symbol).baseAsset,
      quantity: new Dec(r.quantity),
      costBasis: new Dec(r.costBasis),
      realizedPnl: new Dec(r.realizedPnl),
      feesPaid: new Dec(r.feesPaid),
    };
  }
  return {
    initialCash: new Dec(run.initialCash),
    cash: new Dec(run.cash),
    realizedPnl: new Dec(run.realizedPnl),
    feesPaid: new Dec(run.feesPaid),
    positions: ps,
  };
}

async function readRun(db: DbOrTx, runId: string, lock: boolean): Promise<RunRow> {
  const q = db.select().from(runs).where(eq(runs.id, runId));
  const [run] = lock ? await q.for('update') : await q;
  if (!run) throw new AppError('NOT_FOUND', `run ${runId} not found`, { field: 'runId' });
  return run;
}

export async function loadBook(db: DbOrTx, runId: string): Promise<Book> {
  const run = await readRun(db, runId, false);
  const rows = await db.select().from(positions).where(eq(positions.runId, runId));
  return toBook(run, rows);
}

/** Marks for every held symbol: given prices, else the average entry price (reported). */
function marksFor(
  book: Book,
  prices: Readonly<Record<string, DecimalInput>>,
): { marks: Record<string, Dec>; assumed: string[] } {
  const marks: Record<string, Dec> = {};
  const assumed: string[] = [];
  for (const [s, v] of Object.entries(prices)) {
    const d = dec(v);
    if (!d.isFinite() || d.lte(0)) {
      throw new AppError('VALIDATION_ERROR', `price for ${s} must be positive (got ${String(v)})`, {
        field: `prices.${s}`,
      });
    }
    marks[s] = d;
  }
  for (const p of Object.values(book.positions)) {
    if (p.quantity.isZero() || marks[p.symbol]) continue;
    marks[p.symbol] = avgEntryPrice(p);
    assumed.push(p.symbol);
  }
  return { marks, assumed };
}

export interface ExecuteInput {
  runId: string;
  decisionId?: string | null;
  symbol: string;
  action: Action;
  sizePct: number;
  /** Reference price (before slippage): the last close or the current price. */
  price: DecimalInput;
  executedAt: Date | number;
  settings: ExecutionSettings;
  /** Prices of the other held symbols, for equity. */
  marks?: Readonly<Record<string, DecimalInput>>;
}

export interface TradeView {
  id: string;
  seq: number;
  decisionId: string | null;
  symbol: string;
  side: 'BUY' | 'SELL';
  status: 'filled' | 'rejected';
  reason: string | null;
  quantity: string;
  price: string;
  referencePrice: string;
  notional: string;
  fee: string;
  feeAsset: string;
  feeUsd: string;
  realizedPnl: string;
  clamps: Clamp[];
  executedAt: string;
}

export interface ExecutionResult {
  status: 'filled' | 'rejected' | 'hold';
  /** The ledger row written (filled or rejected), or null on HOLD. */
  trade: TradeView | null;
  rejected?: { rule: string; reason: string };
  clamps: Clamp[];
  /** The book after the execution. */
  book: BookJSON;
  pricesAssumed: string[];
}

function tradeView(r: typeof trades.$inferSelect): TradeView {
  return {
    id: r.id,
    seq: r.seq,
    decisionId: r.decisionId,
    symbol: r.symbol,
    side: r.side,
    status: r.status,
    reason: r.reason,
    quantity: r.quantity,
    price: r.price,
    referencePrice: r.referencePrice,
    notional: r.notional,
    fee: r.fee,
    feeAsset: r.feeAsset,
    feeUsd: r.feeUsd,
    realizedPnl: r.realizedPnl,
    clamps: r.clamps as Clamp[],
    executedAt: r.executedAt.toISOString(),
  };
}

/**
 * Plan and execute one decision against a stored book, atomically (see header). Bad input -> AppError,
 * nothing written.
 */
export async function executeDecision(db: Db, input: ExecuteInput): Promise<ExecutionResult> {
  if (input.decisionId != null && !UUID.test(input.decisionId)) {
    throw new AppError('VALIDATION_ERROR', 'decisionId must be a UUID', { field: 'decisionId' });
  }
  const executedAt = new Date(input.executedAt);
  if (Number.isNaN(executedAt.getTime())) {
    throw new AppError('VALIDATION_ERROR', 'executedAt must be a valid time', { field: 'executedAt' });
  }
  const filters = input.settings.filters ?? filtersFor(input.symbol);
  return db.transaction(async (tx) => {
    const run = await readRun(tx, input.runId, true);
    const rows = await tx.select().from(positions).where(eq(positions.runId, input.runId));
    const book = toBook(run, rows);
    const { marks, assumed } = marksFor(book, input.marks ?? {});
    const plan = planOrder(
      { action: input.action, sizePct: input.sizePct, symbol: input.symbol, referencePrice: input.price },
      {
        book,
        marks,
        filters,
        limits: {
          maxPositionPct: input.settings.maxPositionPct,
          maxTotalExposurePct: input.settings.maxTotalExposurePct,
        },
        costs: { feeBps: input.settings.feeBps, slippageBps: input.settings.slippageBps },
      },
    );
    if (plan.status === 'hold') {
      return { status: 'hold', trade: null, clamps: [], book: bookToJSON(book), pricesAssumed: assumed };
    }
    const [{ next } = { next: 1 }] = await tx
      .select({ next: sql<number>`coalesce(max(${trades.seq}), 0) + 1` })
      .from(trades)
      .where(eq(trades.runId, input.runId));
    const seq = Number(next);
    const bumpRun = { version: sql`${runs.version} + 1`, updatedAt: new Date() };

    if (plan.status === 'rejected') {
      const [row] = await tx
        .insert(trades)
        .values({
          runId: input.runId,
          seq,
          decisionId: input.decisionId ?? null,
          symbol: input.symbol,
          side: plan.side,
          status: 'rejected',
          reason: plan.reason,
          quantity: plan.quantity.toFixed(),
          price: plan.price.toFixed(),
          referencePrice: plan.referencePrice.toDecimalPlaces(12).toFixed(),
          notional: '0',
          fee: '0',
          feeAsset: plan.side === 'BUY' ? filters.baseAsset : filters.quoteAsset,
          feeUsd: '0',
          clamps: plan.clamps,
          executedAt,
        })
        .returning();
      await tx.update(runs).set(bumpRun).where(eq(runs.id, input.runId));
      return {
        status: 'rejected',
        trade: row ? tradeView(row) : null,
        rejected: { rule: plan.rule, reason: plan.reason },
        clamps: plan.clamps,
        book: bookToJSON(book),
        pricesAssumed: assumed,
      };
    }

    const { book: after, trade } = applyFill(
      book,
      fillFromPlan(plan, filters, executedAt.getTime(), 'signal'),
    );
    const [row] = await tx
      .insert(trades)
      .values({
        runId: input.runId,
        seq,
        decisionId: input.decisionId ?? null,
        symbol: input.symbol,
        side: trade.side,
        status: 'filled',
        reason: 'signal',
        quantity: trade.quantity.toFixed(),
        price: trade.price.toFixed(),
        referencePrice: trade.referencePrice.toDecimalPlaces(12).toFixed(),
        notional: trade.notional.toFixed(),
        fee: trade.fee.toFixed(),
        feeAsset: trade.feeAsset,
        feeUsd: trade.feeUsd.toFixed(),
        realizedPnl: trade.realizedPnl.toFixed(),
        clamps: plan.clamps,
        executedAt,
      })
      .returning();
    // The firm's memory: the lots this sale closed become outcomes in the same transaction.
    if (row && trade.side === 'SELL')
      await recordClosingOutcomes(tx, { runId: input.runId, symbol: input.symbol, exitTradeId: row.id });
    const p = after.positions[input.symbol] as Position;
    const posValues = {
      quantity: p.quantity.toFixed(),
      avgEntryPrice: avgEntryPrice(p).toFixed(),
      costBasis: p.costBasis.toFixed(),
      realizedPnl: p.realizedPnl.toFixed(),
      feesPaid: p.feesPaid.toFixed(),
      updatedAt: new Date(),
    };
    await tx
      .insert(positions)
      .values({ runId: input.runId, symbol: input.symbol, ...posValues })
      .onConflictDoUpdate({ target: [positions.runId, positions.symbol], set: posValues });
    await tx
      .update(runs)
      .set({
        ...bumpRun,
        cash: after.cash.toFixed(),
        feesPaid: after.feesPaid.toFixed(),
        realizedPnl: after.realizedPnl.toFixed(),
      })
      .where(eq(runs.id, input.runId));
    return {
      status: 'filled',
      trade: row ? tradeView(row) : null,
      clamps: plan.clamps,
      book: bookToJSON(after),
      pricesAssumed: assumed,
    };
  });
}

export interface PortfolioPosition {
  symbol: string;
  quantity: string;
  avgEntryPrice: string;
  costBasis: string;
  price: string;
  value: string;
  unrealizedPnl: string;
  realizedPnl: string;
  feesPaid: string;
}

export interface PortfolioView {
  runId: string;
  initialCash: string;
  cash: string;
  positionsValue: string;
  equity: string;
  /** equity / initialCash - 1, a fraction. */
  totalReturn: number;
  realizedPnl: string;
  unrealizedPnl: string;
  feesPaid: string;
  positions: PortfolioPosition[];
  pricesAssumed: string[];
}

function portfolioOf(
  runId: string,
  book: Book,
  prices: Readonly<Record<string, DecimalInput>>,
): PortfolioView {
  const { marks, assumed } = marksFor(book, prices);
  let value = new Dec(0);
  let unrealized = new Dec(0);
  const list: PortfolioPosition[] = [];
  for (const p of Object.values(book.positions).sort((a, b) => a.symbol.localeCompare(b.symbol))) {
    if (p.quantity.isZero()) continue;
    const price = marks[p.symbol] as Dec;
    const v = p.quantity.times(price);
    const u = v.minus(p.costBasis);
    value = value.plus(v);
    unrealized = unrealized.plus(u);
    list.push({
      symbol: p.symbol,
      quantity: p.quantity.toFixed(),
      avgEntryPrice: avgEntryPrice(p).toFixed(),
      costBasis: p.costBasis.toFixed(),
      price: price.toFixed(),
      value: v.toFixed(),
      unrealizedPnl: u.toFixed(),
      realizedPnl: p.realizedPnl.toFixed(),
      feesPaid: p.feesPaid.toFixed(),
    });
  }
  const equity = book.cash.plus(value);
  return {
    runId,
    initialCash: book.initialCash.toFixed(),
    cash: book.cash.toFixed(),
    positionsValue: value.toFixed(),
    equity: equity.toFixed(),
    totalReturn: equity.div(book.initialCash).minus(1).toNumber(),
    realizedPnl: book.realizedPnl.toFixed(),
    unrealizedPnl: unrealized.toFixed(),
    feesPaid: book.feesPaid.toFixed(),
    positions: list,
    pricesAssumed: assumed,
  };
}

export async function getPortfolio(
  db: DbOrTx,
  runId: string,
  prices: Readonly<Record<string, DecimalInput>>,
): Promise<PortfolioView> {
  return portfolioOf(runId, await loadBook(db, runId), prices);
}

export interface TradePage {
  items: TradeView[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** Newest first, paginated by `seq` (the cursor is the last seq seen). */
export async function listTrades(
  db: DbOrTx,
  runId: string,
  opts: { limit?: number; cursor?: string | null } = {},
): Promise<TradePage> {
  const limit = opts.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new AppError('VALIDATION_ERROR', `limit must be an integer from 1 to ${MAX_PAGE}`, {
      field: 'limit',
    });
  }
  let before: number | null = null;
  if (opts.cursor != null) {
    before = Number(opts.cursor);
    if (!Number.isSafeInteger(before) || before < 1) {
      throw new AppError('VALIDATION_ERROR', 'cursor is not a valid trade cursor', { field: 'cursor' });
    }
  }
  await readRun(db, runId, false);
  const rows = await db
    .select()
    .from(trades)
    .where(before === null ? eq(trades.runId, runId) : and(eq(trades.runId, runId), lt(trades.seq, before)))
    .orderBy(desc(trades.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    items: page.map(tradeView),
    nextCursor: rows.length > limit ? String(page.at(-1)?.seq) : null,
  };
}

/** Record the book's value at `at` into portfolio_snapshots. */
export async function snapshot(
  db: DbOrTx,
  runId: string,
  prices: Readonly<Record<string, DecimalInput>>,
  at: Date | number,
) {
  const view = await getPortfolio(db, runId, prices);
  const [row] = await db
    .insert(portfolioSnapshots)
    .values({
      runId,
      timestamp: new Date(at),
      cash: view.cash,
      equity: new Dec(view.equity).toDecimalPlaces(12).toFixed(),
      positionsValue: new Dec(view.positionsValue).toDecimalPlaces(12).toFixed(),
      positions: view.positions,
    })
    .returning();
  return row;
}

/**
 * Rebuild the run from its filled trades and compare with the stored run and positions rows.
 * Returns the differences (empty when the ledger rebuilds the book exactly).
 */
export async function auditRun(db: DbOrTx, runId: string): Promise<string[]> {
  const run = await readRun(db, runId, false);
  const rows = await db.select().from(positions).where(eq(positions.runId, runId));
  const filled = await db
    .select()
    .from(trades)
    .where(and(eq(trades.runId, runId), eq(trades.status, 'filled')))
    .orderBy(trades.seq);
  const rebuilt = rebuildFromLedger(run.initialCash, filled);
  const out: string[] = [];
  if (!rebuilt.cash.eq(run.cash)) out.push(`cash: ledger ${rebuilt.cash}, run ${run.cash}`);
  if (!rebuilt.feesPaid.eq(run.feesPaid)) out.push(`fees: ledger ${rebuilt.feesPaid}, run ${run.feesPaid}`);
  if (!rebuilt.realizedPnl.eq(run.realizedPnl))
    out.push(`realized: ledger ${rebuilt.realizedPnl}, run ${run.realizedPnl}`);
  const symbols = new Set([...rows.map((r) => r.symbol), ...Object.keys(rebuilt.positions)]);
  for (const s of symbols) {
    const r = rows.find((x) => x.symbol === s);
    const b = rebuilt.positions[s];
    if (!(b?.quantity ?? new Dec(0)).eq(r?.quantity ?? 0))
      out.push(`${s} quantity: ledger ${b?.quantity}, row ${r?.quantity}`);
    if (!(b?.costBasis ?? new Dec(0)).eq(r?.costBasis ?? 0))
      out.push(`${s} cost: ledger ${b?.costBasis}, row ${r?.costBasis}`);
  }
  return out;
}
