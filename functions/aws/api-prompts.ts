/** Lambda entry of the API route group "prompts": the handler of functions/api/prompts.ts on the Lambda host. */
import { createPromptsHandler } from '../api/prompts';
import { lambdaHandler } from './runtime';

export const handler = lambdaHandler((world) => createPromptsHandler(world, world.http));
