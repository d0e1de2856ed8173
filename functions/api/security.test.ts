/**
 * Each rule of the write guard and the Host check, as pure functions and through a route group (the
 * shared middy handler both hosts run): a refused request never reaches its route.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createRouteGroup, json } from './http';
import {
  allowedHostnames,
  crossOriginError,
  guardRequest,
  hostError,
  isJsonContentType,
  sameSecret,
  webContentSecurityPolicy,
} from './security';

const NONE = new Set<string>();
const JSON_TYPE = { 'content-type': 'application/json' };

describe('writes take JSON only', () => {
  it('accepts application/json with parameters, in any case', () => {
    for (const t of ['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8'])
      expect(isJsonContentType(t), t).toBe(true);
  });

  it('refuses every other type, and none, with 415 UNSUPPORTED_MEDIA_TYPE', () => {
    for (const t of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
      'application/json-patch+json',
      '',
    ]) {
      const e = guardRequest('POST', { 'content-type': t }, { allowedOrigins: NONE });
      expect(e?.code, t).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(e?.status).toBe(415);
    }
    expect(guardRequest('POST', {}, { allowedOrigins: NONE })?.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('applies to PUT, PATCH and DELETE too, never to reads', () => {
    for (const m of ['PUT', 'PATCH', 'DELETE'])
      expect(guardRequest(m, { 'content-type': 'text/plain' }, { allowedOrigins: NONE })?.status).toBe(415);
    for (const m of ['GET', 'HEAD', 'OPTIONS'])
      expect(guardRequest(m, { 'content-type': 'text/plain' }, { allowedOrigins: NONE })).toBeUndefined();
  });

  it('lets a write with no body and no Content-Type through (nothing to misparse)', () => {
    expect(guardRequest('POST', {}, { allowedOrigins: NONE, hasBody: false })).toBeUndefined();
    expect(
      guardRequest('POST', { 'content-type': 'text/plain' }, { allowedOrigins: NONE, hasBody: false })?.code,
    ).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('cross-site writes refused', () => {
  const host = { host: '127.0.0.1:3000', ...JSON_TYPE };

  it('Sec-Fetch-Site: cross-site is 403 CROSS_ORIGIN, whatever the Origin says', () => {
    const e = guardRequest(
      'POST',
      { ...host, 'sec-fetch-site': 'cross-site', origin: 'http://127.0.0.1:3000' },
      { allowedOrigins: NONE },
    );
    expect(e?.code).toBe('CROSS_ORIGIN');
    expect(e?.status).toBe(403);
  });

  it('an Origin that is not the addressed host nor listed is 403', () => {
    for (const origin of [
      'https://attacker.example',
      'http://127.0.0.1:3001',
      'http://localhost:3000', // another name is another origin
      'null',
      'not a url',
    ])
      expect(crossOriginError({ ...host, origin }, NONE)?.code, origin).toBe('CROSS_ORIGIN');
  });

  it('the own origin passes, by Host or by the X-Forwarded-Host a proxy set', () => {
    expect(crossOriginError({ ...host, origin: 'http://127.0.0.1:3000' }, NONE)).toBeUndefined();
    expect(
      crossOriginError(
        { ...host, origin: 'http://127.0.0.1:5173', 'x-forwarded-host': '127.0.0.1:5173' },
        NONE,
      ),
    ).toBeUndefined();
    expect(
      crossOriginError(
        {
          host: 'abc.execute-api.eu-west-1.amazonaws.com',
          'x-forwarded-host': 'd111.cloudfront.net',
          origin: 'https://d111.cloudfront.net',
          'sec-fetch-site': 'same-origin',
        },
        NONE,
      ),
    ).toBeUndefined();
  });

  it('an origin listed in CORS_ORIGIN passes', () => {
    const listed = new Set(['http://localhost:5173']);
    expect(crossOriginError({ ...host, origin: 'http://localhost:5173' }, listed)).toBeUndefined();
    expect(crossOriginError({ ...host, origin: 'http://localhost:5174' }, listed)?.code).toBe('CROSS_ORIGIN');
  });

  it('a request with neither header (curl, the CLI, scripts) passes', () => {
    expect(guardRequest('POST', host, { allowedOrigins: NONE })).toBeUndefined();
    expect(crossOriginError({ 'sec-fetch-site': 'none' }, NONE)).toBeUndefined();
  });

  it('the origin rule is checked before the body format (a foreign page learns nothing else)', () => {
    const e = guardRequest(
      'POST',
      { host: '127.0.0.1:3000', origin: 'https://attacker.example', 'content-type': 'text/plain' },
      { allowedOrigins: NONE, writeKey: 'k'.repeat(20) },
    );
    expect(e?.code).toBe('CROSS_ORIGIN');
  });
});

describe('write key', () => {
  const key = 'correct horse battery staple';
  it('is required on writes when configured: 401 without it, 403 with a wrong one', () => {
    expect(guardRequest('POST', JSON_TYPE, { allowedOrigins: NONE, writeKey: key })?.code).toBe(
      'WRITE_KEY_REQUIRED',
    );
    expect(guardRequest('POST', JSON_TYPE, { allowedOrigins: NONE, writeKey: key })?.status).toBe(401);
    const wrong = guardRequest(
      'POST',
      { ...JSON_TYPE, 'x-write-key': 'correct horse battery stapl' },
      { allowedOrigins: NONE, writeKey: key },
    );
    expect(wrong?.code).toBe('WRITE_KEY_INVALID');
    expect(wrong?.status).toBe(403);
    expect(
      guardRequest('POST', { ...JSON_TYPE, 'x-write-key': key }, { allowedOrigins: NONE, writeKey: key }),
    ).toBeUndefined();
  });

  it('reads stay open', () => {
    expect(guardRequest('GET', {}, { allowedOrigins: NONE, writeKey: key })).toBeUndefined();
  });

  it('compares in constant time over digests (any lengths)', () => {
    expect(sameSecret('a', 'a')).toBe(true);
    expect(sameSecret('a', 'ab')).toBe(false);
    expect(sameSecret('', 'x')).toBe(false);
  });
});

describe('Host check (local host)', () => {
  const allowed = allowedHostnames('127.0.0.1', ['nas.local']);

  it('serves loopback names, HOST and ALLOWED_HOSTS, any port', () => {
    for (const host of ['127.0.0.1:3000', 'localhost:3000', 'LOCALHOST', '[::1]:3000', 'nas.local:8080'])
      expect(hostError({ host }, allowed), host).toBeUndefined();
  });

  it('refuses any other name with 421 HOST_NOT_ALLOWED (DNS rebinding), and a missing Host', () => {
    for (const host of ['attacker.example', 'attacker.example:3000', '127.0.0.1.nip.io', '10.0.0.5', ''])
      expect(hostError({ host }, allowed)?.status, host).toBe(421);
    expect(hostError({}, allowed)?.code).toBe('HOST_NOT_ALLOWED');
  });

  it('checks X-Forwarded-Host too (a proxy rewrites Host but forwards the page’s)', () => {
    expect(
      hostError({ host: '127.0.0.1:3000', 'x-forwarded-host': '127.0.0.1:5173' }, allowed),
    ).toBeUndefined();
    expect(
      hostError({ host: '127.0.0.1:3000', 'x-forwarded-host': 'evil.example:5173' }, allowed)?.code,
    ).toBe('HOST_NOT_ALLOWED');
  });

  it('takes an IPv6 HOST as configured (no brackets)', () => {
    expect(hostError({ host: '[::1]:3000' }, allowedHostnames('::1', []))).toBeUndefined();
  });
});

describe('the route group applies the guard before any route runs', () => {
  function group() {
    let calls = 0;
    const handler = createRouteGroup(
      'test',
      [
        {
          method: 'POST',
          path: '/write',
          handler: async () => {
            calls++;
            return json(200, { ok: true });
          },
        },
        { method: 'GET', path: '/read', query: ['limit'], handler: async () => json(200, { ok: true }) },
      ],
      { logger: pino({ level: 'silent' }) },
    );
    return { handler, calls: () => calls };
  }
  const event = (
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | null = '{}',
    query: Record<string, string> | null = null,
  ) =>
    ({
      httpMethod: method,
      path,
      headers,
      body,
      isBase64Encoded: false,
      queryStringParameters: query,
      requestContext: {},
    }) as unknown as APIGatewayProxyEvent;

  it('415 and 403 answers come with their code, and the route never ran', async () => {
    const g = group();
    const plain = await g.handler(event('POST', '/write', { 'Content-Type': 'text/plain' }));
    expect(plain.statusCode).toBe(415);
    expect(JSON.parse(plain.body).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const foreign = await g.handler(
      event('POST', '/write', { ...JSON_TYPE, Origin: 'https://attacker.example', Host: 'localhost' }),
    );
    expect(foreign.statusCode).toBe(403);
    expect(JSON.parse(foreign.body).error.code).toBe('CROSS_ORIGIN');
    expect(g.calls()).toBe(0);
    const ok = await g.handler(event('POST', '/write', JSON_TYPE));
    expect(ok.statusCode).toBe(200);
    expect(g.calls()).toBe(1);
  });

  it('every answer carries nosniff, a Referrer-Policy and a CSP that runs nothing', async () => {
    const g = group();
    for (const r of [
      await g.handler(event('GET', '/read', {})),
      await g.handler(event('POST', '/write', { 'Content-Type': 'text/plain' })),
    ]) {
      expect(r.headers?.['x-content-type-options']).toBe('nosniff');
      expect(r.headers?.['referrer-policy']).toBe('no-referrer');
      expect(r.headers?.['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });

  it('an unknown query parameter is a 400 naming it and the allowed ones', async () => {
    const g = group();
    const r = await g.handler(event('GET', '/read', {}, null, { limt: '5' }));
    expect(r.statusCode).toBe(400);
    const e = JSON.parse(r.body).error;
    expect(e.message).toBe('limt: unknown query parameter (this route takes limit)');
    expect(e.details).toMatchObject({ field: 'limt', in: 'query', unknown: ['limt'], allowed: ['limit'] });
    expect((await g.handler(event('GET', '/read', {}, null, { limit: '5' }))).statusCode).toBe(200);
  });
});

describe('the web app CSP', () => {
  it('has no inline script, no framing, and its own origin for everything', () => {
    const csp = webContentSecurityPolicy();
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(webContentSecurityPolicy('https://api.example')).toContain(
      "connect-src 'self' https://api.example",
    );
  });
});
