/**
 * Route group "backtests": `POST /backtest`, `GET /backtests`, `GET /backtests/{id}`,
 * `POST /backtests/{id}/resume` (reruns only the failed decisions, then simulates again).
 *
 * POST /backtest validates the request, loads and caches the candles it needs, records the backtest
 * with its pre-flight cost estimate (shared/pipeline/backtest.ts createBacktest) and starts the
 * backtest workflow; it answers 202 at once with the estimate and the URL to poll. If the workflow
 * cannot be started, the backtest is marked failed (never left "pending" forever) and the error returned.
 *
 * Studies (`POST /studies`, `GET /studies`, `GET /studies/{id}`, `POST /studies/{id}/resume`,
 * `GET /studies/{id}/cells.csv`) live in
 * this group too: a study is many backtests, served by the same function and the same deps.
 *
 * With an Idempotency-Key, a repeat with the same body starts no second run and answers the first
 * request's 202 (shared/idempotency); the same key with another body is a 422.
 */
import { backtestResponse, backtestsPage } from '../../shared/api/backtests';
import { listQuerySchema } from '../../shared/api/contract';
import { idParamSchema } from '../../shared/api/routes';
import { toStudyDto, toStudyListDto } from '../../shared/api/studies';
import type { Settings } from '../../shared/config/settings';
import { parseIdempotencyKey, runOnce } from '../../shared/idempotency/idempotency';
import { createBacktest, markBacktestFailed, resumeBacktest } from '../../shared/pipeline/backtest';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import {
  createStudy,
  getStudy,
  listStudies,
  markStudyFailed,
  resumeStudy,
  studyCellsCsv,
} from '../../shared/studies';
import { AppError } from '../../shared/util/errors';
import {
  createRouteGroup,
  type HttpOptions,
  IDEMPOTENCY_HEADER,
  json,
  parseJsonObject,
  parseQuery,
  parseWith,
  REPLAYED_HEADER,
} from './http';

export interface BacktestsHandlerDeps {
  container: { settings: Settings; deps: PipelineDeps };
  workflows: WorkflowStarter;
}

export function createBacktestsHandler(
  { container, workflows }: BacktestsHandlerDeps,
  options: HttpOptions = {},
) {
  const deps = container.deps;
  return createRouteGroup(
    'backtests',
    [
      {
        method: 'POST',
        path: '/backtest',
        handler: async (req) => {
          const raw = parseJsonObject(req);
          const key = parseIdempotencyKey(req.headers[IDEMPOTENCY_HEADER]);
          const start = async () => {
            const { backtestId, estimate } = await createBacktest(deps, raw);
            try {
              await workflows.startBacktest({ backtestId });
            } catch (e) {
              await markBacktestFailed(deps, {
                backtestId,
                error: { code: 'WORKFLOW_FAILED', message: 'the backtest workflow could not be started' },
              });
              throw e;
            }
            const poll = `/backtests/${backtestId}`;
            return {
              resourceId: backtestId,
              response: { status: 202, body: { id: backtestId, status: 'pending', estimate, poll } },
            };
          };
          const poll = (id: string) => ({ location: `/backtests/${id}` });
          if (!key) {
            const first = await start();
            return json(first.response.status, first.response.body, poll(first.resourceId));
          }
          // A retry with the same key starts no second run: it answers the first request's 202.
          const once = await runOnce(
            deps.db,
            { scope: 'POST /backtest', key, body: raw, now: deps.now },
            start,
          );
          if (!once.replayed)
            return json(once.result.response.status, once.result.response.body, poll(once.result.resourceId));
          const answer = once.response ?? {
            status: 202,
            body: { id: once.resourceId, status: 'pending', poll: `/backtests/${once.resourceId}` },
          };
          return json(answer.status, answer.body, { ...poll(once.resourceId), [REPLAYED_HEADER]: 'true' });
        },
      },
      {
        method: 'GET',
        path: '/backtests',
        handler: async (req) => {
          const q = parseQuery(req, listQuerySchema);
          return json(200, await backtestsPage(deps, q));
        },
      },
      {
        method: 'GET',
        path: '/backtests/{id}',
        handler: async (req) => {
          const { id } = parseWith(idParamSchema, req.pathParams, 'path');
          return json(200, await backtestResponse(deps, id));
        },
      },
      {
        method: 'POST',
        path: '/backtests/{id}/resume',
        handler: async (req) => {
          const { id } = parseWith(idParamSchema, req.pathParams, 'path');
          // Writes nothing unless the run can be reopened (409 otherwise); see shared/pipeline/backtest/resume.ts.
          const resumed = await resumeBacktest(deps, id);
          try {
            await workflows.startBacktest({ backtestId: id });
          } catch (e) {
            await markBacktestFailed(deps, {
              backtestId: id,
              error: {
                code: 'WORKFLOW_FAILED',
                message: 'the resumed backtest workflow could not be started',
              },
            });
            throw e;
          }
          const poll = `/backtests/${id}`;
          return json(
            202,
            { id, status: 'pending', poll, toRun: resumed.toRun, kept: resumed.kept },
            { location: poll },
          );
        },
      },
      {
        method: 'POST',
        path: '/studies',
        handler: async (req) => {
          const start = workflows.startStudy?.bind(workflows);
          if (!start)
            throw new AppError('NOT_IMPLEMENTED', 'this host cannot run studies (no Study workflow)');
          const created = await createStudy(deps, parseJsonObject(req));
          try {
            await start({ studyId: created.studyId });
          } catch (e) {
            await markStudyFailed(deps, {
              studyId: created.studyId,
              error: { code: 'WORKFLOW_FAILED', message: 'the study workflow could not be started' },
            });
            throw e;
          }
          const poll = `/studies/${created.studyId}`;
          const { studyId, ...rest } = created;
          return json(202, { id: studyId, status: 'pending', ...rest, poll }, { location: poll });
        },
      },
      {
        method: 'GET',
        path: '/studies',
        handler: async (req) => {
          const q = parseQuery(req, listQuerySchema);
          return json(200, toStudyListDto(await listStudies(deps, q)));
        },
      },
      {
        method: 'GET',
        path: '/studies/{id}',
        handler: async (req) => {
          const { id } = parseWith(idParamSchema, req.pathParams, 'path');
          return json(200, toStudyDto(await getStudy(deps, id)));
        },
      },
      {
        method: 'POST',
        path: '/studies/{id}/resume',
        handler: async (req) => {
          const { id } = parseWith(idParamSchema, req.pathParams, 'path');
          const start = workflows.startStudy?.bind(workflows);
          if (!start)
            throw new AppError('NOT_IMPLEMENTED', 'this host cannot run studies (no Study workflow)');
          // Writes nothing unless the study can be reopened (409 otherwise); see shared/studies/resume.ts.
          const resumed = await resumeStudy(deps, id);
          try {
            await start({ studyId: id });
          } catch (e) {
            await markStudyFailed(deps, {
              studyId: id,
              error: { code: 'WORKFLOW_FAILED', message: 'the resumed study workflow could not be started' },
            });
            throw e;
          }
          const poll = `/studies/${id}`;
          const { studyId: _id, ...rest } = resumed;
          return json(202, { id, status: 'pending', ...rest, poll }, { location: poll });
        },
      },
      {
        method: 'GET',
        path: '/studies/{id}/cells.csv',
        handler: async (req) => {
          const { id } = parseWith(idParamSchema, req.pathParams, 'path');
          return {
            status: 200,
            text: await studyCellsCsv(deps, id),
            contentType: 'text/csv; charset=utf-8',
            headers: { 'content-disposition': `attachment; filename="study-${id}-cells.csv"` },
          };
        },
      },
    ],
    options,
  );
}
