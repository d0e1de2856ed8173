/** Lambda entry of the API route group "analysis": the handler of functions/api/analysis.ts on the Lambda host. */
import { createAnalyzeHandler } from '../api/analysis';
import { lambdaHandler } from './runtime';

export const handler = lambdaHandler((world) => createAnalyzeHandler(world, world.http));
