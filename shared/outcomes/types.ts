/**
 * The firm's memory: one closed round trip (or the part of one that a partial sell closed, FIFO).
 * Written with the fill that closes it (live) or by the simulator's persistence step (backtests).
 * Pure types: no host, no database.
 */
import type { StrategyParams } from '../strategy/params';

export type ExitReason = 'signal' | 'stop_loss' | 'take_profit' | 'end_of_backtest' | 'risk_reduction';
export type Regime = 'BULL' | 'BEAR' | 'SIDEWAYS' | 'HIGH_VOL' | 'LOW_VOL';

/** What the firm knew and decided when it opened the position. */
export interface EntryContext {
  regime: {
    /** The deterministic detector's regime and confidence (0-1). */
    detector: { regime: Regime; confidence: number } | null;
    /** The technical analyst's regime label, as it wrote it (null when it was unavailable). */
    technical: string | null;
    /** Whether the two agree (null when either is missing). */
    agree: boolean | null;
  };
  /** The sentiment analyst's score (-1..1), null when it was unavailable. */
  sentimentScore: number | null;
  researcher: { stance: string | null; confidence: number | null };
  trader: { sizePct: number | null; stopLossPct: number | null; takeProfitPct: number | null };
  /** The consensus votes, when the decision was made in consensus mode. */
  consensus: {
    votes: { voter: string; vote: 'BUY' | 'SELL' | 'HOLD'; confidence: number }[];
    voted: number;
    agreed: 'BUY' | 'SELL' | null;
  } | null;
  /** Prompt version id of every agent that ran. */
  promptVersions: Record<string, string>;
  /** Strategy version in force (null before strategy versions exist) and its parameters. */
  strategyVersion: string | null;
  strategyParams: StrategyParams | null;
  provider: string;
  models: { cheap: string; strong: string };
}

export interface TradeOutcome {
  id: string;
  /** 'live' for the live book, else the backtest's run id. */
  runId: string;
  backtestId: string | null;
  symbol: string;
  entryDecisionId: string | null;
  exitDecisionId: string | null;
  entryTradeId: string | null;
  exitTradeId: string | null;
  /** Epoch milliseconds. */
  entryTime: number;
  exitTime: number;
  entryPrice: number;
  exitPrice: number;
  quantity: number;
  /** Net of both legs' fees. */
  pnlUsdt: number;
  /** pnlUsdt over the entry cost (price x quantity + entry fee), in percent. */
  pnlPct: number;
  fees: number;
  holdingMs: number;
  exitReason: ExitReason;
  context: EntryContext;
}

/** Filter for reading outcomes; closedBefore is strict (exitTime < closedBefore), for walk-forward use. */
export interface OutcomeQuery {
  runId: string;
  symbol?: string;
  closedBefore?: number;
  closedFrom?: number;
  limit?: number;
}
