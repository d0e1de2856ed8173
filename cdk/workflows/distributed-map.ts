/**
 * A Map whose every item runs as a child execution of its own: Step Functions' Distributed Map, in the
 * shape this project uses it. The backtest machine runs its decision points with it, the study machine
 * its cells (on AWS).
 *
 * Why Distributed: an inline Map writes every iteration into the parent execution's history, and AWS
 * caps one execution's history at 25,000 events (a hard quota). A decision point writes 62 events before
 * any retry (cdk/workflows/history.ts counts them from the definition), so an inline Map holds about 400
 * decisions. Under a Distributed Map the parent writes a constant handful of events whatever the item
 * count, and each child has its own 25,000.
 *
 * Decisions:
 * - STANDARD children, not EXPRESS. Express is cheaper and faster but cuts a child at 5 minutes and runs
 *   it at least once: an agent chain's worst case (a 3-minute task timeout per step, LLM retries waiting
 *   up to a minute) is far over 5 minutes unless a decision deadline bounds it, and a cut child leaves
 *   its decision `running` with nothing recorded. Standard children run exactly once, up to a year, with
 *   their own history in the console. Their price is per state transition ($0.025 per 1,000): about 18
 *   for a decision, so $0.90 for a 2,000-decision backtest, next to the LLM calls it makes.
 * - Items from the state input (`itemsPath`), which holds ids and timestamps only; `itemReader` (S3) is
 *   there for a caller whose items do not fit a state's 256 KiB.
 * - Results are not collected into the parent (`resultPath` DISCARD): every child persists its outcome
 *   in the database. A child ends with a tiny output all the same (the Map Run still gathers them).
 * - The tolerated failure percentage is read from the state input (`toleratedFailurePercentagePath`),
 *   so a setting (not a deploy) decides it; past it the Map Run fails with
 *   `States.ExceedToleratedFailureThreshold` and stops its running children.
 *
 * Locally, aws-local-stepfunctions 3 ignores `ProcessorConfig`: it runs a DISTRIBUTED Map as an inline
 * Map over the input array, and ignores the tolerated failure percentage, the item reader and the result
 * writer. functions/local/stepfunctions-runtime.ts therefore runs a DISTRIBUTED Map itself (each item a
 * child execution of the library, with the Map's concurrency and tolerated failures), so both hosts
 * execute the very same definition.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** Inline Map runs at most 40 iterations at once (a Step Functions limit). */
export const INLINE_MAP_MAX_CONCURRENCY = 40;
/** What this project allows a Distributed Map (AWS allows 10,000 child executions at once). */
export const DISTRIBUTED_MAP_MAX_CONCURRENCY = 1_000;

export interface ChildExecutionsMapProps {
  /** JSONPath of the item array in the state input (ids and timestamps: the state is capped at 256 KiB). */
  itemsPath?: string;
  /** Reads the items from S3 instead (a study's cells); exclusive with `itemsPath`. */
  itemReader?: sfn.IItemReader;
  /** Writes the Map Run's results to S3 (a study's cells); by default they are discarded. */
  resultWriter?: sfn.ResultWriter;
  /** Each child's input, built from `$$.Map.Item.Value` (the item) and `$` (the Map's input). */
  itemSelector: Record<string, unknown>;
  /** Child executions at once. */
  maxConcurrency: number;
  /** JSONPath of the tolerated failure percentage (0-100) in the state input; absent: none tolerated. */
  toleratedFailurePercentagePath?: string;
  /** The Map Run's label (console, child execution names): letters, digits, `-` and `_` only. */
  label: string;
  comment?: string;
}

/** A Distributed Map of STANDARD child executions over `processor` (see the header for the choices). */
export function childExecutionsMap(
  scope: Construct,
  id: string,
  props: ChildExecutionsMapProps,
  processor: sfn.IChainable,
): sfn.DistributedMap {
  if (props.maxConcurrency < 1 || props.maxConcurrency > DISTRIBUTED_MAP_MAX_CONCURRENCY)
    throw new Error(
      `${id}: maxConcurrency must be 1 to ${DISTRIBUTED_MAP_MAX_CONCURRENCY} (got ${props.maxConcurrency})`,
    );
  const map = new sfn.DistributedMap(scope, id, {
    ...(props.itemsPath ? { itemsPath: props.itemsPath } : {}),
    ...(props.itemReader ? { itemReader: props.itemReader } : {}),
    ...(props.resultWriter ? { resultWriter: props.resultWriter } : {}),
    itemSelector: props.itemSelector,
    maxConcurrency: props.maxConcurrency,
    ...(props.toleratedFailurePercentagePath
      ? { toleratedFailurePercentagePath: props.toleratedFailurePercentagePath }
      : {}),
    mapExecutionType: sfn.StateMachineType.STANDARD,
    label: props.label,
    resultPath: sfn.JsonPath.DISCARD,
    ...(props.comment ? { comment: props.comment } : {}),
  });
  map.itemProcessor(processor);
  return map;
}
