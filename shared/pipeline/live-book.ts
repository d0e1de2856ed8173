/**
 * The pipeline's narrow use of the live book (shared/portfolio owns the ledger): what the trader and
 * the risk manager see of it, and the execution of a final decision against it.
 */
import type { PortfolioView } from '../agents/inputs';
import { AppError } from '../util/errors';
import type { PipelineDeps } from './deps';
import type { ClampRecord } from './final';

export interface LiveExecution {
  trade: unknown | null;
  rejected: string | null;
  clamps: ClampRecord[];
  portfolio: unknown | null;
}

export async function liveBookView(
  deps: PipelineDeps,
  _symbol: string,
  _price: number,
): Promise<PortfolioView> {
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

export async function executeLive(
  _deps: PipelineDeps,
  _i: {
    decisionId: string;
    symbol: string;
    action: 'BUY' | 'SELL' | 'HOLD';
    sizePct: number;
    price: number;
    time: number;
  },
): Promise<LiveExecution> {
  throw new AppError('NOT_IMPLEMENTED', 'live execution awaits shared/portfolio/repository.ts');
}
