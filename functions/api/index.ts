/**
 * Every route group's handler, built from one set of dependencies. The local host dispatches to these
 * by path (shared/api/routes.ts); on AWS each group is its own Lambda (functions/aws wraps the same
 * factories), so a group can be scaled, permissioned and timed on its own.
 */
import type { RouteGroup } from '../../shared/api/routes';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import type { Container } from '../runtime/container';
import { createAnalyzeHandler } from './analysis';
import { createBacktestsHandler } from './backtests';
import { createCostsHandler } from './costs';
import { createDocsHandler } from './docs';
import type { ApiHandler, HttpOptions } from './http';
import { createLearningHandler } from './learning';
import { createMarketHandler } from './market';
import { createPortfolioHandler } from './portfolio';
import { createPromptsHandler } from './prompts';

export interface ApiDeps {
  container: Container;
  workflows: WorkflowStarter;
}

export function createApiHandlers(deps: ApiDeps, options: HttpOptions = {}): Record<RouteGroup, ApiHandler> {
  return {
    market: createMarketHandler(deps, options),
    analysis: createAnalyzeHandler(deps, options),
    portfolio: createPortfolioHandler(deps, options),
    backtests: createBacktestsHandler(deps, options),
    learning: createLearningHandler(deps, options),
    costs: createCostsHandler(deps, options),
    prompts: createPromptsHandler(deps, options),
    docs: createDocsHandler(options),
  };
}

export {
  createAnalyzeHandler,
  createBacktestsHandler,
  createCostsHandler,
  createDocsHandler,
  createLearningHandler,
  createMarketHandler,
  createPortfolioHandler,
  createPromptsHandler,
};
