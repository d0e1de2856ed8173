/**
 * Route group "portfolio": `GET /portfolio` (the live book marked to the latest prices),
 * `GET /portfolio/history` (equity snapshots), `GET /trades` (paginated, newest first) and
 * `GET /outcomes` (closed round trips with their aggregates; live book unless run_id is given).
 */
import { outcomesQuerySchema, tradesQuerySchema } from '../../shared/api/contract';
import { outcomesPage } from '../../shared/api/outcomes';
import { livePortfolio, portfolioHistory, tradesPage } from '../../shared/api/portfolio';
import { portfolioHistoryQuerySchema } from '../../shared/api/routes';
import type { Settings } from '../../shared/config/settings';
import type { Db } from '../../shared/db/client';
import type { BinanceClient } from '../../shared/market/binance';
import { createRouteGroup, type HttpOptions, json, parseQuery } from './http';

export interface PortfolioHandlerDeps {
  container: {
    settings: Settings;
    db: Db;
    binance: Pick<BinanceClient, 'latestPrice'>;
    deps: { now(): number };
  };
}

export function createPortfolioHandler({ container }: PortfolioHandlerDeps, options: HttpOptions = {}) {
  const { db, settings } = container;
  return createRouteGroup(
    'portfolio',
    [
      {
        method: 'GET',
        path: '/portfolio',
        handler: async () =>
          json(
            200,
            await livePortfolio(db, settings, (s) => container.binance.latestPrice(s), container.deps.now()),
          ),
      },
      {
        method: 'GET',
        path: '/portfolio/history',
        handler: async (req) => {
          const q = parseQuery(req, portfolioHistoryQuerySchema);
          return json(200, await portfolioHistory(db, { limit: q.limit }));
        },
      },
      {
        method: 'GET',
        path: '/trades',
        handler: async (req) => {
          const q = parseQuery(req, tradesQuerySchema);
          return json(200, await tradesPage(db, q));
        },
      },
      {
        method: 'GET',
        path: '/outcomes',
        handler: async (req) => {
          const q = parseQuery(req, outcomesQuerySchema);
          return json(200, await outcomesPage(db, q));
        },
      },
    ],
    options,
  );
}
