import { describe, expect, it } from 'vitest';
import { testSettings } from '../pipeline/testing';
import { defaultStrategyParams } from '../strategy/defaults';
import type { Pattern, ProposalDraft } from './agents';
import { learningRules, strategyBuilderRules } from './offline-rules';
import { summarizeOutcomes } from './summary';
import { outcome } from './testing';
import { parameterBriefs, policyFor, validateProposal } from './validation';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const H = 3_600_000;
const settings = testSettings({ MAX_POSITION_SIZE_PCT: '10', SELF_LEARNING_MIN_EVIDENCE: '5' });
const params = defaultStrategyParams(settings);
// 8 BEAR losers and 4 BULL winners.
const outcomes = [
  ...Array.from({ length: 8 }, (_, i) =>
    outcome({ exitTime: T0 + i * H, pnlPct: -2, regime: 'BEAR', confidence: 0.57 }),
  ),
  ...Array.from({ length: 4 }, (_, i) =>
    outcome({ exitTime: T0 + (20 + i) * H, pnlPct: 3, regime: 'BULL', confidence: 0.75 }),
  ),
];
const summary = summarizeOutcomes(outcomes, { from: T0, to: T0 + 100 * H });
const patterns: Pattern[] = [
  {
    name: 'bear losers',
    kind: 'losing',
    dimension: 'regime',
    bucket: 'BEAR',
    evidence: 8,
    win_rate: 0,
    mean_pnl_pct: -2,
    note: 'x',
  },
  // The model claims 40 trades; the summary has 4.
  {
    name: 'bull winners',
    kind: 'winning',
    dimension: 'regime',
    bucket: 'BULL',
    evidence: 40,
    win_rate: 1,
    mean_pnl_pct: 3,
    note: 'x',
  },
  {
    name: 'made up',
    kind: 'winning',
    dimension: 'regime',
    bucket: 'MOON',
    evidence: 99,
    win_rate: 1,
    mean_pnl_pct: 9,
    note: 'x',
  },
];
const draft = (o: Partial<ProposalDraft>): ProposalDraft => ({
  kind: 'parameter',
  parameter: 'kellyFraction',
  agent: null,
  new_value: '0.4',
  confidence: 90,
  risk_level: 'LOW',
  priority: 'HIGH',
  reasoning: 'r',
  patterns: ['bear losers'],
  ...o,
});
const check = (d: ProposalDraft, seen = new Set<string>()) =>
  validateProposal(d, { settings, params, patterns, summary, seen });
const reasonOf = (d: ProposalDraft) => {
  const v = check(d);
  return v.valid ? null : v.reason;
};

describe('proposal validation', () => {
  it('accepts a whitelisted parameter within bounds, step and evidence, with old and new values', () => {
    expect(check(draft({}))).toEqual({
      kind: 'parameter',
      valid: true,
      parameter: 'kellyFraction',
      oldValue: 0.5,
      newValue: 0.4,
      evidence: 8,
    });
    expect(check(draft({ parameter: 'decisionMode', new_value: 'consensus' }))).toMatchObject({
      valid: true,
      newValue: 'consensus',
    });
  });

  it('refuses parameters outside the whitelist, hard limits included', () => {
    expect(reasonOf(draft({ parameter: 'MAX_TOTAL_EXPOSURE_PCT' }))).toMatch(
      /not a parameter the loop may change/,
    );
    expect(reasonOf(draft({ parameter: null }))).toMatch(/not a parameter/);
  });

  it('refuses values of the wrong type or out of bounds', () => {
    expect(reasonOf(draft({ new_value: 'half' }))).toMatch(/needs a number/);
    expect(reasonOf(draft({ parameter: 'minAgreement', new_value: '2.5' }))).toMatch(/whole number/);
    expect(reasonOf(draft({ parameter: 'decisionMode', new_value: 'vibes' }))).toMatch(
      /one of pipeline, consensus/,
    );
    expect(reasonOf(draft({ parameter: 'researcherMinConfidence', new_value: '0.2' }))).toMatch(
      /within \[0.3, 0.9\]/,
    );
  });

  it('never raises the position cap above the hard ceiling', () => {
    const atCeiling = { ...params, maxPositionSizePct: 9.5 };
    const v = validateProposal(draft({ parameter: 'maxPositionSizePct', new_value: '11' }), {
      settings,
      params: atCeiling,
      patterns,
      summary,
      seen: new Set(),
    });
    expect(v.valid).toBe(false);
    expect(!v.valid && v.reason).toMatch(/above the hard ceiling MAX_POSITION_SIZE_PCT 10/);
  });

  it('limits the step per cycle and refuses a change that changes nothing', () => {
    expect(reasonOf(draft({ new_value: '0.2' }))).toMatch(/at most 0.25 per cycle/);
    expect(reasonOf(draft({ parameter: 'defaultStopLossPct', new_value: '8' }))).toMatch(
      /at most 2 per cycle/,
    );
    expect(reasonOf(draft({ new_value: '0.5' }))).toMatch(/nothing would change/);
  });

  it('counts the evidence in code: inflated or invented patterns do not count', () => {
    expect(reasonOf(draft({ patterns: ['bull winners'] }))).toMatch(
      /rests on 4 trades, fewer than SELF_LEARNING_MIN_EVIDENCE 5/,
    );
    expect(reasonOf(draft({ patterns: ['made up'] }))).toMatch(/rests on 0 trades/);
    expect(reasonOf(draft({ patterns: ['no such pattern'] }))).toMatch(/patterns that were not found/);
  });

  it('allows one proposal per parameter per cycle', () => {
    const seen = new Set<string>();
    expect(check(draft({}), seen).valid).toBe(true);
    const second = check(draft({ new_value: '0.45' }), seen);
    expect(!second.valid && second.reason).toMatch(/another proposal for kellyFraction/);
  });

  it('validates lessons: for the researcher or the trader, one sentence, with evidence', () => {
    const lesson = (o: Partial<ProposalDraft>) =>
      draft({
        kind: 'lesson',
        parameter: null,
        agent: 'researcher',
        new_value: 'Be wary of bullish theses in BEAR regimes.',
        ...o,
      });
    expect(check(lesson({}))).toMatchObject({
      kind: 'lesson',
      valid: true,
      agent: 'researcher',
      evidence: 8,
    });
    expect(reasonOf(lesson({ agent: 'risk' }))).toMatch(/researcher or the trader/);
    expect(reasonOf(lesson({ new_value: 'short' }))).toMatch(/10-300 characters/);
    expect(reasonOf(lesson({ patterns: ['bull winners'] }))).toMatch(/rests on 4 trades/);
  });
});

describe('auto-apply policy', () => {
  const o = { autoApply: true, threshold: 80 };
  it('applies only confidence >= threshold, LOW risk and HIGH priority, and only when enabled', () => {
    expect(policyFor({ confidence: 80, risk_level: 'LOW', priority: 'HIGH' }, o)).toBe('apply');
    expect(policyFor({ confidence: 79.9, risk_level: 'LOW', priority: 'HIGH' }, o)).toBe('pending');
    expect(policyFor({ confidence: 95, risk_level: 'MEDIUM', priority: 'HIGH' }, o)).toBe('pending');
    expect(policyFor({ confidence: 95, risk_level: 'LOW', priority: 'MEDIUM' }, o)).toBe('pending');
    expect(
      policyFor({ confidence: 95, risk_level: 'LOW', priority: 'HIGH' }, { ...o, autoApply: false }),
    ).toBe('pending');
  });
});

describe('offline learning rules', () => {
  const input = { summary, strategy: { version: 1, params }, minEvidence: 5 };
  it('names the patterns with evidence over the minimum, deterministically, and says it is rules', () => {
    const out = learningRules(input);
    expect(out).toEqual(learningRules(input));
    expect(out.summary_note).toMatch(/^rules/);
    expect(out.patterns.map((p) => p.name)).toContain('losing regime BEAR');
    expect(out.patterns.every((p) => p.evidence >= 5)).toBe(true);
    expect(out.patterns.find((p) => p.dimension === 'regime' && p.bucket === 'BULL')).toBeUndefined();
  });

  it('proposes changes that pass validation, and a lesson for a losing regime', () => {
    const learned = learningRules(input);
    const built = strategyBuilderRules({
      ...input,
      patterns: learned.patterns,
      parameters: parameterBriefs(settings, params),
      lessonAgents: ['researcher', 'trader'],
    });
    expect(built.proposals.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    const results = built.proposals.map((p) =>
      validateProposal(p, { settings, params, patterns: learned.patterns, summary, seen }),
    );
    expect(results.filter((r) => !r.valid)).toEqual([]);
    // Confidence 0.57 sits in the gate's bucket (0.55 -> 0.5-0.6) and lost: raise the gate.
    expect(built.proposals.find((p) => p.parameter === 'researcherMinConfidence')?.new_value).toBe('0.6');
    expect(built.proposals.find((p) => p.kind === 'lesson')?.new_value).toMatch(/regime BEAR/);
  });
});
