/**
 * The regime detector (seed 003 RegimeDetectorAgent), as deterministic rules in code: no model call.
 * Pure: candles in (those known before the decision time, from the clock-gated market view), a regime
 * with a confidence and the figures behind it out.
 *
 * Figures (technicalindicators, on the closes/highs/lows given):
 * - EMA50 and EMA200 of the close; the EMA50's slope = its % change over the last SLOPE_BARS (10) bars;
 * - ADX(14) (Wilder), trend strength;
 * - ATR(14) as % of the close, and its percentile rank among its own values over the trailing year
 *   (365 days of bars), or as much of that year as the candles given hold (at least MIN_ATR_HISTORY).
 *
 * Rules, first match wins:
 * 1. HIGH_VOL  when ATR% is at or above the 90th percentile of its trailing values;
 *              confidence 0.6 + 4 x (percentile - 0.9), up to 1.
 * 2. BULL      when EMA50 > EMA200, the EMA50 slope > 0, close > EMA200 and ADX >= 20;
 *    BEAR      the mirror (EMA50 < EMA200, slope < 0, close < EMA200, ADX >= 20);
 *              confidence 0.5 + 0.25 x min(1, (ADX - 20) / 20) + 0.25 x min(1, |EMA50/EMA200 - 1| / 5%).
 * 3. LOW_VOL   when ATR% is at or below the 10th percentile; confidence 0.6 + 4 x (0.1 - percentile).
 * 4. SIDEWAYS  otherwise: with ADX < 20, confidence 0.5 + 0.5 x min(1, (20 - ADX) / 10); with a strong
 *              ADX but mixed EMA signals (a turn in progress), 0.4.
 * Confidences are rounded to 3 decimals. Too few candles for EMA200 and ADX: `null` with the reason.
 */
import { ADX, ATR, EMA } from 'technicalindicators';
import { type Candle, TIMEFRAME_MS, type Timeframe } from '../market/types';
import type { Regime } from '../outcomes/types';

export const REGIME_RULES = {
  emaFast: 50,
  emaSlow: 200,
  slopeBars: 10,
  adxPeriod: 14,
  adxTrend: 20,
  atrPeriod: 14,
  highVolPercentile: 0.9,
  lowVolPercentile: 0.1,
  /** Fewest ATR% values the percentile is taken over. */
  minAtrHistory: 100,
  /** EMA gap (fraction) at which the gap part of a trend's confidence is full. */
  fullGap: 0.05,
} as const;

const DAY_MS = 86_400_000;
const YEAR_DAYS = 365;
const MIN_BARS = REGIME_RULES.emaSlow + REGIME_RULES.slopeBars + 1;

export interface RegimeReading {
  regime: Regime;
  confidence: number;
  /** The figures the rules read (rounded to 6 significant digits). */
  figures: {
    close: number;
    ema50: number;
    ema200: number;
    ema50SlopePct: number;
    adx: number;
    atrPct: number;
    /** Percentile rank (0-1) of the current ATR% among its trailing values. */
    atrPercentile: number;
    /** How many ATR% values the percentile was taken over. */
    atrHistory: number;
  };
  /** Which rule decided, in words. */
  rule: string;
}

export type RegimeResult = { ok: true; reading: RegimeReading } | { ok: false; reason: string };

const sig = (x: number) => Number(x.toPrecision(6));
const round3 = (x: number) => Math.round(Math.min(1, Math.max(0, x)) * 1000) / 1000;

/** Bars in a trailing year of the timeframe. */
export function yearBars(timeframe: Timeframe): number {
  return Math.ceil((YEAR_DAYS * DAY_MS) / TIMEFRAME_MS[timeframe]);
}

/** Classify the regime at the last of `candles` (all of them known at the decision time). */
export function detectRegime(candles: readonly Candle[], timeframe: Timeframe): RegimeResult {
  if (candles.length < MIN_BARS)
    return {
      ok: false,
      reason: `the regime rules need ${MIN_BARS} bars (EMA200 and its slope), ${candles.length} given`,
    };
  const close = candles.map((c) => c.close);
  const high = candles.map((c) => c.high);
  const low = candles.map((c) => c.low);
  const n = close.length;
  const emaF = EMA.calculate({ period: REGIME_RULES.emaFast, values: close });
  const emaS = EMA.calculate({ period: REGIME_RULES.emaSlow, values: close });
  const adxOut = ADX.calculate({ period: REGIME_RULES.adxPeriod, high, low, close });
  const atr = ATR.calculate({ period: REGIME_RULES.atrPeriod, high, low, close });
  const last = close[n - 1] as number;
  const ema50 = emaF.at(-1) as number;
  const ema200 = emaS.at(-1) as number;
  const ema50Before = emaF.at(-1 - REGIME_RULES.slopeBars) as number;
  const adx = adxOut.at(-1)?.adx;
  if (adx === undefined || !Number.isFinite(adx) || atr.length === 0)
    return { ok: false, reason: 'ADX or ATR could not be computed on these candles' };
  const slopePct = ((ema50 - ema50Before) / ema50Before) * 100;

  // ATR% history: aligned to the last atr.length candles; keep the trailing year.
  const offset = n - atr.length;
  const atrPct = atr.map((a, i) => (a / (close[offset + i] as number)) * 100);
  const history = atrPct.slice(-yearBars(timeframe));
  const current = history.at(-1) as number;
  let below = 0;
  for (const v of history) if (v < current) below++;
  // Rank of the current value among the trailing values (0 = the lowest, 1 = the highest).
  const percentile = history.length > 1 ? below / (history.length - 1) : 0.5;
  const volKnown = history.length >= REGIME_RULES.minAtrHistory;

  const figures: RegimeReading['figures'] = {
    close: sig(last),
    ema50: sig(ema50),
    ema200: sig(ema200),
    ema50SlopePct: sig(slopePct),
    adx: sig(adx),
    atrPct: sig(current),
    atrPercentile: sig(percentile),
    atrHistory: history.length,
  };
  const read = (regime: Regime, confidence: number, rule: string): RegimeResult => ({
    ok: true,
    reading: { regime, confidence: round3(confidence), figures, rule },
  });

  if (volKnown && percentile >= REGIME_RULES.highVolPercentile)
    return read(
      'HIGH_VOL',
      0.6 + 4 * (percentile - REGIME_RULES.highVolPercentile),
      `ATR% ${figures.atrPct} is at the ${(percentile * 100).toFixed(0)}th percentile of its last ${history.length} values (>= 90th)`,
    );
  const strength = Math.min(1, (adx - REGIME_RULES.adxTrend) / REGIME_RULES.adxTrend);
  const gap = Math.min(1, Math.abs(ema50 / ema200 - 1) / REGIME_RULES.fullGap);
  if (adx >= REGIME_RULES.adxTrend) {
    if (ema50 > ema200 && slopePct > 0 && last > ema200)
      return read(
        'BULL',
        0.5 + 0.25 * strength + 0.25 * gap,
        `EMA50 above EMA200 and rising, close above EMA200, ADX ${figures.adx} >= 20`,
      );
    if (ema50 < ema200 && slopePct < 0 && last < ema200)
      return read(
        'BEAR',
        0.5 + 0.25 * strength + 0.25 * gap,
        `EMA50 below EMA200 and falling, close below EMA200, ADX ${figures.adx} >= 20`,
      );
  }
  if (volKnown && percentile <= REGIME_RULES.lowVolPercentile)
    return read(
      'LOW_VOL',
      0.6 + 4 * (REGIME_RULES.lowVolPercentile - percentile),
      `ATR% ${figures.atrPct} is at the ${(percentile * 100).toFixed(0)}th percentile of its last ${history.length} values (<= 10th)`,
    );
  if (adx < REGIME_RULES.adxTrend)
    return read(
      'SIDEWAYS',
      0.5 + 0.5 * Math.min(1, (REGIME_RULES.adxTrend - adx) / 10),
      `ADX ${figures.adx} < 20: no trend`,
    );
  return read('SIDEWAYS', 0.4, `ADX ${figures.adx} >= 20 but the EMAs disagree (a turn in progress)`);
}

/** The technical analyst's label for a detector regime (the analyst writes bull, high_volatility, ...). */
export const REGIME_TO_TECHNICAL: Record<Regime, string> = {
  BULL: 'bull',
  BEAR: 'bear',
  SIDEWAYS: 'sideways',
  HIGH_VOL: 'high_volatility',
  LOW_VOL: 'low_volatility',
};
