/**
 * The web app's only door to the product: a small typed client over the REST API. Every response is
 * validated with the contract's zod schema (shared/api/contract.ts), so a drifted server shows up as a
 * clear error on screen instead of `undefined` deep in a view.
 *
 * Every failure becomes an `ApiError` carrying the API's own code and message (from its
 * `{ error: { code, message, details } }` body) plus a hint saying what the user can do about it.
 * Network failures and non-contract answers get codes of their own (NETWORK, BAD_RESPONSE, HTTP_<n>).
 *
 * Writes: each user action (an analysis, a backtest) sends one `Idempotency-Key`, so a retry of the
 * same action cannot trade twice. When the deployment has a write key, the first write that is refused
 * for it (WRITE_KEY_REQUIRED / WRITE_KEY_INVALID) asks for the key once (`writeKey.ask`), keeps it for
 * the session (`writeKey.get`/`set`, sessionStorage in the app) and retries with the same idempotency key.
 */

import type { z } from 'zod';
import {
  type AnalysisDto,
  analysesListSchema,
  analysisSchema,
  analyzeAcceptedSchema,
  type BacktestDto,
  type BacktestRequest,
  backtestAcceptedSchema,
  backtestResumedSchema,
  backtestSchema,
  backtestsListSchema,
  candlesResponseSchema,
  costsResponseSchema,
  dailyCostsResponseSchema,
  errorBodySchema,
  healthResponseSchema,
  latestResponseSchema,
  outcomesPageSchema,
  portfolioHistorySchema,
  portfolioSchema,
  sentimentResponseSchema,
  symbolsResponseSchema,
  tradesPageSchema,
} from '../../../shared/api/contract';
import {
  adjustmentSchema,
  adjustmentsListSchema,
  cycleAcceptedSchema,
  cycleSchema,
  cyclesListSchema,
  strategyVersionSchema,
  strategyVersionsSchema,
} from '../../../shared/api/learning';
import { agentPromptsSchema, promptAgentsSchema, promptTextSchema } from '../../../shared/api/prompts';
import {
  studiesListSchema,
  studyAcceptedSchema,
  studyResumedSchema,
  studySchema,
} from '../../../shared/api/studies';

export class ApiError extends Error {
  constructor(
    /** The API's error code (VALIDATION_ERROR, NOT_FOUND, ...) or NETWORK / BAD_RESPONSE / HTTP_<status>. */
    readonly code: string,
    message: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** What the user can do next, in one sentence. */
  get hint(): string {
    return hintFor(this.code, this.status);
  }
}

export function hintFor(code: string, status: number): string {
  switch (code) {
    case 'NETWORK':
      return 'Check that the server is running (npm start) and that your network is up, then retry.';
    case 'BAD_RESPONSE':
      return 'The server and this page disagree on the API contract: rebuild the web app (npm run build:web) and reload.';
    case 'VALIDATION_ERROR':
    case 'UNKNOWN_SYMBOL':
    case 'UNSUPPORTED_TIMEFRAME':
      return 'Correct the input named in the message and try again.';
    case 'NOT_FOUND':
      return 'Check the link, or pick an item from its list.';
    case 'INSUFFICIENT_DATA':
    case 'DATA_GAP':
      return 'Not enough candles for this: import more history (npm run cli -- import), or for a backtest choose a later start date or a longer range.';
    case 'BUDGET_EXCEEDED':
      return 'The daily token budget is spent: wait for the next UTC day or raise DAILY_TOKEN_BUDGET.';
    case 'CONFLICT':
      return 'Another run is using this resource: wait for it to finish and retry.';
    case 'WRITE_KEY_REQUIRED':
    case 'WRITE_KEY_INVALID':
      return 'This deployment needs its write key for analyses and backtests: ask its owner (the WriteKeySecretArn output).';
    case 'CROSS_ORIGIN':
      return 'Writes are accepted only from this site itself: open the app from its own address.';
    case 'IDEMPOTENCY_KEY_REUSED':
      return 'Reload the page and try again.';
    case 'UPSTREAM_BINANCE':
    case 'UPSTREAM_BINANCE_RATE_LIMITED':
      return 'Binance market data is unavailable right now: retry in a minute.';
    case 'UPSTREAM_LLM':
    case 'UPSTREAM_LLM_RATE_LIMITED':
    case 'UPSTREAM_LLM_UNAVAILABLE':
    case 'LLM_TIMEOUT':
    case 'LLM_INVALID_OUTPUT':
      return 'The language model provider failed: retry in a minute, or switch to the offline provider.';
    default:
      return status >= 500 || status === 0
        ? 'Retry in a moment; if it keeps failing, check the server logs.'
        : 'Check the request and try again.';
  }
}

export interface PageQuery {
  limit?: number;
  cursor?: string | null;
}

/** POST /analyze answers 200 with the analysis, or 202 with a URL to poll while the workflow runs. */
export type AnalyzeOutcome =
  | { kind: 'done'; analysis: AnalysisDto }
  | { kind: 'accepted'; id: string; poll: string };

export interface WriteKeyStore {
  get(): string | null;
  set(key: string | null): void;
  /** Ask the user for the key (the reason says why); null when they decline. */
  ask(reason: string): string | null;
}

export interface ApiClientOptions {
  /** '' for same-origin (local host); the API's URL on AWS. No trailing slash needed. */
  baseUrl: string;
  fetch?: typeof fetch;
  /** Where the write key lives, when the deployment has one. */
  writeKey?: WriteKeyStore;
  /** A new idempotency key per write (default crypto.randomUUID). */
  newIdempotencyKey?: () => string;
}

const WRITE_KEY_CODES = new Set(['WRITE_KEY_REQUIRED', 'WRITE_KEY_INVALID']);

type Query = Record<string, string | number | null | undefined>;

export function createApiClient(options: ApiClientOptions) {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const newKey = options.newIdempotencyKey ?? (() => globalThis.crypto.randomUUID());

  function url(path: string, query?: Query): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined && v !== null) params.set(k, String(v));
    const qs = params.toString();
    return `${baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /** A write: one idempotency key for the action, and the write key asked for once if needed. */
  async function write(path: string, body: unknown, signal?: AbortSignal) {
    const idempotencyKey = newKey();
    try {
      return await send('POST', path, { body, signal, idempotencyKey });
    } catch (e) {
      const store = options.writeKey;
      if (!(e instanceof ApiError) || !WRITE_KEY_CODES.has(e.code) || !store) throw e;
      const asked = store.ask(
        e.code === 'WRITE_KEY_INVALID'
          ? 'That write key was not accepted. Enter the write key of this deployment:'
          : 'This deployment needs a write key to run analyses and backtests. Enter it:',
      );
      if (!asked) throw e;
      store.set(asked);
      try {
        return await send('POST', path, { body, signal, idempotencyKey });
      } catch (again) {
        if (again instanceof ApiError && WRITE_KEY_CODES.has(again.code)) store.set(null);
        throw again;
      }
    }
  }

  async function send(
    method: 'GET' | 'POST',
    path: string,
    opts: { query?: Query; body?: unknown; signal?: AbortSignal; idempotencyKey?: string } = {},
  ): Promise<{ status: number; json: unknown }> {
    let res: Response;
    const writeKey = method === 'POST' ? options.writeKey?.get() : null;
    try {
      res = await doFetch(url(path, opts.query), {
        method,
        headers: {
          accept: 'application/json',
          ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}),
          ...(writeKey ? { 'x-write-key': writeKey } : {}),
        },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new ApiError('NETWORK', `Could not reach the API at ${baseUrl || 'this site'}${path}.`, 0);
    }
    const text = await res.text();
    let json: unknown = null;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!res.ok) {
      const body = errorBodySchema.safeParse(json);
      if (body.success) {
        const e = body.data.error;
        throw new ApiError(e.code, e.message, res.status, e.details);
      }
      throw new ApiError(
        `HTTP_${res.status}`,
        `The API answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''} without an error message.`,
        res.status,
      );
    }
    if (json === undefined) {
      throw new ApiError('BAD_RESPONSE', `The API's answer to ${method} ${path} was not JSON.`, res.status);
    }
    return { status: res.status, json };
  }

  function parse<S extends z.ZodType>(schema: S, json: unknown, what: string, status: number): z.infer<S> {
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first?.path.length ? first.path.join('.') : '(root)';
      throw new ApiError(
        'BAD_RESPONSE',
        `The API's answer to ${what} does not match the contract: ${where}: ${first?.message ?? 'invalid'}.`,
        status,
      );
    }
    return parsed.data;
  }

  async function get<S extends z.ZodType>(
    schema: S,
    path: string,
    query?: Query,
    signal?: AbortSignal,
  ): Promise<z.infer<S>> {
    const { status, json } = await send('GET', path, { query, signal });
    return parse(schema, json, `GET ${path}`, status);
  }

  const enc = encodeURIComponent;

  return {
    baseUrl,
    health: (signal?: AbortSignal) => get(healthResponseSchema, '/health', undefined, signal),
    symbols: (signal?: AbortSignal) => get(symbolsResponseSchema, '/market/symbols', undefined, signal),
    latest: (symbol: string, q: { timeframe: string; limit: number }, signal?: AbortSignal) =>
      get(latestResponseSchema, `/market/${enc(symbol)}/latest`, q, signal),
    /** The Fear & Greed and funding series over the last `limit` bars, and the analyst's summary now. */
    sentiment: (symbol: string, q: { timeframe: string; limit: number }, signal?: AbortSignal) =>
      get(sentimentResponseSchema, `/market/${enc(symbol)}/sentiment`, q, signal),
    /** Closed candles of a past period (at most 1000 bars of the timeframe). */
    candles: (symbol: string, q: { timeframe: string; start: string; end?: string }, signal?: AbortSignal) =>
      get(candlesResponseSchema, `/market/${enc(symbol)}/candles`, q, signal),

    async analyze(
      req: { symbol: string; timeframe?: string; decisionMode?: 'pipeline' | 'consensus' },
      signal?: AbortSignal,
    ): Promise<AnalyzeOutcome> {
      const { status, json } = await write(
        '/analyze',
        {
          symbol: req.symbol,
          mode: 'live',
          ...(req.timeframe ? { timeframe: req.timeframe } : {}),
          ...(req.decisionMode ? { decision_mode: req.decisionMode } : {}),
        },
        signal,
      );
      if (status === 202) {
        const accepted = parse(analyzeAcceptedSchema, json, 'POST /analyze', status);
        return { kind: 'accepted', id: accepted.id, poll: accepted.poll };
      }
      return { kind: 'done', analysis: parse(analysisSchema, json, 'POST /analyze', status) };
    },
    analysis: (id: string, signal?: AbortSignal) =>
      get(analysisSchema, `/analyses/${enc(id)}`, undefined, signal),
    analyses: (q: PageQuery = {}, signal?: AbortSignal) =>
      get(analysesListSchema, '/analyses', { ...q }, signal),

    portfolio: (signal?: AbortSignal) => get(portfolioSchema, '/portfolio', undefined, signal),
    portfolioHistory: (signal?: AbortSignal) =>
      get(portfolioHistorySchema, '/portfolio/history', undefined, signal),
    trades: (q: PageQuery & { run_id?: string } = {}, signal?: AbortSignal) =>
      get(tradesPageSchema, '/trades', { ...q }, signal),
    outcomes: (q: PageQuery & { run_id?: string } = {}, signal?: AbortSignal) =>
      get(outcomesPageSchema, '/outcomes', { ...q }, signal),

    async startBacktest(req: BacktestRequest, signal?: AbortSignal) {
      const { status, json } = await write('/backtest', req, signal);
      return parse(backtestAcceptedSchema, json, 'POST /backtest', status);
    },
    /** Rerun only the failed decisions of a finished backtest (POST /backtests/{id}/resume). */
    async resumeBacktest(id: string, signal?: AbortSignal) {
      const { status, json } = await write(`/backtests/${enc(id)}/resume`, {}, signal);
      return parse(backtestResumedSchema, json, 'POST /backtests/{id}/resume', status);
    },
    backtest: (id: string, signal?: AbortSignal): Promise<BacktestDto> =>
      get(backtestSchema, `/backtests/${enc(id)}`, undefined, signal),
    backtests: (q: PageQuery = {}, signal?: AbortSignal) =>
      get(backtestsListSchema, '/backtests', { ...q }, signal),

    async startStudy(req: unknown, signal?: AbortSignal) {
      const { status, json } = await send('POST', '/studies', { body: req, signal });
      return parse(studyAcceptedSchema, json, 'POST /studies', status);
    },
    /** Rerun a finished study's failed and flagged cells (POST /studies/{id}/resume). */
    async resumeStudy(id: string, signal?: AbortSignal) {
      const { status, json } = await write(`/studies/${enc(id)}/resume`, {}, signal);
      return parse(studyResumedSchema, json, 'POST /studies/{id}/resume', status);
    },
    study: (id: string, signal?: AbortSignal) => get(studySchema, `/studies/${enc(id)}`, undefined, signal),
    studies: (q: PageQuery = {}, signal?: AbortSignal) =>
      get(studiesListSchema, '/studies', { ...q }, signal),

    /** The learning loop: cycles, proposals and their review, strategy versions. */
    async startLearningCycle(signal?: AbortSignal) {
      const { status, json } = await write('/learning/cycles', {}, signal);
      return parse(cycleAcceptedSchema, json, 'POST /learning/cycles', status);
    },
    learningCycles: (signal?: AbortSignal) =>
      get(cyclesListSchema, '/learning/cycles', { limit: 20 }, signal),
    learningCycle: (id: string, signal?: AbortSignal) =>
      get(cycleSchema, `/learning/cycles/${enc(id)}`, undefined, signal),
    adjustments: (q: { status?: string } = {}, signal?: AbortSignal) =>
      get(adjustmentsListSchema, '/adjustments', { ...q }, signal),
    /** Approve, reject or roll back a proposal; a stale one is an ApiError CONFLICT (409). */
    async reviewAdjustment(id: string, action: 'approve' | 'reject' | 'rollback', signal?: AbortSignal) {
      const path = `/adjustments/${enc(id)}/${action}`;
      const { status, json } = await write(path, {}, signal);
      return parse(adjustmentSchema, json, `POST ${path}`, status);
    },
    strategy: (signal?: AbortSignal) => get(strategyVersionSchema, '/strategy', undefined, signal),
    strategyVersions: (signal?: AbortSignal) =>
      get(strategyVersionsSchema, '/strategy/versions', undefined, signal),

    costs: (signal?: AbortSignal) => get(costsResponseSchema, '/costs', undefined, signal),
    dailyCosts: (days: number, signal?: AbortSignal) =>
      get(dailyCostsResponseSchema, '/costs/daily', { days }, signal),

    /** The prompt registry: every agent, one agent's versions with their scores, one version's text. */
    prompts: (signal?: AbortSignal) => get(promptAgentsSchema, '/prompts', undefined, signal),
    agentPrompts: (agent: string, signal?: AbortSignal) =>
      get(agentPromptsSchema, `/prompts/${enc(agent)}`, undefined, signal),
    promptText: (agent: string, version: string, signal?: AbortSignal) =>
      get(promptTextSchema, `/prompts/${enc(agent)}/${enc(version)}`, undefined, signal),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;

/** Analysis statuses after which the pipeline will not change the record any more. */
export function isAnalysisSettled(a: Pick<AnalysisDto, 'status'>): boolean {
  return a.status !== 'pending' && a.status !== 'running';
}

export function isBacktestSettled(b: Pick<BacktestDto, 'status'>): boolean {
  return b.status === 'succeeded' || b.status === 'failed';
}

/**
 * Run an analysis to its end: POST /analyze, then (on 202) poll GET /analyses/{id} until it settles.
 * `onAccepted` lets the caller show the id while the workflow runs.
 */
export async function runAnalysisToEnd(
  api: ApiClient,
  req: { symbol: string; timeframe?: string; decisionMode?: 'pipeline' | 'consensus' },
  opts: { pollMs: number; signal?: AbortSignal; onAccepted?: (id: string) => void },
): Promise<AnalysisDto> {
  const first = await api.analyze(req, opts.signal);
  if (first.kind === 'done') return first.analysis;
  opts.onAccepted?.(first.id);
  for (;;) {
    await sleep(opts.pollMs, opts.signal);
    const a = await api.analysis(first.id, opts.signal);
    if (isAnalysisSettled(a)) return a;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
