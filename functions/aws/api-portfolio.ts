/** Lambda entry of the API route group "portfolio": the handler of functions/api/portfolio.ts on the Lambda host. */
import { createPortfolioHandler } from '../api/portfolio';
import { lambdaHandler } from './runtime';

export const handler = lambdaHandler((world) => createPortfolioHandler(world, world.http));
