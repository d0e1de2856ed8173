/**
 * The local host itself (no real data needed): the web app's build with /config.json and the SPA
 * fallback, JSON 404s for non-HTML requests, CORS preflight, and a shutdown that finishes an in-flight
 * request instead of cutting it.
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
      now: () => NOW,
    });
    const settings = loadSettings({
      LLM_PROVIDER: 'offline',
      DATA_DIR: 'memory://',
      BINANCE_BASE_URL: binance.url,
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

  it('answers CORS preflight with the allowed methods', async () => {
    const r = await fetch(`${server.url}/analyze`, { method: 'OPTIONS' });
    expect(r.status).toBe(204);
    expect(r.headers.get('allow')).toContain('POST');
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
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
