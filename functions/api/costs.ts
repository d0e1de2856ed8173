/** Route group "costs": `GET /costs`, today's LLM spend against the budget (see shared/api/costs.ts). */
import { getCosts } from '../../shared/api/costs';
import type { Settings } from '../../shared/config/settings';
import type { DbOrTx } from '../../shared/db/client';
import { createRouteGroup, type HttpOptions, json } from './http';

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
    ],
    options,
  );
}
