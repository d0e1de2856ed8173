/**
 * Only the product's own page may write, over real HTTP against the local host: the foreign requests
 * that used to trade the live book (text/plain, a form, no Content-Type, a foreign Origin, a foreign
 * Host) are each a 4xx with its code and change nothing; the app's own requests (same origin, through
 * the web dev server's proxy, curl-like) still work; every answer carries the security headers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_DATA, type Harness, SKIP_REASON, startHarness } from './harness';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** A request with headers fetch will not let a caller set (Host). */
function rawRequest(
  url: string,
  opts: { method: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request(
      { host: u.hostname, port: u.port, method: opts.method, path: opts.path, headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', fail);
    req.end(opts.body);
  });
}

describe.skipIf(!HAS_DATA)(`only the product's own page may write ${HAS_DATA ? '' : SKIP_REASON}`, () => {
  let h: Harness;
  let web: string;
  const analyze = JSON.stringify({ symbol: 'BTCUSDT', timeframe: '4h' });

  beforeAll(async () => {
    web = mkdtempSync(join(tmpdir(), 'edge-web-'));
    mkdirSync(join(web, 'assets'));
    writeFileSync(
      join(web, 'index.html'),
      '<!doctype html><title>app</title><script src="/assets/a.js"></script>',
    );
    writeFileSync(join(web, 'assets', 'a.js'), 'console.log(1)');
    h = await startHarness({ workflows: 'inprocess', webDist: web, env: { ALLOWED_HOSTS: 'nas.local' } });
  });
  afterAll(async () => {
    await h?.close();
    rmSync(web, { recursive: true, force: true });
  });

  const tradesNow = async () => (await h.get('/trades?limit=200')).body.items.length as number;
  const decisionsNow = async () => (await h.get('/analyses?limit=200')).body.items.length as number;

  it('each foreign write is a 4xx with its code, and the book and the analyses are unchanged', async () => {
    const trades = await tradesNow();
    const decisions = await decisionsNow();
    const own = new URL(h.url).host;
    const cases: { name: string; headers: Record<string, string>; status: number; code: string }[] = [
      {
        name: 'text/plain',
        headers: { 'content-type': 'text/plain' },
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        name: 'a form',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      { name: 'no Content-Type', headers: {}, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
      {
        name: 'a foreign Origin, cross-site',
        headers: {
          'content-type': 'application/json',
          origin: 'https://attacker.example',
          'sec-fetch-site': 'cross-site',
        },
        status: 403,
        code: 'CROSS_ORIGIN',
      },
      {
        name: 'a no-cors text/plain fetch from another site',
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin: 'https://attacker.example' },
        status: 403,
        code: 'CROSS_ORIGIN',
      },
      {
        name: 'Host: attacker.example (DNS rebinding)',
        headers: {
          'content-type': 'application/json',
          host: 'attacker.example:3000',
          origin: 'http://attacker.example:3000',
        },
        status: 421,
        code: 'HOST_NOT_ALLOWED',
      },
    ];
    for (const c of cases) {
      const r = await rawRequest(h.url, {
        method: 'POST',
        path: '/analyze',
        headers: { host: own, ...c.headers },
        body: analyze,
      });
      expect(r.status, c.name).toBe(c.status);
      expect(JSON.parse(r.body).error.code, c.name).toBe(c.code);
    }
    expect(await tradesNow()).toBe(trades);
    expect(await decisionsNow()).toBe(decisions);
  });

  it('a foreign Host cannot read either: API, page and assets are all 421', async () => {
    for (const path of ['/portfolio', '/trades', '/', '/assets/a.js', '/config.json']) {
      const r = await rawRequest(h.url, { method: 'GET', path, headers: { host: 'attacker.example:3000' } });
      expect(r.status, path).toBe(421);
      expect(r.body, path).not.toContain('console.log');
    }
    const forwarded = await rawRequest(h.url, {
      method: 'GET',
      path: '/portfolio',
      headers: { host: new URL(h.url).host, 'x-forwarded-host': 'attacker.example:5173' },
    });
    expect(forwarded.status).toBe(421);
  });

  it('loopback names and ALLOWED_HOSTS are served', async () => {
    const port = new URL(h.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `nas.local:${port}`]) {
      const r = await rawRequest(h.url, { method: 'GET', path: '/health', headers: { host } });
      expect(r.status, host).toBe(200);
    }
  });

  it("the app's own write (same origin, as the browser sends it) and curl with JSON still work", async () => {
    const own = await h.post('/analyze', JSON.parse(analyze), {
      origin: h.url,
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'cors',
    });
    expect(own.status).toBe(200);
    expect(own.body.status).toBe('completed');
    const curl = await h.post(
      '/analyze',
      { symbol: 'BTCUSDT', timeframe: '4h', wait: false },
      {
        'content-type': 'application/json; charset=utf-8',
      },
    );
    expect(curl.status).toBe(202);
  });

  it('through the web dev server proxy, the page’s own writes still work', async () => {
    const { createServer } = await import('vite');
    const before = process.env.API_URL;
    process.env.API_URL = h.url;
    const vite = await createServer({
      configFile: resolve(ROOT, 'web/vite.config.ts'),
      logLevel: 'silent',
      server: { port: 0, strictPort: false, hmr: false },
    });
    try {
      await vite.listen();
      const address = vite.httpServer?.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const devOrigin = `http://127.0.0.1:${port}`;
      const r = await fetch(`${devOrigin}/analyze`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          origin: devOrigin,
          'sec-fetch-site': 'same-origin',
        },
        body: JSON.stringify({ symbol: 'BTCUSDT', timeframe: '4h', wait: false }),
      });
      expect(r.status).toBe(202);
      // A foreign page's write through the dev server is still refused.
      const foreign = await fetch(`${devOrigin}/analyze`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', origin: 'https://attacker.example' },
        body: analyze,
      });
      expect(foreign.status).toBe(403);
    } finally {
      await vite.close();
      if (before === undefined) delete process.env.API_URL;
      else process.env.API_URL = before;
    }
  });

  it('the page and its assets carry the CSP, nosniff, a Referrer-Policy and frame protection', async () => {
    for (const path of ['/', '/assets/a.js', '/backtests']) {
      const r = await fetch(`${h.url}${path}`, { headers: { accept: 'text/html' } });
      expect(r.status, path).toBe(200);
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("connect-src 'self'");
      expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(r.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(r.headers.get('x-frame-options'), path).toBe('DENY');
    }
    const api = await h.get('/health');
    expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    const docs = await fetch(`${h.url}/docs`);
    expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
  });
});
