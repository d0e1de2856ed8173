/**
 * The pipeline's narrow use of the live book (shared/portfolio owns the ledger): what the trader and
 * the risk manager see of it, and the execution of a final decision against it.
 *
 * - The view never writes: before the first live trade there is no live run row, and the agents see
 *   the book the first execution will create (INITIAL_CASH, no position). So a decision that fails
 *   leaves runs, trades and positions exactly as they were.
 * - Execution goes through shared/portfolio's executeDecision (planOrder's hard limits and exchange
 *   filters, one transaction under the run's row lock); its clamps are copied into the final decision,
 *   each with its unit (the asset its amounts are in).
 * - Every completed live decision (a fill, a rejection or a HOLD) records an equity snapshot of the
 *   live book (`portfolio_snapshots`, read by GET /portfolio/history), so the equity curve moves with
 *   prices even when nothing trades. Marks are the prices known at that moment: the decision's own
 *   price for its symbol, the latest stored close for every other held symbol (no exchange round trip
 *   on the decision's path; a symbol with no stored candle is valued at its average entry price, which
 *   the portfolio names in `pricesNote`).
 * - The snapshot is written after the fill's transaction committed. Its failure must not fail the
 *   decision: finalizeDecision would be retried and could fill twice. So it is reported (stderr, the
 *   hosts' log) and the decision completes.
 */
import { and, desc, eq, inArray, lte } from 'drizzle-orm';
import type { PortfolioView } from '../agents/inputs';
import { candles, positions, trades } from '../db/schema';
import type { Clamp } from '../portfolio/order';
import { livePortfolio, tradeRecord } from '../portfolio/records';
import {
  ensureRun,
  executeDecision,
  executionSettingsFrom,
  getPortfolio,
  LIVE_RUN_ID,
  snapshot,
} from '../portfolio/repository';
import type { PortfolioRecord, TradeRecord } from '../schemas/records';
import { isAppError } from '../util/errors';
import type { PipelineDeps } from './deps';
import type { ClampRecord } from './final';

const PCT = 100;

export interface LiveExecution {
  trade: TradeRecord | null;
  rejected: string | null;
  clamps: ClampRecord[];
  portfolio: PortfolioRecord | null;
}

export async function liveBookView(
  deps: PipelineDeps,
  symbol: string,
  price: number,
): Promise<PortfolioView> {
  try {
    const view = await getPortfolio(deps.db, LIVE_RUN_ID, { [symbol]: price });
    const equity = Number(view.equity);
    const position = view.positions.find((p) => p.symbol === symbol);
    const positionValue = position ? Number(position.value) : 0;
    return {
      source: 'live',
      cash: Number(view.cash),
      equity,
      positionQty: position ? Number(position.quantity) : 0,
      positionValue,
      positionPct: equity > 0 ? (positionValue / equity) * PCT : 0,
      exposurePct: equity > 0 ? (Number(view.positionsValue) / equity) * PCT : 0,
    };
  } catch (e) {
    if (!(isAppError(e) && e.code === 'NOT_FOUND')) throw e;
    const cash = deps.settings.INITIAL_CASH;
    return {
      source: 'live',
      cash,
      equity: cash,
      positionQty: 0,
      positionValue: 0,
      positionPct: 0,
      exposurePct: 0,
    };
  }
}

function clampRecord(c: Clamp): ClampRecord {
  const n = (s: string) => (Number.isFinite(Number(s)) ? Number(s) : null);
  return {
    rule: c.rule,
    requested: n(c.requested),
    allowed: n(c.allowed),
    unit: c.unit,
    reason: c.reason,
  };
}

/**
 * The latest stored close (closed bars only, any timeframe, not after `nowMs`) of each symbol held by
 * the live book other than `except`: one query, no exchange call.
 */
export async function latestKnownCloses(
  deps: Pick<PipelineDeps, 'db'>,
  nowMs: number,
  except: string,
): Promise<Record<string, number>> {
  const held = await deps.db
    .select({ symbol: positions.symbol })
    .from(positions)
    .where(eq(positions.runId, LIVE_RUN_ID));
  const symbols = held.map((h) => h.symbol).filter((s) => s !== except);
  if (symbols.length === 0) return {};
  const rows = await deps.db
    .selectDistinctOn([candles.symbol], { symbol: candles.symbol, close: candles.close })
    .from(candles)
    .where(and(inArray(candles.symbol, symbols), lte(candles.closeTime, new Date(nowMs))))
    .orderBy(candles.symbol, desc(candles.closeTime));
  const out: Record<string, number> = {};
  for (const r of rows) {
    const close = Number(r.close);
    if (Number.isFinite(close) && close > 0) out[r.symbol] = close;
  }
  return out;
}

export async function executeLive(
  deps: PipelineDeps,
  i: {
    decisionId: string;
    symbol: string;
    action: 'BUY' | 'SELL' | 'HOLD';
    sizePct: number;
    price: number;
    time: number;
  },
): Promise<LiveExecution> {
  await ensureRun(deps.db, { id: LIVE_RUN_ID, kind: 'live', initialCash: deps.settings.INITIAL_CASH });
  const result = await executeDecision(deps.db, {
    runId: LIVE_RUN_ID,
    decisionId: i.decisionId,
    symbol: i.symbol,
    action: i.action,
    sizePct: i.sizePct,
    price: i.price,
    executedAt: i.time,
    settings: executionSettingsFrom(deps.settings),
  });
  let trade: TradeRecord | null = null;
  if (result.trade) {
    const [row] = await deps.db.select().from(trades).where(eq(trades.id, result.trade.id));
    trade = row ? tradeRecord(row) : null;
  }
  const marks = { ...(await latestKnownCloses(deps, i.time, i.symbol)), [i.symbol]: i.price };
  try {
    await snapshot(deps.db, LIVE_RUN_ID, marks, i.time);
  } catch (e) {
    // See the header: never fail (and so retry) a decision whose fill already committed.
    process.stderr.write(
      `live equity snapshot not recorded for decision ${i.decisionId}: ${(e as Error)?.message ?? e}\n`,
    );
  }
  const lookup = async (s: string) => marks[s] ?? null;
  const portfolio = await livePortfolio(deps.db, deps.settings, lookup, i.time);
  return {
    trade,
    rejected: result.rejected ? `${result.rejected.rule}: ${result.rejected.reason}` : null,
    clamps: result.clamps.map(clampRecord),
    portfolio,
  };
}
