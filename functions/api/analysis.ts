/**
 * Route group "analysis": `POST /analyze`, `GET /analyses`, `GET /analyses/{id}`.
 *
 * POST /analyze records the decision, starts the analysis workflow (Step Functions on AWS, the local
 * state machine or the in-process runner locally) and waits for it a bounded time (ANALYZE_WAIT_MS;
 * API Gateway cuts a request at 29 s): 200 with the analysis when it finished, else 202 with a URL to
 * poll. `wait: false` answers 202 at once.
 *
 * How it waits: a starter that runs the execution in this process (the local hosts) can say when it
 * ends (`awaitExecution`), so the handler awaits that, raced against the deadline, and then reads the
 * decision once. On AWS the execution runs elsewhere; there, and as the fallback whenever the awaited
 * answer is not final, the handler polls the decision row (a primary-key read) every ANALYZE_POLL_MS.
 *
 * Pre-flight: a `backtest_step` whose timestamp has no data for the indicators' warm-up (before the
 * symbol's first candle, or too soon after it) is a 422 INSUFFICIENT_DATA naming `timestamp`, before
 * any record or workflow exists.
 *
 * Idempotency-Key (shared/idempotency): a repeat with the same key and body starts nothing and answers
 * from the first request's analysis (200, or 202 with its poll URL), marked `Idempotent-Replayed: true`;
 * the same key with another body is a 422.
 *
 * An analysis that ended on an upstream failure answers 502 (503 when rate-limited) and says which
 * upstream failed (Binance, or the model provider), with the analysis id and its poll URL in `details`
 * so the record can still be read (GET /analyses/{id} answers 200 with it). Unusable market data answers
 * 422, a budget refusal 429 BUDGET_EXCEEDED, likewise (shared/api/outcome.ts). `backtest_step` analyses see only data up to
 * `timestamp` (the pipeline's clock-gated view) and never execute against the live book.
 */

import { analysisResponse, listAnalyses } from '../../shared/api/analyses';
import { analyzeRequestSchema, listQuerySchema, parseDateInput } from '../../shared/api/contract';
import { analysisOutcomeError } from '../../shared/api/outcome';
import { idParamSchema } from '../../shared/api/routes';
import type { Settings } from '../../shared/config/settings';
import { parseIdempotencyKey, runOnce } from '../../shared/idempotency/idempotency';
import { assertSymbol } from '../../shared/market/candle-store';
import { assertMarketDataAt, createDecision, TERMINAL_STATUSES } from '../../shared/pipeline/analysis';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
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

/** A starter that runs executions in this process and can say when one ends (the local adapters). */
export interface ExecutionAwaiter {
  /** Resolves when the execution ended, or when `timeoutMs` passed (whatever its state then). */
  awaitExecution(executionId: string, opts: { timeoutMs: number }): Promise<unknown>;
}

export interface AnalyzeHandlerDeps {
  container: { settings: Settings; deps: PipelineDeps };
  workflows: WorkflowStarter & Partial<ExecutionAwaiter>;
}

/** How often a waiting POST /analyze re-reads the decision when it cannot await the execution. */
export const ANALYZE_POLL_MS = 25;
const FINAL_STATUSES: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function createAnalyzeHandler(
  { container, workflows }: AnalyzeHandlerDeps,
  options: HttpOptions = {},
) {
  const deps = container.deps;
  return createRouteGroup(
    'analysis',
    [
      {
        method: 'POST',
        path: '/analyze',
        handler: async (req) => {
          const raw = parseJsonObject(req);
          const body = parseWith(analyzeRequestSchema, raw, 'body');
          assertSymbol(body.symbol, container.settings.SYMBOLS);
          const key = parseIdempotencyKey(req.headers[IDEMPOTENCY_HEADER]);
          const start = async () => {
            // Pre-flight: a past timestamp without the data for it is a 422 before anything is recorded.
            if (body.mode === 'backtest_step' && body.timestamp)
              await assertMarketDataAt(deps, {
                symbol: body.symbol,
                timeframe: body.timeframe,
                decisionTime: parseDateInput(body.timestamp),
              });
            const { decisionId } = await createDecision(deps, {
              symbol: body.symbol,
              timeframe: body.timeframe,
              mode: body.mode,
              ...(body.timestamp ? { timestamp: body.timestamp } : {}),
              ...(body.decision_mode ? { decisionMode: body.decision_mode } : {}),
            });
            const { executionId } = await workflows.startAnalysis({ decisionId });
            return { resourceId: decisionId, executionId };
          };
          let decisionId: string;
          let executionId: string | undefined;
          const replayHeaders: Record<string, string> = {};
          if (key) {
            // A retry with the same key starts nothing: it answers from the first request's analysis.
            const once = await runOnce(
              deps.db,
              { scope: 'POST /analyze', key, body: raw, now: deps.now },
              start,
            );
            if (once.replayed) {
              decisionId = once.resourceId;
              replayHeaders[REPLAYED_HEADER] = 'true';
            } else ({ resourceId: decisionId, executionId } = once.result);
          } else ({ resourceId: decisionId, executionId } = await start());
          const poll = `/analyses/${decisionId}`;
          const deadline = Date.now() + (body.wait ? container.settings.ANALYZE_WAIT_MS : 0);
          if (body.wait && executionId && workflows.awaitExecution) {
            // An error here (an unknown execution) only means falling back to polling below.
            await workflows
              .awaitExecution(executionId, { timeoutMs: Math.max(0, deadline - Date.now()) })
              .catch(() => undefined);
          }
          for (;;) {
            const analysis = await analysisResponse(deps, decisionId);
            if (FINAL_STATUSES.has(analysis.status)) {
              const upstream = analysisOutcomeError(analysis, poll);
              if (upstream) throw upstream;
              return json(200, analysis, replayHeaders);
            }
            if (Date.now() >= deadline) {
              return json(
                202,
                { id: decisionId, status: analysis.status, poll },
                { location: poll, ...replayHeaders },
              );
            }
            await sleep(Math.min(ANALYZE_POLL_MS, Math.max(0, deadline - Date.now())));
          }
        },
      },
      {
        method: 'GET',
        path: '/analyses',
        handler: async (req) => {
          const q = parseQuery(req, listQuerySchema);
          return json(200, await listAnalyses(deps, q));
        },
      },
      {
        method: 'GET',
        path: '/analyses/{id}',
        handler: async (req) => {
          const { id } = parseWith(idParamSchema, req.pathParams, 'path');
          return json(200, await analysisResponse(deps, id));
        },
      },
    ],
    options,
  );
}
