/**
 * The scaffold the local protocol servers share (binance-server.ts, sentiment-server.ts): a real
 * node:http server on 127.0.0.1:0 that records every request, injects queued faults (each for `times`
 * requests, optionally to one path; `slow` delays the normal answer), answers Binance's documented
 * faults (Binance's spot and futures hosts fail alike), and closes its sockets and timers on `close()`.
 * Each server supplies only its routes (and its own extra faults).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultSpec =
  | { kind: 'rate-limit'; status?: 429 | 418; retryAfterSeconds?: number | null }
  | { kind: 'server-error'; status?: number }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'blocked'; status?: 451 | 403 }
  | { kind: 'binance-error'; code: number; msg?: string; status?: number }
  | { kind: 'malformed-body' }
  | { kind: 'drop-connection' };

/** Queue options of any fault. */
export interface FaultQueueing {
  /** How many matching requests it hits (default 1; Infinity for "until cleared"). */
  times?: number;
  /** Only requests to this path (e.g. '/api/v3/klines'); default every path. */
  path?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  status: number;
  fault?: string;
  /** Rows returned (where the server counts them). */
  rows?: number;
}

/** Binance's documented error texts (binance-spot-api-docs errors.md, as in api-samples/errors.json). */
export const BINANCE_ERRORS = {
  invalidSymbol: { code: -1121, msg: 'Invalid symbol.' },
  invalidInterval: { code: -1120, msg: 'Invalid interval.' },
  illegalSymbol: {
    code: -1100,
    msg: "Illegal characters found in parameter 'symbol'; legal range is '^[A-Z0-9-_.]{1,20}$'.",
  },
  illegalLimit: {
    code: -1100,
    msg: "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
  },
  tooManyRequests: {
    code: -1003,
    msg: 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.',
  },
  banned: {
    code: -1003,
    msg: 'Way too much request weight used; IP banned until %s. Please use WebSocket Streams for live updates to avoid bans.',
  },
} as const;

/** Writes a JSON (or given text) answer; returns the status, for the request record. */
export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): number {
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
  return status;
}

/**
 * Answers one of Binance's faults; `malformedBody` is the truncated 200 this protocol would send.
 * Returns undefined for `slow` (the delay is over: answer normally).
 */
export function answerFault(
  req: IncomingMessage,
  res: ServerResponse,
  fault: FaultSpec,
  malformedBody: string,
): number | undefined {
  switch (fault.kind) {
    case 'rate-limit': {
      const status = fault.status ?? 429;
      const headers: Record<string, string> = {};
      const retry = fault.retryAfterSeconds === undefined ? 1 : fault.retryAfterSeconds;
      if (retry !== null) headers['retry-after'] = String(retry);
      return send(
        res,
        status,
        status === 418 ? BINANCE_ERRORS.banned : BINANCE_ERRORS.tooManyRequests,
        headers,
      );
    }
    case 'server-error':
      return send(res, fault.status ?? 500, '<html><body><h1>500 Internal Server Error</h1></body></html>', {
        'content-type': 'text/html',
      });
    case 'blocked':
      return send(res, fault.status ?? 451, {
        code: 0,
        msg: "Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms.",
      });
    case 'binance-error':
      return send(res, fault.status ?? 400, { code: fault.code, msg: fault.msg ?? 'Error.' });
    case 'malformed-body':
      return send(res, 200, malformedBody);
    case 'drop-connection':
      req.socket.destroy();
      return 0;
    case 'slow':
      return undefined;
  }
}

export interface ProtocolServer<F> {
  readonly url: string;
  readonly requests: RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  injectFault(fault: F): void;
  clearFaults(): void;
  close(): Promise<void>;
}

/**
 * Starts the server: `respond` answers one request (given the fault it drew, if any, already recorded
 * on `rec.fault`) and returns the status it sent.
 */
export async function startProtocolServer<F extends { kind: string } & FaultQueueing>(
  respond: (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    rec: RecordedRequest,
    fault: F | undefined,
  ) => number,
): Promise<ProtocolServer<F>> {
  const faults: (F & { remaining: number })[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  function takeFault(path: string): F | undefined {
    const i = faults.findIndex((f) => !f.path || f.path === path);
    if (i < 0) return undefined;
    const f = faults[i]!;
    f.remaining--;
    if (f.remaining <= 0) faults.splice(i, 1);
    return f;
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      params: Object.fromEntries(url.searchParams),
      status: 0,
    };
    requests.push(rec);
    const fault = takeFault(url.pathname);
    if (fault) rec.fault = fault.kind;
    const run = () => {
      rec.status = respond(req, res, url, rec, fault);
    };
    const delayMs = fault?.kind === 'slow' ? (fault as { delayMs?: number }).delayMs : undefined;
    if (delayMs !== undefined) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) run();
      }, delayMs);
      timers.add(timer);
    } else run();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    injectFault: (fault) => {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    clearFaults: () => {
      faults.length = 0;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}
