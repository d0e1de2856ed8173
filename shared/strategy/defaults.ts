/**
 * The base strategy parameters, from the settings where a setting exists, else the documented defaults
 * (MIN_AGREEMENT 2, DECISION_MODE pipeline, KELLY_FRACTION 0.5, stop-loss 5 %, take-profit 10 %).
 * Pure: no host, no database.
 */
import type { Settings } from '../config/settings';
import type { DecisionMode, StrategyParams } from './params';

export const DOCUMENTED_DEFAULTS = {
  minAgreement: 2,
  decisionMode: 'pipeline' as DecisionMode,
  kellyFraction: 0.5,
  defaultStopLossPct: 5,
  defaultTakeProfitPct: 10,
} as const;

/** Settings this file reads when they exist (some are added by other features). */
type OptionalSettings = Partial<{
  MIN_AGREEMENT: number;
  DECISION_MODE: DecisionMode;
  KELLY_FRACTION: number;
  DEFAULT_STOP_LOSS_PCT: number;
  DEFAULT_TAKE_PROFIT_PCT: number;
}>;

export function defaultStrategyParams(settings: Settings): StrategyParams {
  const s = settings as Settings & OptionalSettings;
  return {
    researcherMinConfidence: s.RESEARCHER_MIN_CONFIDENCE,
    minAgreement: s.MIN_AGREEMENT ?? DOCUMENTED_DEFAULTS.minAgreement,
    decisionMode: s.DECISION_MODE ?? DOCUMENTED_DEFAULTS.decisionMode,
    kellyFraction: s.KELLY_FRACTION ?? DOCUMENTED_DEFAULTS.kellyFraction,
    defaultStopLossPct: s.DEFAULT_STOP_LOSS_PCT ?? DOCUMENTED_DEFAULTS.defaultStopLossPct,
    defaultTakeProfitPct: s.DEFAULT_TAKE_PROFIT_PCT ?? DOCUMENTED_DEFAULTS.defaultTakeProfitPct,
    maxPositionSizePct: s.MAX_POSITION_SIZE_PCT,
  };
}
