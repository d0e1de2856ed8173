/**
 * The local host itself (no real data needed): the web app's build with /config.json and the SPA
 * fallback, JSON 404s for non-HTML requests, no CORS unless CORS_ORIGIN lists the origin, a 422 (never a
 * price of 0) for a symbol without closed candles, and a shutdown that finishes an in-flight request
 * instead of cutting it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../functions/local/server';
import { loadSettings } from '../../shared/config/settings';
import { type BinanceServer, generateKlines, startBinanceServer } from '../helpers/binance-server';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const EVIL = 'http://evil.example';

describe('local host', () => {
  let web: string;
  let binance: BinanceServer;
  let server: LocalServer;
  beforeAll(async () => {
    web = mkdtempSync(join(tmpdir(), 'web-dist-'));
    mkdirSync(join(web, 'assets'));
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>app</title>');
    writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
    binance = await startBinanceServer({
      candles: {
        'BTCUSDT:1h': generateKlines({ timeframe: '1h', start: NOW - 2000 * 3_600_000, count: 2000 }),
      },
      // SOLUSDT exists on this exchange but has no candles yet (Binance answers [] for it).
      symbols: ['SOLUSDT'],
      now: () => NOW,
    });
    const settings = loadSettings({
      LLM_PROVIDER: 'offline',
      DATA_DIR: 'memory://',
      BINANCE_BASE_URL: binance.url,
      // No sentiment host here: the static notes only (the sentiment sources have their own suites).
      SENTIMENT_SOURCES: 'static',
      LOG_LEVEL: 'silent',
    });
    server = await startLocalServer({
      settings,
      port: 0,
      host: '127.0.0.1',
      webDist: web,
      workflows: 'inprocess',
      logger: pino({ level: 'silent' }),
      containerOverrides: { binanceFallbackUrl: null, binanceMaxRetries: 0, now: () => NOW },
    });
  });
  afterAll(async () => {
    await server?.close();
    await binance?.close();
    rmSync(web, { recursive: true, force: true });
  });

  it('serves /config.json for the web app', async () => {
    const r = await fetch(`${server.url}/config.json`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ apiBaseUrl: '' });
  });

  it('serves the build and falls back to index.html for HTML navigations only', async () => {
    const asset = await fetch(`${server.url}/assets/app.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    const page = await fetch(`${server.url}/backtests-view/123`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>app</title>');
    const api = await fetch(`${server.url}/not-a-route`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe('NOT_FOUND');
    const traversal = await fetch(`${server.url}/..%2f..%2fetc%2fpasswd`, {
      headers: { accept: 'application/json' },
    });
    expect(traversal.status).toBe(404);
  });

  const preflight = (url: string, origin: string) =>
    fetch(`${url}/analyze`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });

  it('sends no CORS headers by default: a preflight from another origin is not granted', async () => {
    const r = await preflight(server.url, EVIL);
    expect(r.status).toBe(204);
    expect(r.headers.get('allow')).toContain('POST');
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    expect(r.headers.get('access-control-allow-methods')).toBeNull();
    const get = await fetch(`${server.url}/health`, { headers: { origin: EVIL } });
    expect(get.status).toBe(200);
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('grants exactly the origins CORS_ORIGIN lists, and no other', async () => {
    const settings = loadSettings({
      LLM_PROVIDER: 'offline',
      DATA_DIR: 'memory://',
      BINANCE_BASE_URL: binance.url,
      // No sentiment host here: the static notes only (the sentiment sources have their own suites).
      SENTIMENT_SOURCES: 'static',
      LOG_LEVEL: 'silent',
      CORS_ORIGIN: `${EVIL}/, http://localhost:5173`,
    });
    expect(settings.CORS_ORIGIN).toEqual([EVIL, 'http://localhost:5173']);
    // A second host on the same container: only its settings differ.
    const allowing = await startLocalServer({
      settings,
      port: 0,
      host: '127.0.0.1',
      webDist: null,
      container: server.container,
      workflows: 'inprocess',
      logger: pino({ level: 'silent' }),
    });
    try {
      const granted = await preflight(allowing.url, EVIL);
      expect(granted.status).toBe(204);
      expect(granted.headers.get('access-control-allow-origin')).toBe(EVIL);
      expect(granted.headers.get('access-control-allow-methods')).toContain('POST');
      expect(granted.headers.get('access-control-allow-headers')).toContain('content-type');
      expect(granted.headers.get('vary')).toBe('Origin');
      const other = await preflight(allowing.url, 'http://other.example');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      // Errors carry the grant too, so a listed page can read the message.
      const missing = await fetch(`${allowing.url}/analyses/nope`, { headers: { origin: EVIL } });
      expect(missing.status).toBe(400);
      expect(missing.headers.get('access-control-allow-origin')).toBe(EVIL);
    } finally {
      await allowing.close();
    }
  });

  it('refuses a CORS_ORIGIN that is not an exact origin', () => {
    for (const bad of ['*', 'evil.example', 'http://evil.example/app', 'ftp://evil.example'])
      expect(() => loadSettings({ CORS_ORIGIN: bad }), bad).toThrow(/CORS_ORIGIN: .*is not an origin/);
  });

  it('answers 422 INSUFFICIENT_DATA, never a price of 0, for a symbol without closed candles', async () => {
    const latest = await fetch(`${server.url}/market/SOLUSDT/latest?timeframe=4h`);
    expect(latest.status).toBe(422);
    const { error } = await latest.json();
    expect(error.code).toBe('INSUFFICIENT_DATA');
    expect(error.message).toMatch(/^No closed SOLUSDT 4h candles yet: /);
    expect(error.message).toContain('npm run cli -- import');
    expect(error.message).toContain(`BINANCE_BASE_URL (${binance.url})`);
    expect(error.details).toMatchObject({ symbol: 'SOLUSDT', timeframe: '4h' });

    const range = await fetch(`${server.url}/market/SOLUSDT/candles?timeframe=4h&start=2025-01-01`);
    expect(range.status).toBe(422);
    const body = await range.json();
    expect(body.error.code).toBe('INSUFFICIENT_DATA');
    expect(body.error.message).toMatch(/^No closed SOLUSDT 4h candles from 2025-01-01T00:00Z to /);

    // The failure is not cached: once the exchange has the bars, the next request serves them.
    binance.setCandles(
      'SOLUSDT:4h',
      generateKlines({ timeframe: '4h', start: NOW - 300 * 4 * 3_600_000, count: 300 }),
    );
    const later = await fetch(`${server.url}/market/SOLUSDT/latest?timeframe=4h&limit=5`);
    expect(later.status).toBe(200);
    const market = await later.json();
    expect(market.candles).toHaveLength(5);
    expect(market.price).toBeGreaterThan(0);
  });

  it('close() finishes an in-flight request before stopping', async () => {
    binance.injectFault({ kind: 'slow', delayMs: 400, times: 5 });
    const pending = fetch(`${server.url}/market/BTCUSDT/latest?limit=3`);
    await new Promise((ok) => setTimeout(ok, 100));
    const closing = server.close();
    const r = await pending;
    expect(r.status).toBe(200);
    expect((await r.json()).candles).toHaveLength(3);
    await closing;
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});
