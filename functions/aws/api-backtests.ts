/** Lambda entry of the API route group "backtests": the handler of functions/api/backtests.ts on the Lambda host. */
import { createBacktestsHandler } from '../api/backtests';
import { lambdaHandler } from './runtime';

export const handler = lambdaHandler((world) => createBacktestsHandler(world, world.http));
