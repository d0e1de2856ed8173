/**
 * What a learning cycle needs besides the pipeline's deps: a reader of closed outcomes (the trade
 * outcomes ledger, shared/outcomes) and, for prompt lessons, the prompt registry (agent_prompts) that
 * turns a lesson into a new prompt version (origin `learning`, parent recorded).
 */
import type { DbOrTx } from '../db/client';
import type { OutcomeQuery, TradeOutcome } from '../outcomes/types';
import type { PipelineDeps } from '../pipeline/deps';

/** Outcomes of a run closed strictly before `closedBefore` (and at or after `closedFrom`). */
export type OutcomeReader = (db: DbOrTx, q: OutcomeQuery) => Promise<TradeOutcome[]>;

export interface PromptLessonSink {
  /** Register the agent's current prompt plus the lesson as a new version; answers its version id. */
  addLesson(
    db: DbOrTx,
    l: { agent: 'researcher' | 'trader'; lesson: string; adjustmentId: string },
  ): Promise<{ promptVersion: string; parent: string | null }>;
}

export interface LearningDeps extends PipelineDeps {
  readOutcomes?: OutcomeReader;
  lessons?: PromptLessonSink;
}
