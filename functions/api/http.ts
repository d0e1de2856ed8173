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
 * - Validation messages always name the field ("max_decisions: ..."), and `details.field` carries the
 *   first offending field, so a client (and the test corpus) can point at it.
 */
import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import pino, { type Logger } from 'pino';
import type { z } from 'zod';
import { parseOrThrow } from '../../shared/api/validation';
import { AppError, isAppError } from '../../shared/util/errors';

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
  log: Logger;
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
}

export interface HttpOptions {
  logger?: Logger;
  /** Access-Control-Allow-Origin; on AWS the site's origin. Undefined: no CORS headers. */
  corsOrigin?: string;
}

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

export function matchPath(template: string, path: string): Record<string, string> | undefined {
  const { regex, names } = compilePath(template);
  return matchCompiled({ regex, names }, path);
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

function toResult(reply: ApiReply, requestId: string, corsOrigin: string | undefined): ApiResult {
  const headers: Record<string, string> = {
    'content-type': reply.contentType ?? JSON_TYPE,
    'x-request-id': requestId,
    'cache-control': 'no-store',
    ...(corsOrigin
      ? {
          'access-control-allow-origin': corsOrigin,
          'access-control-allow-headers': 'content-type, x-request-id',
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-expose-headers': 'x-request-id',
        }
      : {}),
    ...reply.headers,
  };
  const body =
    reply.text !== undefined ? reply.text : reply.body === undefined ? '' : JSON.stringify(reply.body);
  return { statusCode: reply.status, headers, body };
}

/** Map any thrown value to the public error body. Never includes a stack trace. */
export function errorReply(err: unknown, log: Logger): ApiReply {
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

/** Parse a JSON body: malformed JSON and non-objects are 400s before the schema runs. */
export function parseBody<S extends z.ZodType>(req: ApiRequest, schema: S): z.output<S> {
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
  return parseWith(schema, value, 'body');
}

export function parseQuery<S extends z.ZodType>(req: ApiRequest, schema: S): z.output<S> {
  return parseWith(schema, req.query, 'query');
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
  log: Logger;
}

/**
 * Build the middy handler of one route group. `name` appears in every log line of the group.
 * The middlewares: request id + child logger (before), access log (after and onError), JSON error
 * mapping (onError). CORS headers are added by `toResult` to every reply, errors included.
 */
export function createRouteGroup(name: string, routes: Route[], options: HttpOptions = {}): ApiHandler {
  const base = (options.logger ?? apiLogger()).child({ group: name });
  const compiled: CompiledRoute[] = routes.map((r) => ({ ...r, ...compilePath(r.path) }));

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
      return toResult({ status: 204, headers: { allow } }, internal.requestId, options.corsOrigin);
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
        options.corsOrigin,
      );
    }
    const req: ApiRequest = {
      method,
      path,
      pathParams: matchCompiled(route, path) ?? {},
      query: queryOf(event),
      headers,
      body: event.body
        ? event.isBase64Encoded
          ? Buffer.from(event.body, 'base64').toString('utf8')
          : event.body
        : null,
      requestId: internal.requestId,
      log: internal.log,
    };
    const reply = await route.handler(req);
    return toResult(reply, internal.requestId, options.corsOrigin);
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
        request.response = toResult(reply, internal.requestId, options.corsOrigin);
        access(reply.status, request.event, internal);
      },
    })
    .handler(async (event) => {
      const internal = state.get(event) ?? begin(event, {});
      return dispatch(event, internal);
    }) as unknown as ApiHandler;
}
