/**
 * WorkflowStarter over AWS Step Functions (StartExecution). The execution name is derived from the
 * decision or backtest id, so starting the same one twice is idempotent within Step Functions' 90-day
 * name window (a Standard workflow answers the existing execution for the same name and input) instead of
 * running the agents twice. The returned executionId is the execution ARN.
 */
import { SFNClient, StartExecutionCommand, type StartExecutionCommandOutput } from '@aws-sdk/client-sfn';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import { AppError } from '../../shared/util/errors';
import { traced } from './observability';

export interface SfnWorkflowOptions {
  analysisStateMachineArn: string | undefined;
  backtestStateMachineArn: string | undefined;
  studyStateMachineArn?: string | undefined;
  learningStateMachineArn?: string | undefined;
  client?: { send(command: StartExecutionCommand): Promise<StartExecutionCommandOutput> };
}

/** Execution names allow 80 characters of [A-Za-z0-9-_]. */
type Kind = 'analysis' | 'backtest' | 'study' | 'learning';

export function executionName(kind: Kind, id: string): string {
  return `${kind}-${id}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
}

export function createSfnWorkflowStarter(o: SfnWorkflowOptions): WorkflowStarter {
  let client = o.client;
  const start = async (kind: Kind, arn: string | undefined, input: Record<string, string>, id: string) => {
    if (!arn) throw new AppError('INTERNAL', `the ${kind} state machine is not configured for this function`);
    client ??= traced(new SFNClient({}));
    const out = await client.send(
      new StartExecutionCommand({
        stateMachineArn: arn,
        name: executionName(kind, id),
        input: JSON.stringify(input),
      }),
    );
    if (!out.executionArn) throw new AppError('WORKFLOW_FAILED', `Step Functions did not start the ${kind}`);
    return { executionId: out.executionArn };
  };
  return {
    startAnalysis: ({ decisionId }) =>
      start('analysis', o.analysisStateMachineArn, { decisionId }, decisionId),
    startBacktest: ({ backtestId }) =>
      start('backtest', o.backtestStateMachineArn, { backtestId }, backtestId),
    startStudy: ({ studyId }) => start('study', o.studyStateMachineArn, { studyId }, studyId),
    startLearning: ({ cycleId }) => start('learning', o.learningStateMachineArn, { cycleId }, cycleId),
  };
}
