/**
 * SIZING: the BUY size executed, from the trader's size (after the risk manager) and fractional Kelly
 * (stats.ts) over the book's own outcomes closed strictly before the decision time. Pure.
 *
 * - trader: the trader's size; Kelly is not computed.
 * - kelly:  the Kelly size when it applies, else the trader's (the record says why).
 * - min:    the smaller of the two when Kelly applies, else the trader's.
 * Hard limits (MAX_POSITION_SIZE_PCT, exposure, cash, exchange filters) apply afterwards, where the
 * order is planned, as for any size. A size changed here is recorded as a KELLY_SIZING clamp with the
 * inputs (n, W, R, f*, fraction) in its reason.
 */
import { type KellyOptions, type KellyResult, kellyFrom, type OutcomeLike } from './stats';

export type SizingMode = 'trader' | 'kelly' | 'min';
export const SIZING_MODES: readonly SizingMode[] = ['trader', 'kelly', 'min'];

export interface SizingSettings extends KellyOptions {
  mode: SizingMode;
}

export interface SizingDecision {
  sizePct: number;
  kelly: KellyResult | null;
  /** Set when the size changed (or Kelly was computed and did not apply: `changed` false). */
  note: { requested: number; allowed: number; changed: boolean; reason: string } | null;
}

/** The size for a BUY of `traderPct`, given the outcomes before the decision (the last `lookback`). */
export function sizeBuy(
  traderPct: number,
  sample: readonly OutcomeLike[],
  s: SizingSettings,
): SizingDecision {
  if (s.mode === 'trader') return { sizePct: traderPct, kelly: null, note: null };
  const kelly = kellyFrom(sample.slice(-s.lookback), s);
  if (!kelly.applies || kelly.sizePct === null)
    return {
      sizePct: traderPct,
      kelly,
      note: { requested: traderPct, allowed: traderPct, changed: false, reason: kelly.reason },
    };
  const sized = s.mode === 'kelly' ? kelly.sizePct : Math.min(traderPct, kelly.sizePct);
  const sizePct = Number(sized.toFixed(4));
  return {
    sizePct,
    kelly,
    note: {
      requested: traderPct,
      allowed: sizePct,
      changed: sizePct !== traderPct,
      reason: `SIZING=${s.mode}: ${kelly.reason}`,
    },
  };
}
