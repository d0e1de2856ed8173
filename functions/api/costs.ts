/**
 * Route group "costs": `GET /costs`, today's LLM spend against the budgets, and `GET /costs/daily`, the
 * last N UTC days per agent (see shared/api/costs.ts and shared/spend/daily.ts).
 */
import { dailyCostsQuerySchema } from '../../shared/api/contract';
import { getCosts, getDailyCosts } from '../../shared/api/costs';
import type { Settings } from '../../shared/config/settings';
import type { DbOrTx } from '../../shared/db/client';
import { createRouteGroup, type HttpOptions, json, parseQuery } from './http';

export interface CostsHandlerDeps {
  container: { settings: Settings; db: DbOrTx; deps: { now(): number } };
}

export function createCostsHandler({ container }: CostsHandlerDeps, options: HttpOptions = {}) {
  return createRouteGroup(
    'costs',
    [
      {
        method: 'GET',
        path: '/costs',
        handler: async () =>
          json(200, await getCosts(container.db, container.settings, container.deps.now())),
      },
      {
        method: 'GET',
        path: '/costs/daily',
        handler: async (req) => {
          const q = parseQuery(req, dailyCostsQuerySchema);
          return json(
            200,
            await getDailyCosts(container.db, container.settings, container.deps.now(), q.days),
          );
        },
      },
    ],
    options,
  );
}
