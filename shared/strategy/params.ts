/**
 * The strategy parameters a decision runs under: what the learning loop may change, one at a time,
 * as new strategy versions. Defaults come from the settings. Pure: no host, no database.
 */
export type DecisionMode = 'pipeline' | 'consensus';

export interface StrategyParams {
  /** The researcher's confidence (0-1) below which the firm holds without calling the trader. */
  researcherMinConfidence: number;
  /** Consensus mode: votes that must agree on BUY or SELL. */
  minAgreement: number;
  decisionMode: DecisionMode;
  /** Fraction of full Kelly (0-1). */
  kellyFraction: number;
  /** Stop-loss and take-profit % used when the trader gives none. */
  defaultStopLossPct: number;
  defaultTakeProfitPct: number;
  /** Per-position size cap in %, never above the configured hard ceiling MAX_POSITION_SIZE_PCT. */
  maxPositionSizePct: number;
}

export const STRATEGY_PARAM_NAMES = [
  'researcherMinConfidence',
  'minAgreement',
  'decisionMode',
  'kellyFraction',
  'defaultStopLossPct',
  'defaultTakeProfitPct',
  'maxPositionSizePct',
] as const satisfies readonly (keyof StrategyParams)[];

export type StrategyParamName = (typeof STRATEGY_PARAM_NAMES)[number];
