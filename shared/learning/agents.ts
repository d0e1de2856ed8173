/**
 * The two learning agents (strong tier, through the one LLM client): their structured outputs, their
 * inputs and their prompts.
 *
 * - `learning` names the patterns that won and lost, each on one bucket of the code's summary
 *   (dimension + bucket), with the figures it rests on. Its evidence is re-counted in code from the
 *   summary (a pattern on a bucket that does not exist rests on 0 trades).
 * - `strategy_builder` proposes changes: one whitelisted strategy parameter (new value as text, parsed
 *   and validated in code) or a lesson for the researcher's or the trader's prompt.
 *
 * Field names are snake_case as the model sees them; every field is required, "no value" is null
 * (strict structured outputs). The parameter is free text on purpose: a proposal on a parameter outside
 * the whitelist is kept and marked invalid with why, not lost to a schema error.
 */
import { z } from 'zod';
import { messages } from '../agents/prompts/common';
import type { StrategyParams } from '../strategy/params';
import type { LearningSummary } from './summary';

export const LEARNING_PROMPT_VERSION = 'learning@1';
export const STRATEGY_BUILDER_PROMPT_VERSION = 'strategy_builder@1';

const level = z.enum(['LOW', 'MEDIUM', 'HIGH']);

export const patternSchema = z.object({
  name: z.string().min(1).max(80),
  kind: z.enum(['winning', 'losing']),
  /** A summary dimension (regime, sentiment, confidence, consensus, exitReason, promptVersion) or overall. */
  dimension: z.string().min(1).max(40),
  bucket: z.string().max(80),
  evidence: z.number().int().min(0),
  win_rate: z.number().min(0).max(1).nullable(),
  mean_pnl_pct: z.number().nullable(),
  note: z.string().min(1).max(300),
});
export type Pattern = z.infer<typeof patternSchema>;

export const learningOutputSchema = z.object({
  patterns: z.array(patternSchema).max(12),
  summary_note: z.string().min(1).max(600),
});
export type LearningOutput = z.infer<typeof learningOutputSchema>;

export const proposalSchema = z.object({
  kind: z.enum(['parameter', 'lesson']),
  /** kind parameter: one of the whitelisted parameter names; null for a lesson. */
  parameter: z.string().max(60).nullable(),
  /** kind lesson: researcher or trader; null for a parameter. */
  agent: z.string().max(30).nullable(),
  /** The new value as text (a number, `pipeline`/`consensus`, or the lesson's sentence). */
  new_value: z.string().min(1).max(400),
  confidence: z.number().min(0).max(100),
  risk_level: level,
  priority: level,
  reasoning: z.string().min(1).max(600),
  /** Names of the learning agent's patterns it rests on. */
  patterns: z.array(z.string().min(1).max(80)).max(6),
});
export type ProposalDraft = z.infer<typeof proposalSchema>;

export const strategyBuilderOutputSchema = z.object({
  proposals: z.array(proposalSchema).max(6),
});
export type StrategyBuilderOutput = z.infer<typeof strategyBuilderOutputSchema>;

/** What each parameter means and its bounds, as the strategy builder is told (the code enforces them). */
export interface ParameterBrief {
  name: string;
  current: StrategyParams[keyof StrategyParams];
  min: number | null;
  max: number | null;
  maxStep: number | null;
  values?: readonly string[];
  meaning: string;
}

export interface LearningInput {
  summary: LearningSummary;
  strategy: { version: number; params: StrategyParams };
  minEvidence: number;
}

export interface StrategyBuilderInput extends LearningInput {
  patterns: LearningOutput['patterns'];
  parameters: ParameterBrief[];
  lessonAgents: readonly string[];
}

const LEARNING_SYSTEM =
  "You are the learning analyst of a simulated crypto trading firm. You read a summary of the firm's " +
  'closed trades (win rate, payoff, mean PnL % per bucket of regime, sentiment, researcher confidence, ' +
  'consensus tally, exit reason and prompt version; stop-loss and take-profit hit rates). Name the ' +
  'patterns that won and that lost. Each pattern is one bucket of the summary: give its dimension and ' +
  'bucket exactly as written there (or dimension "overall", bucket ""), its evidence (the trades in it), ' +
  'and the figures it rests on. Ignore buckets with fewer trades than minEvidence.';

const BUILDER_SYSTEM =
  "You are the strategy builder of a simulated crypto trading firm. From the learning analyst's " +
  'patterns, the summary and the strategy in force, propose at most a few changes, each either ONE ' +
  'parameter from `parameters` (new_value within min/max and at most maxStep from the current value) or ' +
  "a lesson (one sentence) for the researcher's or the trader's prompt. Give confidence 0-100, risk " +
  'LOW/MEDIUM/HIGH, priority LOW/MEDIUM/HIGH, short reasoning citing the figures, and the names of the ' +
  'patterns it rests on. Propose nothing when the evidence is thin: an empty list is a good answer.';

export function buildLearningMessages(input: LearningInput) {
  return messages(LEARNING_SYSTEM, input);
}

export function buildStrategyBuilderMessages(input: StrategyBuilderInput) {
  return messages(BUILDER_SYSTEM, input);
}
