/** Test helpers: trade outcomes built from a few fields, with a neutral entry context. Not product code. */
import { eq, max } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { tradeOutcomes } from '../db/schema';
import type { EntryContext, ExitReason, Regime, TradeOutcome } from '../outcomes/types';
import { ensureRun } from '../portfolio/repository';
import type { OutcomeReader } from './ports';

export interface OutcomeSpec {
  id?: string;
  runId?: string;
  exitTime: number;
  pnlPct: number;
  regime?: Regime | null;
  sentiment?: number | null;
  confidence?: number | null;
  exitReason?: ExitReason;
  stopLossPct?: number | null;
  takeProfitPct?: number | null;
  promptVersions?: Record<string, string>;
  consensus?: EntryContext['consensus'];
}

let counter = 0;
export function outcome(s: OutcomeSpec): TradeOutcome {
  const entryPrice = 100;
  const quantity = 1;
  const pnlUsdt = Number(((entryPrice * s.pnlPct) / 100).toFixed(6));
  const holdingMs = 3_600_000;
  return {
    id: s.id ?? `o${++counter}`,
    runId: s.runId ?? 'live',
    backtestId: null,
    symbol: 'BTCUSDT',
    entryDecisionId: null,
    exitDecisionId: null,
    entryTradeId: null,
    exitTradeId: null,
    entryTime: s.exitTime - holdingMs,
    exitTime: s.exitTime,
    entryPrice,
    exitPrice: entryPrice + pnlUsdt,
    quantity,
    pnlUsdt,
    pnlPct: s.pnlPct,
    fees: 0,
    holdingMs,
    exitReason: s.exitReason ?? 'signal',
    context: {
      regime: {
        detector: s.regime === null ? null : { regime: s.regime ?? 'SIDEWAYS', confidence: 0.7 },
        technical: null,
        agree: null,
      },
      sentimentScore: s.sentiment ?? null,
      researcher: { stance: 'bullish', confidence: s.confidence ?? null },
      trader: { sizePct: 5, stopLossPct: s.stopLossPct ?? null, takeProfitPct: s.takeProfitPct ?? null },
      consensus: s.consensus ?? null,
      promptVersions: s.promptVersions ?? { researcher: 'researcher@1', trader: 'trader@1' },
      strategyVersion: null,
      strategyParams: null,
      provider: 'offline',
      models: { cheap: 'offline-rules', strong: 'offline-rules' },
    },
  };
}

/** An outcome reader over a fixed list, honouring the query as the ledger does (strict closedBefore). */
export function memoryOutcomeReader(
  all: () => readonly TradeOutcome[],
): OutcomeReader & { queries: unknown[] } {
  const queries: unknown[] = [];
  const read: OutcomeReader = async (_db, q) => {
    queries.push(q);
    return all().filter(
      (o) =>
        o.runId === q.runId &&
        (q.closedBefore === undefined || o.exitTime < q.closedBefore) &&
        (q.closedFrom === undefined || o.exitTime >= q.closedFrom),
    );
  };
  return Object.assign(read, { queries });
}

/**
 * Write outcomes into the ledger table (trade_outcomes) as the ledger stores them, so a test reads them
 * back through the real listOutcomes (strict closedBefore in SQL). Ids are the table's own.
 */
export async function insertOutcomes(db: DbOrTx, list: readonly TradeOutcome[]): Promise<void> {
  const seqs = new Map<string, number>();
  for (const o of list)
    if (!seqs.has(o.runId)) {
      const [row] = await db
        .select({ last: max(tradeOutcomes.seq) })
        .from(tradeOutcomes)
        .where(eq(tradeOutcomes.runId, o.runId));
      seqs.set(o.runId, row?.last ?? 0);
    }
  const values = list.map((o) => {
    const seq = (seqs.get(o.runId) ?? 0) + 1;
    seqs.set(o.runId, seq);
    return {
      runId: o.runId,
      backtestId: o.backtestId,
      seq,
      symbol: o.symbol,
      entryTime: new Date(o.entryTime),
      exitTime: new Date(o.exitTime),
      entryPrice: String(o.entryPrice),
      exitPrice: String(o.exitPrice),
      quantity: String(o.quantity),
      entryCost: String(o.entryPrice * o.quantity),
      proceeds: String(o.exitPrice * o.quantity),
      pnlUsdt: String(o.pnlUsdt),
      pnlPct: o.pnlPct.toFixed(8),
      fees: String(o.fees),
      holdingMs: o.holdingMs,
      exitReason: o.exitReason,
      regime: o.context.regime.detector?.regime ?? null,
      researcherConfidence:
        o.context.researcher.confidence === null ? null : o.context.researcher.confidence.toFixed(4),
      context: o.context,
    };
  });
  for (const runId of seqs.keys())
    await ensureRun(db, { id: runId, kind: runId === 'live' ? 'live' : 'backtest', initialCash: 10_000 });
  if (values.length) await db.insert(tradeOutcomes).values(values);
}
