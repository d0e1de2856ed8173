/**
 * The API's small shared HTTP layer: a router for one route group, the middy middlewares every group
 * uses (request id, structured access log, JSON errors, CORS), and the request parsers that turn zod
 * issues into 400s naming the field.
 *
 * Design decisions:
 * - One route group = one API Gateway REST proxy handler (APIGatewayProxyEvent -> result). The group
 *   routes within itself, so the same function serves a Lambda behind `/{proxy+}`-style resources and
 *   the local node:http host, which only translates a request into an event.
 * - A path that matches a route of the group with another method is a 405 with an `Allow` header; a
 *   path the group does not know is a 404. Both are JSON like every other error.
 * - Errors are values on the way out: an AppError keeps its code and status; anything else is logged
 *   with its stack and answered as a 500 INTERNAL with a generic message, so no stack trace, SQL text
 *   or file path ever reaches a client.
 * - CORS is off unless origins are configured, and then exact: a request whose `Origin` is listed gets
 *   that origin back in Access-Control-Allow-Origin (with `Vary: Origin`); any other origin gets no CORS
 *   header, so the browser refuses the call and its preflight. Never `*`: `POST /analyze` trades the
 *   live simulated book and spends LLM tokens, and any page a user visits could otherwise call a local
 *   host on localhost. The web app is served same-origin (locally, and under CloudFront's /api/* on AWS).
 * - Who may write is decided before any route runs (security.ts, the same rules in both hosts): a write
 *   from another site is 403 CROSS_ORIGIN, a write without the configured write key 401/403, a write
 *   that is not JSON 415. Every answer carries nosniff, a Referrer-Policy and a CSP that lets nothing run
 *   (the docs page brings its own, with hashes for its one script and style).
 * - Query strings are strict: a parameter the route does not take is a 400 naming it and the ones it
 *   takes (`?limt=5` would otherwise pass unnoticed). The allowed names come from the route's query
 *   schema in shared/api/routes.ts, so the OpenAPI document and the check cannot disagree.
 * - Validation messages always name the field ("max_decisions: ..."), and `details.field` carries the
 *   first offending field, so a client (and the test corpus) can point at it.
 */
import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import pino, { type Logger } from 'pino';
import type { z } from 'zod';
import { API_ROUTES } from '../../shared/api/routes';
import { AppError, isAppError } from '../../shared/util/errors';
import { parseOrThrow } from '../../shared/util/validation';
import type { AppLogger } from '../runtime/logger';
import { API_SECURITY_HEADERS, guardRequest, WRITE_KEY_HEADER } from './security';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type ApiEvent = APIGatewayProxyEvent;
export type ApiResult = APIGatewayProxyResult;
export type ApiHandler = (event: ApiEvent, context?: Partial<Context>) => Promise<ApiResult>;

export interface ApiRequest {
  method: string;
  path: string;
  pathParams: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string | null;
  requestId: string;
  log: AppLogger;
}

export interface ApiReply {
  status: number;
  /** JSON body (serialized here), unless `text` is given. */
  body?: unknown;
  /** A non-JSON body (the docs page), sent as is with its content type. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export type RouteHandler = (req: ApiRequest) => Promise<ApiReply>;
export interface Route {
  method: HttpMethod;
  /** API Gateway style template: `/analyses/{id}`. */
  path: string;
  handler: RouteHandler;
  /**
   * The query parameters the route takes; any other is a 400. Default: the keys of the route's query
   * schema in API_ROUTES (none for a route without one).
   */
  query?: readonly string[];
}

export interface HttpOptions {
  /** pino locally, Powertools' Logger on Lambda (functions/runtime/logger.ts). */
  logger?: AppLogger;
  /**
   * Exact origins (`http://localhost:5173`) a browser on another origin may call from: a list, or a
   * comma-separated string as in the CORS_ORIGIN setting. Undefined or empty: no CORS headers at all.
   * `*` is ignored (see the header comment).
   */
  corsOrigin?: string | readonly string[];
  /** When set, every write must carry this key in X-Write-Key (AWS `-c writeKey=true`). */
  writeKey?: string | undefined;
}

/** The request header a client names a write's idempotency key in (shared/idempotency). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Set on the answer of a repeat that ran nothing and answered from the first request. */
export const REPLAYED_HEADER = 'idempotent-replayed';

const JSON_TYPE = 'application/json; charset=utf-8';
/** Request ids from clients are echoed back; bound them so a header cannot flood the logs. */
const MAX_REQUEST_ID_LENGTH = 100;

let defaultLogger: Logger | undefined;
/** The process-wide structured logger (pino, JSON lines on stdout). */
export function apiLogger(): Logger {
  defaultLogger ??= pino({ name: 'api', level: process.env.LOG_LEVEL ?? 'info' });
  return defaultLogger;
}

// ---------- path templates ----------

interface CompiledRoute extends Route {
  regex: RegExp;
  names: string[];
}

export function compilePath(template: string): { regex: RegExp; names: string[] } {
  const names: string[] = [];
  const pattern = template
    .split('/')
    .map((segment) => {
      const m = /^\{(\w+)\}$/.exec(segment);
      if (m?.[1]) {
        names.push(m[1]);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { regex: new RegExp(`^${pattern}/?$`), names };
}

function matchCompiled(route: { regex: RegExp; names: string[] }, path: string) {
  const m = route.regex.exec(path);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  route.names.forEach((name, i) => {
    const raw = m[i + 1] ?? '';
    try {
      params[name] = decodeURIComponent(raw);
    } catch {
      params[name] = raw;
    }
  });
  return params;
}

// ---------- responses ----------

export function json(status: number, body: unknown, headers?: Record<string, string>): ApiReply {
  return { status, body, ...(headers ? { headers } : {}) };
}

// ---------- CORS ----------

/** An origin as browsers send it (`scheme://host[:port]`, lower-case host), or undefined if not one. */
function normalizeOrigin(value: string): string | undefined {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed === '*') return undefined;
  try {
    const origin = new URL(trimmed).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** The configured CORS origins as a set of exact origins (`*` and non-URLs dropped). */
export function allowedOrigins(corsOrigin: HttpOptions['corsOrigin']): ReadonlySet<string> {
  const list = typeof corsOrigin === 'string' ? corsOrigin.split(',') : (corsOrigin ?? []);
  const out = new Set<string>();
  for (const entry of list) {
    const origin = normalizeOrigin(entry);
    if (origin) out.add(origin);
  }
  return out;
}

/** The CORS headers of one answer: none without configured origins, the grant only for a listed one. */
export function corsHeaders(
  allowed: ReadonlySet<string>,
  requestOrigin: string | undefined,
): Record<string, string> {
  if (allowed.size === 0) return {};
  // The answer depends on the Origin header whenever origins are configured; caches must key on it.
  if (requestOrigin === undefined || !allowed.has(requestOrigin)) return { vary: 'Origin' };
  return {
    vary: 'Origin',
    'access-control-allow-origin': requestOrigin,
    'access-control-allow-headers': `content-type, x-request-id, ${IDEMPOTENCY_HEADER}, ${WRITE_KEY_HEADER}`,
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-expose-headers': `x-request-id, ${REPLAYED_HEADER}`,
  };
}

function toResult(reply: ApiReply, requestId: string, cors: Record<string, string>): ApiResult {
  const headers: Record<string, string> = {
    'content-type': reply.contentType ?? JSON_TYPE,
    'x-request-id': requestId,
    'cache-control': 'no-store',
    ...API_SECURITY_HEADERS,
    ...cors,
    ...reply.headers,
  };
  const body =
    reply.text !== undefined ? reply.text : reply.body === undefined ? '' : JSON.stringify(reply.body);
  return { statusCode: reply.status, headers, body };
}

/** Map any thrown value to the public error body. Never includes a stack trace. */
export function errorReply(err: unknown, log: AppLogger): ApiReply {
  if (isAppError(err)) {
    if (err.status >= 500)
      log.warn(
        { err: { code: err.code, message: err.message }, cause: describe(err.cause) },
        'upstream or server error',
      );
    return json(err.status, { error: err.toJSON() });
  }
  log.error({ err }, 'unhandled error');
  return json(500, {
    error: { code: 'INTERNAL', message: 'Internal server error. The details are in the server log.' },
  });
}

function describe(cause: unknown): unknown {
  if (cause instanceof Error) return { name: cause.name, message: cause.message };
  return cause;
}

// ---------- request parsing ----------

export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  where: 'body' | 'query' | 'path',
): z.output<S> {
  return parseOrThrow(schema, input, where);
}

/** The JSON body as an object (an empty body is `{}`): malformed JSON and non-objects are 400s. */
export function parseJsonObject(req: ApiRequest): object {
  let value: unknown = {};
  if (req.body !== null && req.body.trim() !== '') {
    try {
      value = JSON.parse(req.body);
    } catch {
      throw new AppError('VALIDATION_ERROR', 'body: the request body is not valid JSON', { field: 'body' });
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AppError('VALIDATION_ERROR', 'body: the request body must be a JSON object', { field: 'body' });
  }
  return value;
}

/** Parse a JSON body: malformed JSON and non-objects are 400s before the schema runs. */
export function parseBody<S extends z.ZodType>(req: ApiRequest, schema: S): z.output<S> {
  return parseWith(schema, parseJsonObject(req), 'body');
}

export function parseQuery<S extends z.ZodType>(req: ApiRequest, schema: S): z.output<S> {
  return parseWith(schema, req.query, 'query');
}

// ---------- strict query strings ----------

/** The query keys each route of API_ROUTES takes, by `METHOD path`. */
const QUERY_KEYS: ReadonlyMap<string, readonly string[]> = new Map(
  API_ROUTES.map((r) => {
    const shape = (r.query as { shape?: Record<string, unknown> } | undefined)?.shape;
    return [`${r.method} ${r.path}`, Object.keys(shape ?? {})];
  }),
);

export function queryKeysOf(route: Pick<Route, 'method' | 'path' | 'query'>): readonly string[] {
  return route.query ?? QUERY_KEYS.get(`${route.method} ${route.path}`) ?? [];
}

/** The 400 for query parameters the route does not take, naming them and the allowed ones. */
export function unknownQueryError(
  query: Record<string, string>,
  allowed: readonly string[],
): AppError | undefined {
  const unknown = Object.keys(query).filter((k) => !allowed.includes(k));
  if (unknown.length === 0) return undefined;
  const takes = allowed.length ? `this route takes ${allowed.join(', ')}` : 'this route takes none';
  const names = unknown.map((k) => JSON.stringify(k)).join(', ');
  const field = unknown[0] as string;
  return new AppError(
    'VALIDATION_ERROR',
    `${field}: unknown query parameter${unknown.length > 1 ? `s ${names}` : ''} (${takes})`,
    { field, in: 'query', unknown, allowed: [...allowed] },
  );
}

// ---------- the route group handler ----------

function lowerHeaders(h: ApiEvent['headers'] | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) if (typeof v === 'string') out[k.toLowerCase()] = v;
  return out;
}

function queryOf(e: ApiEvent): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.queryStringParameters ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

function pickRequestId(headers: Record<string, string>, event: ApiEvent, context: Partial<Context>): string {
  const fromHeader = headers['x-request-id'];
  if (fromHeader && fromHeader.length <= MAX_REQUEST_ID_LENGTH && /^[\w.:-]+$/.test(fromHeader))
    return fromHeader;
  return event.requestContext?.requestId || context.awsRequestId || randomUUID();
}

interface Internal extends Record<string, unknown> {
  startedAt: number;
  requestId: string;
  log: AppLogger;
}

/**
 * Build the middy handler of one route group. `name` appears in every log line of the group.
 * The middlewares: request id + child logger (before), access log (after and onError), JSON error
 * mapping (onError). CORS headers (for a configured origin only) are added to every reply, errors included.
 */
export function createRouteGroup(name: string, routes: Route[], options: HttpOptions = {}): ApiHandler {
  const base = (options.logger ?? apiLogger()).child({ group: name });
  const compiled: CompiledRoute[] = routes.map((r) => ({ ...r, ...compilePath(r.path) }));
  const origins = allowedOrigins(options.corsOrigin);
  const guard = { allowedOrigins: origins, writeKey: options.writeKey };
  const corsFor = (event: ApiEvent | undefined) => corsHeaders(origins, lowerHeaders(event?.headers).origin);

  const dispatch = async (event: ApiEvent, internal: Internal): Promise<ApiResult> => {
    const method = (event.httpMethod ?? 'GET').toUpperCase();
    const path = event.path || '/';
    const headers = lowerHeaders(event.headers);
    const matching = compiled.filter((r) => matchCompiled(r, path));
    if (matching.length === 0) {
      throw new AppError('NOT_FOUND', `No route for ${method} ${path}`, { path });
    }
    if (method === 'OPTIONS') {
      const allow = [...new Set(matching.map((r) => r.method)), 'OPTIONS'].join(', ');
      return toResult({ status: 204, headers: { allow } }, internal.requestId, corsFor(event));
    }
    const route = matching.find((r) => r.method === method || (method === 'HEAD' && r.method === 'GET'));
    if (!route) {
      const allow = [...new Set(matching.map((r) => r.method))].join(', ');
      return toResult(
        json(
          405,
          {
            error: {
              code: 'METHOD_NOT_ALLOWED',
              message: `${method} is not allowed on ${path}; use ${allow}`,
              details: { allow },
            },
          },
          { allow },
        ),
        internal.requestId,
        corsFor(event),
      );
    }
    const body = event.body
      ? event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body
      : null;
    // Before the route runs: a write from another site, without the key, or not JSON changes nothing.
    const refused = guardRequest(method, headers, { ...guard, hasBody: body !== null && body !== '' });
    if (refused) throw refused;
    const query = queryOf(event);
    const badQuery = unknownQueryError(query, queryKeysOf(route));
    if (badQuery) throw badQuery;
    const req: ApiRequest = {
      method,
      path,
      pathParams: matchCompiled(route, path) ?? {},
      query,
      headers,
      body,
      requestId: internal.requestId,
      log: internal.log,
    };
    const reply = await route.handler(req);
    return toResult(reply, internal.requestId, corsFor(event));
  };

  const access = (statusCode: number, event: ApiEvent, internal: Internal) => {
    internal.log.info(
      {
        method: event.httpMethod,
        path: event.path,
        status: statusCode,
        ms: Date.now() - internal.startedAt,
      },
      'request',
    );
  };

  // Per-invocation state, keyed by the event object middy hands to both the hooks and the handler.
  const state = new WeakMap<ApiEvent, Internal>();
  const begin = (event: ApiEvent, context: Partial<Context>): Internal => {
    const headers = lowerHeaders(event.headers);
    const requestId = pickRequestId(headers, event, context);
    const internal = { startedAt: Date.now(), requestId, log: base.child({ requestId }) };
    state.set(event, internal);
    return internal;
  };

  return middy<ApiEvent, ApiResult, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use({
      before: (request) => {
        begin(request.event, request.context);
      },
      after: (request) => {
        const internal = state.get(request.event);
        if (internal) access(request.response?.statusCode ?? 0, request.event, internal);
      },
      onError: (request) => {
        // A failure before `before` ran (a malformed event) still gets an id and a logger.
        const internal =
          state.get(request.event) ?? begin(request.event ?? ({} as ApiEvent), request.context ?? {});
        const reply = errorReply(request.error, internal.log);
        request.response = toResult(reply, internal.requestId, corsFor(request.event));
        access(reply.status, request.event, internal);
      },
    })
    .handler(async (event) => {
      const internal = state.get(event) ?? begin(event, {});
      return dispatch(event, internal);
    }) as unknown as ApiHandler;
}
