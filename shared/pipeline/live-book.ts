/**
 * The pipeline's narrow use of the live book (shared/portfolio owns the ledger): what the trader and
 * the risk manager see of it, and the execution of a final decision against it.
 *
 * - The view never writes: before the first live trade there is no live run row, and the agents see
 *   the book the first execution will create (INITIAL_CASH, no position). So a decision that fails
 *   leaves runs, trades and positions exactly as they were.
 * - Execution goes through shared/portfolio's executeDecision (planOrder's hard limits and exchange
 *   filters, one transaction under the run's row lock); its clamps are copied into the final decision.
 */
import { eq } from 'drizzle-orm';
import type { PortfolioView } from '../agents/inputs';
import type { PortfolioDto, TradeDto } from '../api/contract';
import { livePortfolio, tradeDto } from '../api/portfolio';
import { trades } from '../db/schema';
import type { Clamp } from '../portfolio/order';
import {
  ensureRun,
  executeDecision,
  executionSettingsFrom,
  getPortfolio,
  LIVE_RUN_ID,
} from '../portfolio/repository';
import { isAppError } from '../util/errors';
import type { PipelineDeps } from './deps';
import type { ClampRecord } from './final';

const PCT = 100;

export interface LiveExecution {
  trade: TradeDto | null;
  rejected: string | null;
  clamps: ClampRecord[];
  portfolio: PortfolioDto | null;
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
    reason: `${c.reason} (${c.unit})`,
  };
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
  let trade: TradeDto | null = null;
  if (result.trade) {
    const [row] = await deps.db.select().from(trades).where(eq(trades.id, result.trade.id));
    trade = row ? tradeDto(row) : null;
  }
  const lookup = async (s: string) => (s === i.symbol ? i.price : ((await deps.latestPrice?.(s)) ?? null));
  const portfolio = await livePortfolio(deps.db, deps.settings, lookup, i.time);
  return {
    trade,
    rejected: result.rejected ? `${result.rejected.rule}: ${result.rejected.reason}` : null,
    clamps: result.clamps.map(clampRecord),
    portfolio,
  };
}
