/**
 * A book as the records the firm stores with a decision (decisions.execution) and the API shows: the
 * portfolio marked to the prices the caller can get, and a trade row as a trade record. Numbers are
 * rounded for display; the database keeps the exact decimals.
 *
 * - A symbol whose price cannot be read is valued at its average entry price and named in `pricesNote`,
 *   never silently.
 * - Reading the live portfolio creates the empty live book on first use (INITIAL_CASH), so a fresh
 *   install answers with its starting cash instead of a 404.
 */
import type { Settings } from '../config/settings';
import type { DbOrTx } from '../db/client';
import type { trades } from '../db/schema';
import type { PortfolioRecord, TradeRecord } from '../schemas/records';
import { ensureRun, getPortfolio, LIVE_RUN_ID, loadBook } from './repository';

const MONEY_DECIMALS = 8;
/** An exact decimal (or number) as a JSON number rounded for display. */
export const displayNumber = (s: string | number) => Number(Number(s).toFixed(MONEY_DECIMALS));

export type PriceLookup = (symbol: string) => Promise<number | null>;

export async function livePortfolio(
  db: DbOrTx,
  settings: Settings,
  price: PriceLookup,
  nowMs: number,
  runId = LIVE_RUN_ID,
): Promise<PortfolioRecord> {
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
    initialCash: displayNumber(view.initialCash),
    cash: displayNumber(view.cash),
    equity: displayNumber(view.equity),
    positionsValue: displayNumber(view.positionsValue),
    totalReturnPct: Number((view.totalReturn * 100).toFixed(6)),
    realizedPnl: displayNumber(view.realizedPnl),
    unrealizedPnl: displayNumber(view.unrealizedPnl),
    feesPaid: displayNumber(view.feesPaid),
    positions: view.positions.map((p) => {
      const priced = prices[p.symbol] !== undefined;
      return {
        symbol: p.symbol,
        quantity: displayNumber(p.quantity),
        avgEntryPrice: displayNumber(p.avgEntryPrice),
        currentPrice: priced ? displayNumber(p.price) : null,
        marketValue: priced ? displayNumber(p.value) : null,
        unrealizedPnl: priced ? displayNumber(p.unrealizedPnl) : null,
      };
    }),
    asOf: new Date(nowMs).toISOString(),
    pricesNote: assumed.length
      ? `no current price for ${assumed.join(', ')}: valued at the average entry price`
      : null,
  };
}

export function tradeRecord(r: typeof trades.$inferSelect): TradeRecord {
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
    quantity: displayNumber(r.quantity),
    price: displayNumber(r.price),
    notional: displayNumber(r.notional),
    fee: displayNumber(r.fee),
    feeAsset: r.feeAsset,
    feeUsd: displayNumber(r.feeUsd),
    realizedPnl: displayNumber(r.realizedPnl),
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
