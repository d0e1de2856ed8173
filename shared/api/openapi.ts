/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the handlers validate with
 * (zod v4 `z.toJSONSchema`, JSON Schema 2020-12, which is OpenAPI 3.1's dialect). Request schemas are
 * rendered as inputs (fields with defaults are optional), responses as outputs.
 */
import { z } from 'zod';
import { errorBodySchema } from './contract';
import { API_ROUTES, type RouteSpec } from './routes';

export const API_TITLE = 'Agent trading firm API';
export const API_VERSION = '0.1.0';

type JsonSchema = Record<string, unknown>;

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete out.$schema;
  return out;
}

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid input (a field, or a query parameter the route does not take): the message and details.field name it',
  401: 'A write key is configured and X-Write-Key is missing (WRITE_KEY_REQUIRED)',
  403: 'Refused: a write from another site (CROSS_ORIGIN), or a wrong write key (WRITE_KEY_INVALID)',
  409: 'A conflict, nothing changed: a request with this Idempotency-Key is still being processed (retry in a moment), or a stale review (the proposal is no longer pending, or its parameter changed since)',
  415: 'Writes take Content-Type: application/json only (UNSUPPORTED_MEDIA_TYPE)',
  404: 'Not found',
  405: 'Method not allowed',
  422: 'Not enough market data for the request (INSUFFICIENT_DATA), or an Idempotency-Key reused with another body (IDEMPOTENCY_KEY_REUSED)',
  429: 'Daily LLM token budget exceeded',
  500: 'Internal error (no details are exposed)',
  502: 'An upstream (Binance or the model provider) failed; the message says which',
  503: 'An upstream (Binance or the model provider) is rate limiting or unavailable',
  504: 'The model provider timed out',
};

function parametersOf(route: RouteSpec): unknown[] {
  const params: unknown[] = [];
  if (route.params) {
    for (const [name, schema] of Object.entries(route.params.shape)) {
      params.push({ name, in: 'path', required: true, schema: toSchema(schema as z.ZodType, 'input') });
    }
  }
  if (route.query) {
    const q = toSchema(route.query, 'input');
    const props = (q.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((q.required ?? []) as string[]);
    for (const [name, schema] of Object.entries(props)) {
      params.push({ name, in: 'query', required: required.has(name), schema });
    }
  }
  if (route.method !== 'GET') {
    params.push(
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description:
          'Optional, 1 to 200 visible ASCII characters (a UUID). A repeat with the same key and body within 24 h starts nothing and answers the first request (header Idempotent-Replayed: true); the same key with another body is a 422.',
        schema: { type: 'string', minLength: 1, maxLength: 200 },
      },
      {
        name: 'X-Write-Key',
        in: 'header',
        required: false,
        description:
          'Required when the deployment has a write key (AWS -c writeKey=true, or WRITE_KEY locally).',
        schema: { type: 'string' },
      },
    );
  }
  return params;
}

export function buildOpenApiDocument(serverUrl?: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of API_ROUTES) {
    const responses: Record<string, unknown> = {};
    for (const [status, r] of Object.entries(route.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema
          ? { content: { 'application/json': { schema: toSchema(r.schema, 'output') } } }
          : r.contentType
            ? { content: { [r.contentType]: { schema: { type: 'string' } } } }
            : {}),
      };
    }
    const writeErrors = route.method === 'GET' ? [] : [401, 403, 409, 415, 422];
    const errorStatuses = new Set([400, 405, 500, ...writeErrors, ...(route.errors ?? [])]);
    for (const status of [...errorStatuses].sort()) {
      responses[String(status)] = {
        description: ERROR_TEXT[status] ?? 'Error',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    const operation: Record<string, unknown> = {
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[{}]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      tags: [route.group],
      summary: route.summary,
      parameters: parametersOf(route),
      responses,
    };
    if (route.body) {
      operation.requestBody = {
        required: true,
        content: { 'application/json': { schema: toSchema(route.body, 'input') } },
      };
    }
    paths[route.path] ??= {};
    (paths[route.path] as Record<string, unknown>)[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: API_TITLE,
      version: API_VERSION,
      description:
        'A multi-agent LLM crypto trading simulator. Simulated trading only. Every error is `{ error: { code, message, details? } }`.',
    },
    servers: [{ url: serverUrl ?? '/' }],
    paths,
    components: { schemas: { Error: toSchema(errorBodySchema, 'output') } },
  };
}
