/**
 * The local host: one node:http server on one port serving
 * - the API, through the very handler factories Lambda runs (requests translated to API Gateway REST
 *   proxy events, see http-adapter.ts), with `/openapi.json` and `/docs`;
 * - the state machines, executed locally by the aws-local-stepfunctions adapter
 *   (functions/local/stepfunctions.ts), or by the in-process runner when that adapter is unavailable;
 * - the web app's build (`web/dist`) when present, with `/config.json` and an SPA fallback for GET
 *   requests that accept HTML.
 *
 * Startup: the database is opened and migrated before listening (every API route needs it; a fresh
 * PGlite data folder takes ~2 s to initialize), the local state machines are prepared only after
 * (nothing needs them to listen). They come from a file cache keyed by the cdk/ sources (see
 * stepfunctions-runtime.ts); only when it misses are they synthesized, and aws-cdk-lib then blocks the
 * event loop for several seconds. Ready line on a fresh DATA_DIR: ~4.4 s with `npm start`; first
 * requests after it answered in ~0.5 s with the cache, ~4-5 s on a miss.
 *
 * Shutdown (`close()`): stop accepting connections, wait for in-flight requests, then for running
 * workflows (bounded), then close the database. A write that started is finished, not cut off.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { groupForPath, type RouteGroup } from '../../shared/api/routes';
import type { Settings } from '../../shared/config/settings';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import { markInterruptedWork } from '../../shared/pipeline/recovery';
import { createApiHandlers } from '../api';
import { type ApiHandler, apiLogger } from '../api/http';
import { API_SECURITY_HEADERS, allowedHostnames, hostError, webSecurityHeaders } from '../api/security';
import {
  type Container,
  type ContainerOverrides,
  createContainer,
  describeContainer,
} from '../runtime/container';
import { BodyTooLargeError, localContext, readBody, toProxyEvent, writeResult } from './http-adapter';
import { type HostWorkflows, selectWorkflows, trackWorkflows } from './workflows';

/** Web app routes whose paths are also API paths (see web/src/App.tsx). */
/** One segment at most (a record id or an agent), never a file: /studies/{id}/cells.csv is the API's. */
const SPA_ROUTES = /^\/(analyses|portfolio|backtests|studies|costs|prompts)(\/[^/.]*)?$/;
export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url));
/** How long shutdown waits for in-flight requests and running workflows before it closes anyway. */
export const SHUTDOWN_GRACE_MS = 15_000;

export interface LocalServerOptions {
  settings: Settings;
  /** Port to listen on; 0 picks a free one. Default settings.PORT. */
  port?: number;
  host?: string;
  /** A prebuilt container (tests); otherwise one is created from settings + overrides and owned. */
  container?: Container;
  containerOverrides?: ContainerOverrides;
  /** Workflow adapter: a given starter, or 'auto' (local Step Functions, else in-process). */
  workflows?: WorkflowStarter | 'auto' | 'inprocess' | 'stepfunctions';
  /**
   * Prepare the local state machines after listening (default true): the host is ready at once and a
   * workflow started before they are ready waits for them. Tests pass false to fail fast at start.
   */
  backgroundWorkflows?: boolean;
  /** In-process runner: Map concurrency for backtests. Default settings.BACKTEST_MAP_CONCURRENCY. */
  backtestConcurrency?: number;
  /** web/dist folder; null disables static serving. */
  webDist?: string | null;
  logger?: Logger;
  shutdownGraceMs?: number;
}

export interface LocalServer {
  url: string;
  port: number;
  container: Container;
  workflows: HostWorkflows;
  /** One line: where it listens and what it uses. */
  describe(): string;
  close(): Promise<void>;
}

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...API_SECURITY_HEADERS,
    ...extra,
  });
  res.end(text);
}

/** A file inside `root` for a URL path, or undefined (never escapes root). */
function staticFile(root: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  const file = resolve(root, `.${decoded}`);
  if (file !== root && !file.startsWith(root + sep)) return undefined;
  try {
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

function forwardedHost(req: IncomingMessage): Record<string, string> {
  const v = req.headers['x-forwarded-host'];
  const value = Array.isArray(v) ? v[0] : v;
  return value === undefined ? {} : { 'x-forwarded-host': value };
}

export async function startLocalServer(opts: LocalServerOptions): Promise<LocalServer> {
  const { settings } = opts;
  const log = opts.logger ?? apiLogger();
  const ownContainer = !opts.container;
  const container = opts.container ?? (await createContainer(settings, opts.containerOverrides));
  // PGlite is locked to this process, so anything still "running" in it was left by a host that stopped.
  if (container.database.driver === 'pglite') {
    const marked = await markInterruptedWork(
      container.db,
      'interrupted: the local host stopped before it finished',
    );
    if (marked.backtests + marked.decisions > 0)
      log.warn(marked, 'unfinished backtests and analyses from a previous run marked failed (INTERRUPTED)');
  }
  let workflows: HostWorkflows;
  let prepareWorkflows: (() => void) | undefined;
  try {
    const chosen = await selectWorkflows(container, opts.workflows ?? 'auto', {
      concurrency: opts.backtestConcurrency ?? settings.BACKTEST_MAP_CONCURRENCY,
      log,
      background: opts.backgroundWorkflows ?? true,
    });
    prepareWorkflows = chosen.prepare;
    workflows = trackWorkflows(chosen, container);
  } catch (e) {
    if (ownContainer) await container.close();
    throw e;
  }
  const handlers: Record<RouteGroup, ApiHandler> = createApiHandlers(
    { container, workflows },
    { logger: log, corsOrigin: settings.CORS_ORIGIN, writeKey: settings.WRITE_KEY },
  );
  const servedHosts = allowedHostnames(opts.host ?? settings.HOST, settings.ALLOWED_HOSTS);
  const pageHeaders = webSecurityHeaders();
  const webDist = opts.webDist === null ? undefined : resolve(opts.webDist ?? DEFAULT_WEB_DIST);
  const hasWeb = webDist !== undefined && existsSync(join(webDist, 'index.html'));

  let inFlight = 0;
  let idleWaiters: (() => void)[] = [];
  const settleIdle = () => {
    if (inFlight === 0) {
      for (const w of idleWaiters) w();
      idleWaiters = [];
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    // DNS rebinding: a page reaching 127.0.0.1 under its own name is refused before anything runs.
    const wrongHost = hostError(
      { ...(req.headers.host ? { host: req.headers.host } : {}), ...forwardedHost(req) },
      servedHosts,
    );
    if (wrongHost) {
      req.resume();
      sendJson(res, wrongHost.status, { error: wrongHost.toJSON() });
      return;
    }
    // A browser navigation to an SPA route that shares its path with an API endpoint (/analyses/:id,
    // /portfolio, /backtests, /studies/:id, /costs) gets the web app; fetches (Accept: application/json) get the API.
    const isAppNavigation =
      hasWeb &&
      (method === 'GET' || method === 'HEAD') &&
      SPA_ROUTES.test(url.pathname) &&
      (req.headers.accept ?? '').includes('text/html');
    const group = isAppNavigation ? undefined : groupForPath(url.pathname);
    if (group) {
      let body: string | null;
      try {
        body = await readBody(req);
      } catch (e) {
        if (e instanceof BodyTooLargeError) {
          sendJson(res, 413, {
            error: { code: 'PAYLOAD_TOO_LARGE', message: 'body: the request body is too large' },
          });
          return;
        }
        throw e;
      }
      const event = toProxyEvent(req, url, body);
      const result = await handlers[group](event, localContext(event.requestContext.requestId));
      writeResult(res, result, method === 'HEAD');
      return;
    }
    if (method === 'GET' || method === 'HEAD') {
      if (url.pathname === '/config.json') {
        sendJson(res, 200, { apiBaseUrl: '' });
        return;
      }
      if (hasWeb && webDist) {
        const file = url.pathname === '/' ? join(webDist, 'index.html') : staticFile(webDist, url.pathname);
        const wantsHtml = (req.headers.accept ?? '').includes('text/html');
        const chosen = file ?? (wantsHtml ? join(webDist, 'index.html') : undefined);
        if (chosen) {
          const data = readFileSync(chosen);
          res.writeHead(200, {
            'content-type': STATIC_TYPES[extname(chosen)] ?? 'application/octet-stream',
            'content-length': String(data.length),
            // Hashed asset names can be cached; the page itself must not be.
            'cache-control': chosen.includes(`${sep}assets${sep}`)
              ? 'public, max-age=31536000, immutable'
              : 'no-cache',
            ...pageHeaders,
          });
          res.end(method === 'HEAD' ? undefined : data);
          return;
        }
      }
    }
    sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `No route for ${method} ${url.pathname}` } });
  }

  const server = createServer((req, res) => {
    inFlight++;
    res.on('close', () => {
      inFlight--;
      settleIdle();
    });
    handle(req, res).catch((err) => {
      log.error({ err }, 'local host failure');
      if (!res.headersSent)
        sendJson(res, 500, { error: { code: 'INTERNAL', message: 'Internal server error.' } });
      else res.destroy();
    });
  });
  // Keep-alive sockets would hold close() open; the API is request/response, 5 s of idle is plenty.
  server.keepAliveTimeout = 5_000;

  const host = opts.host ?? settings.HOST;
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? settings.PORT, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  // After the caller has printed its ready line (a macrotask later): see selectWorkflows.
  if (prepareWorkflows) setImmediate(prepareWorkflows);
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const grace = opts.shutdownGraceMs ?? SHUTDOWN_GRACE_MS;
  async function close() {
    closing ??= (async () => {
      const deadline = Date.now() + grace;
      const stopped = new Promise<void>((ok) => server.close(() => ok()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((ok) => idleWaiters.push(ok)),
          new Promise<void>((ok) => setTimeout(ok, Math.max(0, deadline - Date.now())).unref()),
        ]);
      }
      server.closeAllConnections();
      await stopped;
      const drained = await workflows.drain(Math.max(0, deadline - Date.now()));
      if (!drained) {
        log.warn('shutdown: some workflows were still running when the grace period ended');
        if (container.database.driver === 'pglite') {
          const marked = await markInterruptedWork(container.db, 'interrupted: the local host stopped').catch(
            (e: Error) => {
              log.error({ err: e.message }, 'shutdown: could not mark interrupted work');
              return undefined;
            },
          );
          if (marked)
            log.warn(marked, 'shutdown: unfinished backtests and analyses marked failed (INTERRUPTED)');
        }
      }
      await workflows.close?.();
      if (ownContainer) await container.close();
    })();
    return closing;
  }

  return {
    url,
    port,
    container,
    workflows,
    describe: () =>
      `listening on ${url} (${describeContainer(container)}, workflows: ${workflows.kind}${hasWeb ? ', web: web/dist' : ''})`,
    close,
  };
}
