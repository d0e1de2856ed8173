/**
 * What a backtest stores at creation (its request, limits, decision points and simulation range) and
 * the small helpers every backtest module shares.
 */

import type { AgentName } from '../../agents/schemas';
import type { SimulationSettings } from '../../backtest';
import type { backtests } from '../../db/schema';
import type { Gap, Timeframe } from '../../market/types';
import type { SizingSettings } from '../../outcomes/sizing';

/** A stated default when no real call of an agent was logged yet (a compact numeric prompt). */
export const DEFAULT_INPUT_TOKENS_PER_CALL = 900;
export const DAY_MS = 86_400_000;
/** Equity points kept in a stored result; longer curves are thinned evenly (the last point kept). */
export const MAX_CURVE_POINTS = 2_000;

export interface BacktestSettingsJson {
  request: {
    symbol: string;
    start_date: string;
    end_date: string;
    timeframe: Timeframe;
    max_decisions: number;
    /** The interval used: the requested one, or the spread one when none was requested. */
    decision_interval: number;
    fill: 'next_open' | 'next_close';
    fee_bps: number;
    slippage_bps: number;
    blind: boolean;
    /** pipeline or consensus (absent on backtests stored before consensus voting: pipeline). */
    decision_mode?: 'pipeline' | 'consensus';
    /** Walk-forward learning: a cycle after every `every` decisions (absent: no learning). */
    learning?: { every: number };
    /** The prompt versions the request pinned (absent: none pinned). */
    prompt_versions?: Partial<Record<AgentName, string>>;
  };
  /**
   * The prompt version of every decision agent for all the backtest's decisions: the pins, else the
   * active version when the backtest was created (absent on backtests stored before the registry).
   */
  promptVersions?: Record<AgentName, string>;
  /**
   * The live strategy version in force at creation, which every decision of a backtest without learning
   * runs under, so a change applied meanwhile cannot change it halfway (absent on backtests stored
   * before it was recorded, and on walk-forward backtests, whose run has versions of its own).
   */
  strategyVersionId?: string;
  initialCash: number;
  limits: { maxPositionPct: number; maxTotalExposurePct: number };
  /** SIZING and the Kelly settings at creation (absent on backtests stored before Kelly: trader). */
  sizing?: SizingSettings;
  /** How decision_interval was chosen (absent on backtests stored before it could be spread). */
  decisionSpacing?: { source: 'requested' | 'spread'; barsInRange: number };
  decisionTimes: number[];
  /** Open time of the first candle the simulator needs (the first decision's bar). */
  simulateFromMs: number;
  /** Last open time of the range. */
  simulateToMs: number;
  gaps: { after: string; next: string; missingBars: number }[];
  provider: 'openai' | 'offline';
  models: { cheap: string; strong: string };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function gapJson(g: Gap) {
  return { after: iso(g.afterOpenTime), next: iso(g.nextOpenTime), missingBars: g.missingBars };
}

export function settingsOf(row: typeof backtests.$inferSelect): BacktestSettingsJson {
  return row.settings as BacktestSettingsJson;
}

/** The simulator's settings for a backtest (its book, fees, limits, sizing); the caller sets the range end. */
export function simulationSettingsOf(
  row: typeof backtests.$inferSelect,
  s: BacktestSettingsJson = settingsOf(row),
): SimulationSettings {
  return {
    symbol: row.symbol,
    initialCash: s.initialCash,
    feeBps: s.request.fee_bps,
    slippageBps: s.request.slippage_bps,
    limits: s.limits,
    fillAt: s.request.fill,
    sizing: s.sizing,
  };
}

/** A walk-forward backtest's segments: the decision times in runs of `every` (one segment without learning). */
export function segmentsOf(s: BacktestSettingsJson): number[][] {
  const every = s.request.learning?.every;
  if (!every) return [s.decisionTimes];
  const out: number[][] = [];
  for (let i = 0; i < s.decisionTimes.length; i += every) out.push(s.decisionTimes.slice(i, i + every));
  return out;
}
