/**
 * Every endpoint of the REST API, once: method, path template, the route group (= one handler, one
 * Lambda), and the zod schemas of its inputs and outputs. The OpenAPI document, the local host's
 * dispatch and the CDK API resources all read this table, so an endpoint cannot exist in one and be
 * missing from another.
 */
import { z } from 'zod';
import { studyRequestSchema } from '../studies/request';
import {
  analysesListSchema,
  analysisSchema,
  analyzeAcceptedSchema,
  analyzeRequestSchema,
  backtestAcceptedSchema,
  backtestRequestSchema,
  backtestResumedSchema,
  backtestSchema,
  backtestsListSchema,
  candlesQuerySchema,
  candlesResponseSchema,
  costsResponseSchema,
  dailyCostsQuerySchema,
  dailyCostsResponseSchema,
  healthResponseSchema,
  latestQuerySchema,
  latestResponseSchema,
  listQuerySchema,
  outcomesPageSchema,
  outcomesQuerySchema,
  portfolioHistorySchema,
  portfolioSchema,
  sentimentQuerySchema,
  sentimentResponseSchema,
  symbolSchema,
  symbolsResponseSchema,
  tradesPageSchema,
  tradesQuerySchema,
  wholeNumberQuery,
} from './contract';
import {
  adjustmentSchema,
  adjustmentsListSchema,
  adjustmentsQuerySchema,
  cycleAcceptedSchema,
  cycleSchema,
  cyclesListSchema,
  cyclesQuerySchema,
  learningCycleRequestSchema,
  reviewRequestSchema,
  strategyVersionSchema,
  strategyVersionsSchema,
} from './learning';
import {
  agentPromptsSchema,
  promptAgentParamSchema,
  promptAgentsSchema,
  promptTextSchema,
  promptVersionParamSchema,
} from './prompts';
import { studiesListSchema, studyAcceptedSchema, studyResumedSchema, studySchema } from './studies';

export const ROUTE_GROUPS = [
  'market',
  'analysis',
  'portfolio',
  'backtests',
  'learning',
  'costs',
  'prompts',
  'docs',
] as const;
export type RouteGroup = (typeof ROUTE_GROUPS)[number];

/** Most equity points one `GET /portfolio/history` answers. */
const MAX_HISTORY_POINTS = 5000;

export const portfolioHistoryQuerySchema = z.object({
  limit: wholeNumberQuery('limit', 1, MAX_HISTORY_POINTS).default(1000),
});

export const idParamSchema = z.object({
  id: z.uuid({ error: 'id must be a UUID' }),
});
export const symbolParamSchema = z.object({ symbol: symbolSchema });

export interface RouteSpec {
  group: RouteGroup;
  method: 'GET' | 'POST';
  path: string;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Success responses by status. Errors share errorBodySchema and are added by the generator. */
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  /** Error statuses this route can answer besides 400/500. */
  errors?: number[];
}

export const API_ROUTES: RouteSpec[] = [
  {
    group: 'market',
    method: 'GET',
    path: '/health',
    summary: 'Liveness: the process answers.',
    responses: { 200: { description: 'ok', schema: healthResponseSchema } },
  },
  {
    group: 'market',
    method: 'GET',
    path: '/market/symbols',
    summary: 'Supported symbols and timeframes.',
    responses: { 200: { description: 'symbols', schema: symbolsResponseSchema } },
  },
  {
    group: 'market',
    method: 'GET',
    path: '/market/{symbol}/latest',
    summary: 'Recent closed candles and indicator values for a symbol.',
    params: symbolParamSchema,
    query: latestQuerySchema,
    responses: { 200: { description: 'candles and indicators', schema: latestResponseSchema } },
    // 422: no closed candle of the symbol and timeframe at all (none stored, none from Binance).
    errors: [422, 502, 503],
  },
  {
    group: 'market',
    method: 'GET',
    path: '/market/{symbol}/sentiment',
    summary:
      'Market-sentiment series (Fear & Greed Index, Binance funding rate; open interest and long/short ratio when enabled) over the span of the last `limit` bars of `timeframe`, and the summary the sentiment analyst would get now. A source that fails is reported in the answer (its `error`, `summary.missing`), not as an HTTP error.',
    params: symbolParamSchema,
    query: sentimentQuerySchema,
    responses: { 200: { description: 'sentiment series and summary', schema: sentimentResponseSchema } },
  },
  {
    group: 'market',
    method: 'GET',
    path: '/market/{symbol}/candles',
    summary:
      'Closed candles of a past period (start to end, at most 1000 bars of the timeframe), e.g. to draw a backtest.',
    params: symbolParamSchema,
    query: candlesQuerySchema,
    responses: { 200: { description: 'candles and the gaps in the range', schema: candlesResponseSchema } },
    errors: [422, 502, 503],
  },
  {
    group: 'analysis',
    method: 'POST',
    path: '/analyze',
    summary:
      'Run the agent firm on a symbol. Waits a bounded time (ANALYZE_WAIT_MS): 200 with the analysis, or 202 with a URL to poll. An analysis that ended on an upstream failure answers 502 (503 when rate-limited) saying whether Binance or the model provider failed, and unusable market data 422; `error.details` holds the analysis id and its poll URL (the record stays readable).',
    body: analyzeRequestSchema,
    responses: {
      200: { description: 'the finished analysis', schema: analysisSchema },
      202: { description: 'still running: poll the URL', schema: analyzeAcceptedSchema },
    },
    errors: [422, 429, 502, 503],
  },
  {
    group: 'analysis',
    method: 'GET',
    path: '/analyses',
    summary: 'Recent analyses, newest first (cursor paginated).',
    query: listQuerySchema,
    responses: { 200: { description: 'a page of analyses', schema: analysesListSchema } },
  },
  {
    group: 'analysis',
    method: 'GET',
    path: '/analyses/{id}',
    summary: 'One analysis with every agent output, the final decision and its cost.',
    params: idParamSchema,
    responses: { 200: { description: 'the analysis', schema: analysisSchema } },
    errors: [404],
  },
  {
    group: 'portfolio',
    method: 'GET',
    path: '/portfolio',
    summary: 'The live simulated book, marked to the latest prices.',
    responses: { 200: { description: 'the live portfolio', schema: portfolioSchema } },
  },
  {
    group: 'portfolio',
    method: 'GET',
    path: '/portfolio/history',
    summary: 'Equity snapshots of the live book, oldest first.',
    query: portfolioHistoryQuerySchema,
    responses: { 200: { description: 'equity points', schema: portfolioHistorySchema } },
  },
  {
    group: 'portfolio',
    method: 'GET',
    path: '/trades',
    summary: 'Trades, newest first (cursor paginated; live book unless run_id is given).',
    query: tradesQuerySchema,
    responses: { 200: { description: 'a page of trades', schema: tradesPageSchema } },
  },
  {
    group: 'portfolio',
    method: 'GET',
    path: '/outcomes',
    summary:
      'Trade outcomes (closed round trips, FIFO lots), newest first, with aggregates: win rate, mean PnL %, payoff ratio, by regime, exit reason and researcher confidence (live book unless run_id is given).',
    query: outcomesQuerySchema,
    responses: { 200: { description: 'a page of outcomes and the aggregates', schema: outcomesPageSchema } },
  },
  {
    group: 'backtests',
    method: 'POST',
    path: '/backtest',
    summary: 'Start an LLM backtest. Answers 202 with the pre-flight cost estimate and a URL to poll.',
    body: backtestRequestSchema,
    responses: { 202: { description: 'accepted', schema: backtestAcceptedSchema } },
    errors: [422, 429, 502, 503],
  },
  {
    group: 'backtests',
    method: 'GET',
    path: '/backtests',
    summary: 'Backtests, newest first (cursor paginated).',
    query: listQuerySchema,
    responses: { 200: { description: 'a page of backtests', schema: backtestsListSchema } },
  },
  {
    group: 'backtests',
    method: 'GET',
    path: '/backtests/{id}',
    summary:
      'Status and progress; when done the metrics, equity curve, buy-and-hold, trades, decisions and LLM spend.',
    params: idParamSchema,
    responses: { 200: { description: 'the backtest', schema: backtestSchema } },
    errors: [404],
  },
  {
    group: 'backtests',
    method: 'POST',
    path: '/backtests/{id}/resume',
    summary:
      'Resume a finished backtest that has failed decisions (provider, Binance or budget errors, or points a stopped run never reached): only those are decided again; the decisions already made are kept at no cost, then the run is simulated again. 202 with what will run; 409 when it is running or has nothing to resume.',
    params: idParamSchema,
    responses: { 202: { description: 'resumed', schema: backtestResumedSchema } },
    errors: [404, 409],
  },
  {
    group: 'backtests',
    method: 'POST',
    path: '/studies',
    summary:
      'Start a study: symbols x windows x variants (each a backtest) plus baselines. 202 with the cell count and the pre-flight estimate; over STUDY_MAX_DECISIONS a 400 saying how large.',
    body: studyRequestSchema,
    responses: { 202: { description: 'accepted', schema: studyAcceptedSchema } },
    errors: [422, 429, 501, 502, 503],
  },
  {
    group: 'backtests',
    method: 'GET',
    path: '/studies',
    summary: 'Studies, newest first (cursor paginated).',
    query: listQuerySchema,
    responses: { 200: { description: 'a page of studies', schema: studiesListSchema } },
  },
  {
    group: 'backtests',
    method: 'GET',
    path: '/studies/{id}',
    summary:
      'Status and progress per cell; when done, the report (per variant and baseline, split by sample).',
    params: idParamSchema,
    responses: { 200: { description: 'the study', schema: studySchema } },
    errors: [404],
  },
  {
    group: 'backtests',
    method: 'POST',
    path: '/studies/{id}/resume',
    summary:
      'Resume a finished study: each failed cell, and each cell whose backtest has failed decisions, runs again as a backtest resumes (only the failed or never-reached decisions are decided again; the decisions already made are kept at no cost); then the report is built again. 202 with what will run; 409 when it is running or has nothing to resume.',
    params: idParamSchema,
    responses: { 202: { description: 'resumed', schema: studyResumedSchema } },
    errors: [404, 409, 501],
  },
  {
    group: 'backtests',
    method: 'GET',
    path: '/studies/{id}/cells.csv',
    summary: 'The cells of a study as CSV, one line per cell (returns as fractions).',
    params: idParamSchema,
    responses: { 200: { description: 'CSV', contentType: 'text/csv' } },
    errors: [404],
  },
  {
    group: 'learning',
    method: 'POST',
    path: '/learning/cycles',
    summary:
      'Run a learning cycle on the live book now (the Learning workflow: summary of the closed outcomes, learning agent, strategy builder, validation and the auto-apply policy). 202 with the URL to poll.',
    body: learningCycleRequestSchema,
    responses: { 202: { description: 'accepted', schema: cycleAcceptedSchema } },
    errors: [501, 502, 503],
  },
  {
    group: 'learning',
    method: 'GET',
    path: '/learning/cycles',
    summary:
      'Learning cycles of the live book, newest first (or of one backtest with backtest_id, in time order).',
    query: cyclesQuerySchema,
    responses: { 200: { description: 'cycles', schema: cyclesListSchema } },
  },
  {
    group: 'learning',
    method: 'GET',
    path: '/learning/cycles/{id}',
    summary:
      'One learning cycle: its summary of the outcomes read, the patterns, the proposals and their fate, and its LLM cost.',
    params: idParamSchema,
    responses: { 200: { description: 'the cycle', schema: cycleSchema } },
    errors: [404],
  },
  {
    group: 'learning',
    method: 'GET',
    path: '/adjustments',
    summary:
      'Proposed strategy changes of the live book, newest first, optionally of one status (pending: waiting for review).',
    query: adjustmentsQuerySchema,
    responses: { 200: { description: 'adjustments', schema: adjustmentsListSchema } },
  },
  {
    group: 'learning',
    method: 'POST',
    path: '/adjustments/{id}/approve',
    summary:
      'Apply a pending proposal as a new strategy version. 409 (nothing changes) when it is stale: its parameter changed since it was proposed, or it is not pending.',
    params: idParamSchema,
    body: reviewRequestSchema,
    responses: { 200: { description: 'the applied adjustment', schema: adjustmentSchema } },
    errors: [404, 409, 501],
  },
  {
    group: 'learning',
    method: 'POST',
    path: '/adjustments/{id}/reject',
    summary: 'Reject a pending proposal (409 when it is not pending).',
    params: idParamSchema,
    body: reviewRequestSchema,
    responses: { 200: { description: 'the rejected adjustment', schema: adjustmentSchema } },
    errors: [404, 409],
  },
  {
    group: 'learning',
    method: 'POST',
    path: '/adjustments/{id}/rollback',
    summary:
      "Apply an applied change's old value as a NEW strategy version (history is never rewritten). 409 when the parameter changed again since.",
    params: idParamSchema,
    body: reviewRequestSchema,
    responses: { 200: { description: 'the rolled-back adjustment', schema: adjustmentSchema } },
    errors: [404, 409, 501],
  },
  {
    group: 'learning',
    method: 'GET',
    path: '/strategy',
    summary: 'The strategy version in force for the live book: its parameters and what made it.',
    responses: { 200: { description: 'the version in force', schema: strategyVersionSchema } },
  },
  {
    group: 'learning',
    method: 'GET',
    path: '/strategy/versions',
    summary:
      "The live book's strategy versions, oldest first: what each changed and why, who applied it, and its results since (closed outcomes whose entry ran under it).",
    responses: { 200: { description: 'the versions', schema: strategyVersionsSchema } },
  },
  {
    group: 'costs',
    method: 'GET',
    path: '/costs',
    summary: "Today's LLM tokens and USD against the daily budget, by agent and model, and cache savings.",
    responses: { 200: { description: 'cost report', schema: costsResponseSchema } },
  },
  {
    group: 'costs',
    method: 'GET',
    path: '/costs/daily',
    summary:
      'The last `days` (default 30, at most 90) UTC days per agent: calls, tokens in/out, USD, mean and p95 latency, errors, abstentions, cache hits, refusals; with the dollar budget in force each day.',
    query: dailyCostsQuerySchema,
    responses: { 200: { description: 'daily metrics', schema: dailyCostsResponseSchema } },
  },
  {
    group: 'prompts',
    method: 'GET',
    path: '/prompts',
    summary:
      "Every agent's prompt in the registry: its active version (the one decisions use without an A/B arm or a backtest pin), its builtin version, how many versions it has, and the versions PROMPT_AB tests.",
    responses: { 200: { description: 'the agents', schema: promptAgentsSchema } },
  },
  {
    group: 'prompts',
    method: 'GET',
    path: '/prompts/{agent}',
    summary:
      "One agent's prompt versions, newest first: origin (builtin, manual, learning), parent, first seen, whether active or in the A/B test, and each version's score from the outcomes of the decisions that used it (count beside win rate and mean PnL %, for the live book, backtests and both).",
    params: promptAgentParamSchema,
    responses: { 200: { description: 'the versions with their scores', schema: agentPromptsSchema } },
    errors: [404],
  },
  {
    group: 'prompts',
    method: 'GET',
    path: '/prompts/{agent}/{version}',
    summary: 'One prompt version with its whole text (the system message the model reads).',
    params: promptVersionParamSchema,
    responses: { 200: { description: 'the version and its text', schema: promptTextSchema } },
    errors: [404],
  },
  {
    group: 'docs',
    method: 'GET',
    path: '/openapi.json',
    summary: 'This OpenAPI 3.1 document.',
    responses: { 200: { description: 'OpenAPI document' } },
  },
  {
    group: 'docs',
    method: 'GET',
    path: '/docs',
    summary: 'Browsable API documentation (HTML).',
    responses: { 200: { description: 'HTML page', contentType: 'text/html' } },
  },
];

/** The group whose handler serves `path`, or undefined (a 404 for the host). */
export function groupForPath(path: string): RouteGroup | undefined {
  for (const r of API_ROUTES) {
    const pattern = `^${r.path.replace(/\{\w+\}/g, '[^/]+')}/?$`;
    if (new RegExp(pattern).test(path)) return r.group;
  }
  return undefined;
}
