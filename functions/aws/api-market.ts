/** Lambda entry of the API route group "market": the handler of functions/api/market.ts on the Lambda host. */
import { createMarketHandler } from '../api/market';
import { lambdaHandler } from './runtime';

export const handler = lambdaHandler((world) => createMarketHandler(world, world.http));
