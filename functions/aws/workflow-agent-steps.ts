/** Lambda entry of the agent-chain tasks (both state machines invoke it; the payload names the step). */
import { agentStepFns } from '../workflow/bindings';
import { createAgentStepsHandler } from '../workflow/tasks';
import { observed, powertoolsAppLogger } from './observability';
import { getLambdaContainer } from './runtime';

export const handler = observed(
  createAgentStepsHandler(
    async () => (await getLambdaContainer()).deps,
    agentStepFns,
    powertoolsAppLogger().child({ group: 'workflow' }),
  ),
);
