/** The Step Functions WorkflowStarter, against a recording stand-in for the SFN client (no AWS here). */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { createSfnWorkflowStarter, executionName } from './sfn-workflows';

const ANALYSIS = 'arn:aws:states:eu-west-1:111122223333:stateMachine:Analysis';
const BACKTEST = 'arn:aws:states:eu-west-1:111122223333:stateMachine:Backtest';
const ID = '0b6c7a52-4f7e-4d4e-9a51-3f4a2b1c0d9e';

function recordingClient() {
  const inputs: StartExecutionCommand['input'][] = [];
  return {
    inputs,
    async send(cmd: StartExecutionCommand) {
      expect(cmd).toBeInstanceOf(StartExecutionCommand);
      inputs.push(cmd.input);
      return {
        executionArn: `${cmd.input.stateMachineArn}:${cmd.input.name}`,
        startDate: new Date(),
        $metadata: {},
      };
    },
  };
}

describe('createSfnWorkflowStarter', () => {
  it('starts the right machine with the id as input and an idempotent execution name', async () => {
    const client = recordingClient();
    const starter = createSfnWorkflowStarter({
      analysisStateMachineArn: ANALYSIS,
      backtestStateMachineArn: BACKTEST,
      client,
    });
    const a = await starter.startAnalysis({ decisionId: ID });
    const b = await starter.startBacktest({ backtestId: ID });
    expect(client.inputs).toEqual([
      { stateMachineArn: ANALYSIS, name: `analysis-${ID}`, input: JSON.stringify({ decisionId: ID }) },
      { stateMachineArn: BACKTEST, name: `backtest-${ID}`, input: JSON.stringify({ backtestId: ID }) },
    ]);
    expect(a.executionId).toBe(`${ANALYSIS}:analysis-${ID}`);
    expect(b.executionId).toContain('Backtest');
  });

  it('refuses a machine this function was not given (least privilege: one machine per function)', async () => {
    const client = recordingClient();
    const starter = createSfnWorkflowStarter({
      analysisStateMachineArn: ANALYSIS,
      backtestStateMachineArn: undefined,
      client,
    });
    await expect(starter.startBacktest({ backtestId: ID })).rejects.toThrow(
      /backtest state machine is not configured/,
    );
    expect(client.inputs).toEqual([]);
  });

  it('keeps execution names within Step Functions rules', () => {
    expect(executionName('analysis', 'a b/c'.repeat(30))).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});
