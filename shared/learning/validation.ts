/**
 * The safety rails, in code: every proposal is validated before any policy sees it, and an invalid one
 * is kept with why. The rules:
 * - a parameter proposal names one whitelisted strategy parameter (STRATEGY_PARAM_NAMES); anything else
 *   (a hard limit such as MAX_TOTAL_EXPOSURE_PCT, a setting, a typo) is invalid;
 * - its value parses to the parameter's type and lies within the parameter's bounds; the position cap's
 *   upper bound is the configured hard ceiling MAX_POSITION_SIZE_PCT, which nothing here can raise;
 * - it moves at most the parameter's maximum step from the value in force, and it changes something;
 * - it rests on patterns the learning agent named, whose evidence, RE-COUNTED IN CODE from the summary,
 *   reaches SELF_LEARNING_MIN_EVIDENCE trades (the model's own counts are not trusted);
 * - one proposal per parameter per cycle (a second one is invalid: it would race the first);
 * - a lesson is for the researcher or the trader, one sentence of 10-300 characters.
 * Pure: no host, no database.
 */
import type { Settings } from '../config/settings';
import { STRATEGY_PARAM_NAMES, type StrategyParamName, type StrategyParams } from '../strategy/params';
import type { ParameterBrief, Pattern, ProposalDraft } from './agents';
import { evidenceOf, type LearningSummary } from './summary';

export const LESSON_AGENTS = ['researcher', 'trader'] as const;
export type LessonAgent = (typeof LESSON_AGENTS)[number];

interface NumericRule {
  type: 'number';
  integer?: boolean;
  min: number;
  max: number;
  maxStep: number;
  meaning: string;
}
interface EnumRule {
  type: 'enum';
  values: readonly string[];
  meaning: string;
}
type Rule = NumericRule | EnumRule;

/** Bounds and steps per parameter; maxPositionSizePct's max is replaced by the hard ceiling. */
export function parameterRules(settings: Settings): Record<StrategyParamName, Rule> {
  return {
    researcherMinConfidence: {
      type: 'number',
      min: 0.3,
      max: 0.9,
      maxStep: 0.1,
      meaning: 'researcher confidence (0-1) below which the firm holds without calling the trader',
    },
    minAgreement: {
      type: 'number',
      integer: true,
      min: 1,
      max: settings.CONSENSUS_VOTERS.length,
      maxStep: 1,
      meaning: `consensus mode: votes that must agree on BUY or SELL (at most the ${settings.CONSENSUS_VOTERS.length} voters)`,
    },
    decisionMode: {
      type: 'enum',
      values: ['pipeline', 'consensus'],
      meaning: "pipeline (the researcher's thesis) or consensus (analysts and researcher vote)",
    },
    kellyFraction: {
      type: 'number',
      min: 0,
      max: 1,
      maxStep: 0.25,
      meaning: 'fraction of full Kelly used for sizing',
    },
    defaultStopLossPct: {
      type: 'number',
      min: 1,
      max: 20,
      maxStep: 2,
      meaning: 'stop-loss % used when the trader gives none',
    },
    defaultTakeProfitPct: {
      type: 'number',
      min: 2,
      max: 50,
      maxStep: 5,
      meaning: 'take-profit % used when the trader gives none',
    },
    maxPositionSizePct: {
      type: 'number',
      min: 0.5,
      max: settings.MAX_POSITION_SIZE_PCT,
      maxStep: 2,
      meaning: `per-position size cap in % of equity (hard ceiling MAX_POSITION_SIZE_PCT ${settings.MAX_POSITION_SIZE_PCT})`,
    },
  };
}

/** The parameters as the strategy builder is told about them. */
export function parameterBriefs(settings: Settings, params: StrategyParams): ParameterBrief[] {
  const rules = parameterRules(settings);
  return STRATEGY_PARAM_NAMES.map((name) => {
    const rule = rules[name];
    return rule.type === 'enum'
      ? {
          name,
          current: params[name],
          min: null,
          max: null,
          maxStep: null,
          values: rule.values,
          meaning: rule.meaning,
        }
      : {
          name,
          current: params[name],
          min: rule.min,
          max: rule.max,
          maxStep: rule.maxStep,
          meaning: rule.meaning,
        };
  });
}

export type ValidatedProposal =
  | {
      kind: 'parameter';
      valid: true;
      parameter: StrategyParamName;
      oldValue: StrategyParams[StrategyParamName];
      newValue: StrategyParams[StrategyParamName];
      evidence: number;
    }
  | { kind: 'lesson'; valid: true; agent: LessonAgent; lesson: string; evidence: number }
  | {
      kind: 'parameter' | 'lesson';
      valid: false;
      reason: string;
      parameter: string | null;
      agent: string | null;
      oldValue: unknown;
      newValue: unknown;
      evidence: number;
    };

const EPS = 1e-9;

/** The trades behind a proposal: the largest re-counted evidence among the named patterns. */
export function proposalEvidence(
  draft: ProposalDraft,
  patterns: readonly Pattern[],
  summary: LearningSummary,
): number {
  let best = 0;
  for (const name of draft.patterns) {
    const p = patterns.find((x) => x.name === name);
    if (p) best = Math.max(best, evidenceOf(summary, p.dimension, p.bucket));
  }
  return best;
}

export function validateProposal(
  draft: ProposalDraft,
  ctx: {
    settings: Settings;
    params: StrategyParams;
    patterns: readonly Pattern[];
    summary: LearningSummary;
    /** Parameters already proposed earlier in the same cycle. */
    seen: Set<string>;
  },
): ValidatedProposal {
  const evidence = proposalEvidence(draft, ctx.patterns, ctx.summary);
  const minEvidence = ctx.settings.SELF_LEARNING_MIN_EVIDENCE;
  const invalid = (reason: string, oldValue: unknown = null, newValue: unknown = draft.new_value) =>
    ({
      kind: draft.kind,
      valid: false,
      reason,
      parameter: draft.parameter,
      agent: draft.agent,
      oldValue,
      newValue,
      evidence,
    }) as const;
  const unknownPatterns = draft.patterns.filter((n) => !ctx.patterns.some((p) => p.name === n));

  if (draft.kind === 'lesson') {
    if (!draft.agent || !(LESSON_AGENTS as readonly string[]).includes(draft.agent))
      return invalid(`a lesson is for the researcher or the trader, not ${JSON.stringify(draft.agent)}`);
    const lesson = draft.new_value.trim();
    if (lesson.length < 10 || lesson.length > 300)
      return invalid(`a lesson is one sentence of 10-300 characters (got ${lesson.length})`);
    if (unknownPatterns.length)
      return invalid(`it cites patterns that were not found: ${unknownPatterns.join(', ')}`);
    if (evidence < minEvidence)
      return invalid(`it rests on ${evidence} trades, fewer than SELF_LEARNING_MIN_EVIDENCE ${minEvidence}`);
    const key = `lesson:${draft.agent}`;
    if (ctx.seen.has(key)) return invalid(`another lesson for the ${draft.agent} comes first in this cycle`);
    ctx.seen.add(key);
    return { kind: 'lesson', valid: true, agent: draft.agent as LessonAgent, lesson, evidence };
  }

  const name = draft.parameter ?? '';
  if (!(STRATEGY_PARAM_NAMES as readonly string[]).includes(name))
    return invalid(
      `${JSON.stringify(draft.parameter)} is not a parameter the loop may change (allowed: ${STRATEGY_PARAM_NAMES.join(', ')}; hard limits and other settings are never changed)`,
    );
  const parameter = name as StrategyParamName;
  const rule = parameterRules(ctx.settings)[parameter];
  const oldValue = ctx.params[parameter];
  let newValue: StrategyParams[StrategyParamName];
  if (rule.type === 'enum') {
    const v = draft.new_value.trim();
    if (!rule.values.includes(v))
      return invalid(`${parameter} is one of ${rule.values.join(', ')}, not ${JSON.stringify(v)}`, oldValue);
    newValue = v as StrategyParams['decisionMode'];
  } else {
    const text = draft.new_value.trim();
    const v = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(v))
      return invalid(`${parameter} needs a number, got ${JSON.stringify(text)}`, oldValue);
    if (rule.integer && !Number.isInteger(v))
      return invalid(`${parameter} is a whole number, got ${v}`, oldValue, v);
    if (v < rule.min - EPS || v > rule.max + EPS)
      return invalid(
        parameter === 'maxPositionSizePct' && v > rule.max
          ? `${parameter} ${v} is above the hard ceiling MAX_POSITION_SIZE_PCT ${rule.max}, which the loop never changes`
          : `${parameter} must lie within [${rule.min}, ${rule.max}], got ${v}`,
        oldValue,
        v,
      );
    const step = Math.abs(v - (oldValue as number));
    if (step > rule.maxStep + EPS)
      return invalid(
        `${parameter} may move at most ${rule.maxStep} per cycle; ${oldValue} -> ${v} moves ${Number(step.toFixed(6))}`,
        oldValue,
        v,
      );
    newValue = v;
  }
  if (newValue === oldValue)
    return invalid(`${parameter} is already ${oldValue}: nothing would change`, oldValue, newValue);
  if (unknownPatterns.length)
    return invalid(
      `it cites patterns that were not found: ${unknownPatterns.join(', ')}`,
      oldValue,
      newValue,
    );
  if (evidence < minEvidence)
    return invalid(
      `it rests on ${evidence} trades, fewer than SELF_LEARNING_MIN_EVIDENCE ${minEvidence}`,
      oldValue,
      newValue,
    );
  if (ctx.seen.has(parameter))
    return invalid(`another proposal for ${parameter} comes first in this cycle`, oldValue, newValue);
  ctx.seen.add(parameter);
  return { kind: 'parameter', valid: true, parameter, oldValue, newValue, evidence };
}

/** What the policy decides for a valid proposal. */
export type PolicyDecision = 'apply' | 'pending';

/**
 * Auto-apply policy: with auto-apply allowed (SELF_LEARNING_ENABLED, or a walk-forward backtest that
 * asked for learning), a valid proposal with confidence >= SELF_LEARNING_AUTO_APPLY_THRESHOLD, risk LOW
 * and priority HIGH applies itself; every other valid proposal waits for a person.
 */
export function policyFor(
  draft: Pick<ProposalDraft, 'confidence' | 'risk_level' | 'priority'>,
  o: { autoApply: boolean; threshold: number },
): PolicyDecision {
  return o.autoApply &&
    draft.confidence >= o.threshold &&
    draft.risk_level === 'LOW' &&
    draft.priority === 'HIGH'
    ? 'apply'
    : 'pending';
}
