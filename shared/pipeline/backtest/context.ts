/**
 * What every decision point of a backtest reads about its backtest: the parts of the row that never
 * change after creation (its run id, symbol, timeframe and stored settings: request, decision points,
 * prompt versions, strategy version). Read once per process and database handle and kept in a bounded
 * memo, so a Map of decision points does not read and parse the same row once per point.
 *
 * The mutable parts of the row (status, progress, result) are never read from here.
 */
import { eq } from 'drizzle-orm';
import type { AgentName } from '../../agents/schemas';
import type { DbOrTx } from '../../db/client';
import { backtests } from '../../db/schema';
import { perOwnerCache } from '../../util/bounded-cache';
import { AppError } from '../../util/errors';
import type { BacktestSettingsJson } from './settings';

export interface BacktestContext {
  id: string;
  runId: string;
  symbol: string;
  timeframe: string;
  settings: BacktestSettingsJson;
  /** The decision points, for membership tests. */
  decisionTimes: ReadonlySet<number>;
  blind: boolean;
  decisionMode: 'pipeline' | 'consensus' | undefined;
  /** The prompt versions fixed at creation (absent on backtests stored before the registry). */
  promptVersions: Partial<Record<AgentName, string>> | undefined;
  /** Walk-forward learning: the run has a strategy timeline of its own (market time). */
  learning: boolean;
  /**
   * The live strategy version in force when the backtest was created, which a backtest without learning
   * runs under (absent on backtests stored before it was recorded: the live version in force now).
   */
  strategyVersionId: string | undefined;
}

const contexts = perOwnerCache<string, BacktestContext>(64);

export async function backtestContext(db: DbOrTx, backtestId: string): Promise<BacktestContext> {
  const cache = contexts(db);
  const hit = cache.get(backtestId);
  if (hit) return hit;
  const [row] = await db
    .select({
      id: backtests.id,
      runId: backtests.runId,
      symbol: backtests.symbol,
      timeframe: backtests.timeframe,
      settings: backtests.settings,
    })
    .from(backtests)
    .where(eq(backtests.id, backtestId));
  if (!row)
    throw new AppError('NOT_FOUND', `backtest ${backtestId} not found`, { field: 'id', id: backtestId });
  const settings = row.settings as BacktestSettingsJson;
  const context: BacktestContext = {
    id: row.id,
    runId: row.runId,
    symbol: row.symbol,
    timeframe: row.timeframe,
    settings,
    decisionTimes: new Set(settings.decisionTimes),
    blind: settings.request?.blind === true,
    decisionMode: settings.request?.decision_mode,
    promptVersions: settings.promptVersions,
    learning: Boolean(settings.request?.learning?.every),
    strategyVersionId: settings.strategyVersionId,
  };
  // A row still inside its creation transaction has the placeholder run id: not worth keeping.
  if (row.runId === row.id) cache.set(backtestId, context);
  return context;
}
