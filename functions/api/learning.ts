/**
 * Route group "learning": the self-learning loop over HTTP (shared/learning).
 *
 * - `POST /learning/cycles` opens a cycle on the live book now and starts the Learning workflow (202,
 *   `{ id, poll }`); `GET /learning/cycles`, `GET /learning/cycles/{id}` (summary, patterns, proposals,
 *   cost).
 * - `GET /adjustments?status=`, `POST /adjustments/{id}/approve|reject|rollback`: the review. A stale
 *   approval (its parameter changed since) or a rollback of a parameter changed again is a 409 and
 *   changes nothing (shared/learning/review.ts).
 * - `GET /strategy` (the version in force) and `GET /strategy/versions` (the history, each version with
 *   its results since: the closed outcomes whose entry ran under it).
 *
 * A cycle the workflow could not start is marked failed (never left pending) and the error returned.
 */
import {
  adjustmentsQuerySchema,
  cyclesQuerySchema,
  learningCycleRequestSchema,
  reviewRequestSchema,
  toAdjustmentDto,
  toCycleDto,
  toCycleListItem,
  toStrategyVersionDto,
} from '../../shared/api/learning';
import { idParamSchema } from '../../shared/api/routes';
import type { Settings } from '../../shared/config/settings';
import { createLearningCycle, markLearningCycleFailed } from '../../shared/learning/cycle';
import type { LearningDeps } from '../../shared/learning/ports';
import {
  approveAdjustment,
  getCycle,
  listAdjustments,
  listCycles,
  rejectAdjustment,
  rollbackAdjustment,
} from '../../shared/learning/review';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import { NO_RESULTS, strategyVersionResults } from '../../shared/strategy/results';
import { LIVE_STRATEGY_RUN, listStrategyVersions, strategyInForce } from '../../shared/strategy/store';
import { AppError } from '../../shared/util/errors';
import {
  createRouteGroup,
  type HttpOptions,
  json,
  parseBody,
  parseQuery,
  parseWith,
  type Route,
} from './http';

export interface LearningHandlerDeps {
  container: { settings: Settings; deps: LearningDeps };
  workflows: WorkflowStarter;
}

export function createLearningHandler(
  { container, workflows }: LearningHandlerDeps,
  options: HttpOptions = {},
) {
  const deps = container.deps;
  const reviewRoute = (action: 'approve' | 'reject' | 'rollback', fn: typeof approveAdjustment): Route => ({
    method: 'POST',
    path: `/adjustments/{id}/${action}`,
    handler: async (req) => {
      const { id } = parseWith(idParamSchema, req.pathParams, 'path');
      const body = parseBody(req, reviewRequestSchema);
      return json(200, toAdjustmentDto(await fn(deps, id, body.by ?? 'api')));
    },
  });
  return createRouteGroup(
    'learning',
    [
      {
        method: 'POST',
        path: '/learning/cycles',
        handler: async (req) => {
          const body = parseBody(req, learningCycleRequestSchema);
          const start = workflows.startLearning?.bind(workflows);
          if (!start)
            throw new AppError(
              'NOT_IMPLEMENTED',
              'this host cannot run learning cycles (no Learning workflow)',
            );
          // Learning disabled: nothing applies itself, whatever the request says.
          const autoApply = container.settings.SELF_LEARNING_ENABLED && body.auto_apply !== false;
          const { cycleId } = await createLearningCycle(deps, { trigger: 'api', autoApply });
          try {
            await start({ cycleId });
          } catch (e) {
            await markLearningCycleFailed(deps, {
              cycleId,
              error: { code: 'WORKFLOW_FAILED', message: 'the learning workflow could not be started' },
            });
            throw e;
          }
          const poll = `/learning/cycles/${cycleId}`;
          return json(202, { id: cycleId, status: 'pending', poll }, { location: poll });
        },
      },
      {
        method: 'GET',
        path: '/learning/cycles',
        handler: async (req) => {
          const q = parseQuery(req, cyclesQuerySchema);
          const page = await listCycles(deps, {
            limit: q.limit,
            ...(q.backtest_id ? { backtestId: q.backtest_id } : {}),
          });
          return json(200, { items: page.items.map(toCycleListItem) });
        },
      },
      {
        method: 'GET',
        path: '/learning/cycles/{id}',
        handler: async (req) => {
          const { id } = parseWith(idParamSchema, req.pathParams, 'path');
          return json(200, toCycleDto(await getCycle(deps, id)));
        },
      },
      {
        method: 'GET',
        path: '/adjustments',
        handler: async (req) => {
          const q = parseQuery(req, adjustmentsQuerySchema);
          const page = await listAdjustments(deps, {
            limit: q.limit,
            ...(q.status ? { status: q.status } : {}),
          });
          return json(200, { items: page.items.map(toAdjustmentDto) });
        },
      },
      reviewRoute('approve', approveAdjustment),
      reviewRoute('reject', rejectAdjustment),
      reviewRoute('rollback', rollbackAdjustment),
      {
        method: 'GET',
        path: '/strategy',
        handler: async () =>
          json(
            200,
            toStrategyVersionDto(
              await strategyInForce(deps.db, { settings: container.settings, now: deps.now() }),
            ),
          ),
      },
      {
        method: 'GET',
        path: '/strategy/versions',
        handler: async () => {
          const versions = await listStrategyVersions(deps.db, { settings: container.settings });
          const results = await strategyVersionResults(deps.db, LIVE_STRATEGY_RUN);
          return json(200, {
            items: versions.map((v) => ({
              ...toStrategyVersionDto(v),
              results: results.get(v.id) ?? NO_RESULTS,
            })),
          });
        },
      },
    ],
    options,
  );
}
