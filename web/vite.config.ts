/**
 * Vite build of the web app. Root is `web/`, output `web/dist`, served by the local host on the API's
 * own origin and by S3 + CloudFront on AWS (where `/config.json` carries the API's URL).
 *
 * The dev server proxies API paths to the local host (`npm start`, port 3000). Some SPA routes share a
 * path with an API endpoint (`/portfolio`, `/analyses`, `/backtests`, `/costs`), so a browser navigation
 * (Accept: text/html) gets the app and a fetch (Accept: application/json) goes to the API.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type ProxyOptions } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const API_TARGET = process.env.API_URL ?? 'http://127.0.0.1:3000';

/** Paths whose navigations are SPA routes and whose fetches are API calls. */
const SHARED_PATHS = ['/analyses', '/portfolio', '/backtests', '/costs'];
/** Paths that only the API serves. */
const API_ONLY_PATHS = [
  '/health',
  '/market',
  '/analyze',
  '/trades',
  '/backtest',
  '/config.json',
  '/openapi.json',
  '/docs',
];

// xfwd: the API sees the page's host in X-Forwarded-Host, so a write from this page (Origin
// http://127.0.0.1:5173) counts as its own origin, while Host is rewritten to the API's (changeOrigin).
const toApi: ProxyOptions = { target: API_TARGET, changeOrigin: true, xfwd: true };
const toApiUnlessNavigation: ProxyOptions = {
  ...toApi,
  bypass: (req) => (req.headers.accept?.includes('text/html') ? '/index.html' : undefined),
};

export default defineConfig({
  root: webRoot,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // The initial load stays small: views and the chart library are lazy chunks.
    chunkSizeWarningLimit: 400,
  },
  server: {
    port: 5173,
    host: '127.0.0.1',
    fs: { allow: [repoRoot] },
    proxy: {
      // Exact-prefix keys; '/backtests' is listed before '/backtest' so the shared rule wins.
      ...Object.fromEntries(SHARED_PATHS.map((p) => [p, toApiUnlessNavigation])),
      ...Object.fromEntries(API_ONLY_PATHS.map((p) => [p, toApi])),
    },
  },
});
