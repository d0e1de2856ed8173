/** Lambda entry of the API route group "costs": the handler of functions/api/costs.ts on the Lambda host. */
import { createCostsHandler } from '../api/costs';
import { lambdaHandler } from './runtime';

export const handler = lambdaHandler((world) => createCostsHandler(world, world.http));
