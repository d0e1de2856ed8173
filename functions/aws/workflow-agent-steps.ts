/** Lambda entry of the agent-chain tasks (both state machines invoke it; the payload names the step). */
import pino from 'pino';
import { agentStepFns } from '../workflow/bindings';
import { createAgentStepsHandler } from '../workflow/tasks';
import { getLambdaContainer } from './runtime';

export const handler = createAgentStepsHandler(
  async () => (await getLambdaContainer()).deps,
  agentStepFns,
  pino({ name: 'workflow', level: process.env.LOG_LEVEL ?? 'info' }),
);
