/** Lambda entry of the API route group "learning": the handler of functions/api/learning.ts on the Lambda host. */
import { createLearningHandler } from '../api/learning';
import { lambdaHandler } from './runtime';

export const handler = lambdaHandler((world) => createLearningHandler(world, world.http));
