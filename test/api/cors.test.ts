/**
 * CORS at the handler factories, as the Lambda entries (functions/aws/api-*.ts) use them: they pass the
 * function's CORS_ORIGIN environment variable, which the CDK app does not set (the site serves the API
 * same-origin under /api/*). No origin configured means no CORS header; a configured list grants exactly
 * its origins; `*` never reaches a response. No database needed: the docs group has no dependencies.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDocsHandler } from '../../functions/api/docs';
import type { HttpOptions } from '../../functions/api/http';

const EVIL = 'http://evil.example';
const logger = pino({ level: 'silent' });

function event(method: string, path: string, origin: string): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    path,
    headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    resource: '/{proxy+}',
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
  };
}

async function allowOrigin(corsOrigin: HttpOptions['corsOrigin'], origin: string, method = 'OPTIONS') {
  const handler = createDocsHandler({ logger, ...(corsOrigin === undefined ? {} : { corsOrigin }) });
  const result = await handler(event(method, '/openapi.json', origin));
  return result.headers?.['access-control-allow-origin'];
}

describe('CORS in the handler factories', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('sends no CORS header when no origin is configured', async () => {
    expect(await allowOrigin(undefined, EVIL)).toBeUndefined();
    expect(await allowOrigin('', EVIL, 'GET')).toBeUndefined();
  });

  it('never sends *, even when configured', async () => {
    expect(await allowOrigin('*', EVIL)).toBeUndefined();
    expect(await allowOrigin(['*'], EVIL, 'GET')).toBeUndefined();
  });

  it('grants exactly the listed origins (a comma-separated string, as in the environment)', async () => {
    const list = `https://app.example, ${EVIL}/`;
    expect(await allowOrigin(list, EVIL)).toBe(EVIL);
    expect(await allowOrigin(list, 'https://app.example', 'GET')).toBe('https://app.example');
    expect(await allowOrigin(list, 'http://evil.example:8080')).toBeUndefined();
    expect(await allowOrigin(list, 'https://evil.example')).toBeUndefined();
  });

  it('the docs Lambda entry, deployed without CORS_ORIGIN, answers no CORS header', async () => {
    vi.stubEnv('CORS_ORIGIN', undefined);
    const { handler } = await import('../../functions/aws/api-docs');
    const result = await handler(event('OPTIONS', '/openapi.json', EVIL));
    expect(result.statusCode).toBe(204);
    expect(result.headers?.['access-control-allow-origin']).toBeUndefined();
  });
});
