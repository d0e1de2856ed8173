/**
 * A local HTTP server speaking OpenAI's chat-completions protocol (POST /v1/chat/completions), so
 * tests and benchmarks exercise the real `openai` SDK path: usage fields, latency, 429 with
 * Retry-After, 5xx, timeouts, malformed and schema-invalid JSON.
 *
 *   const s = await startOpenAIServer({ latencyMs: 50, usage: { prompt_tokens: 120, completion_tokens: 40 } });
 *   settings.LLM_BASE_URL = s.url;            // base URL including /v1
 *   s.queueFault({ kind: 'rate_limit', retryAfterSeconds: 2 }, { schemaName: 'technical' });
 *   ... s.requests (every request received, with its parsed body and schema name) ...
 *   await s.close();
 *
 * Faults are queued and consumed one per matching request (FIFO), optionally only by requests whose
 * response_format schema name matches, so one agent can be made to fail while the others answer.
 * The default responder returns a schema-valid answer for each of the six agents by schema name
 * (`technical`, `sentiment`, `tokenomics`, `researcher`, `trader`, `risk`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  body: ChatRequestBody;
  /** response_format.json_schema.name, or undefined in JSON mode. */
  schemaName: string | undefined;
  /** The fault served to this request, if any. */
  fault: Fault['kind'] | undefined;
  authorization: string | undefined;
  /** True once the client closed the connection before any reply was sent (e.g. its timeout fired). */
  abortedByClient: boolean;
}

export interface ChatRequestBody {
  model: string;
  messages: { role: string; content: string }[];
  temperature?: number;
  seed?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  response_format?: { type: string; json_schema?: { name: string; strict?: boolean; schema: unknown } };
  [k: string]: unknown;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
}

export type Fault =
  /**
   * 429. `code` is OpenAI's error code (`insufficient_quota` when the account is out of credit, which
   * no retry can fix); `shouldRetry` sends OpenAI's `x-should-retry` header.
   */
  | { kind: 'rate_limit'; retryAfterSeconds?: number; code?: string; shouldRetry?: boolean }
  /** 401 whose message echoes the Authorization header it got, as some proxies do. */
  | { kind: 'unauthorized' }
  | { kind: 'server_error'; status?: number }
  /** Never answers; the client's timeout must fire. */
  | { kind: 'hang' }
  /** 200 with content that is not JSON. */
  | { kind: 'malformed' }
  /** 200 with JSON that does not match the requested schema. */
  | { kind: 'schema_invalid' }
  /** 200 whose message is a refusal (`content: null`, `refusal: "..."`), as OpenAI's safety system answers. */
  | { kind: 'refusal' };

export type Responder = (req: { body: ChatRequestBody; schemaName: string | undefined }) => unknown;

export interface OpenAIServerOptions {
  latencyMs?: number;
  /** Content for a request: a string is sent as is, anything else as JSON. Default: defaultResponder. */
  respond?: Responder;
  /** null: the reply carries no `usage` field (some OpenAI-compatible servers omit it). */
  usage?: Usage | null | ((body: ChatRequestBody) => Usage | null);
}

export interface OpenAIServer {
  /** Base URL including /v1, for the SDK's baseURL. */
  url: string;
  requests: RecordedRequest[];
  queueFault(fault: Fault, opts?: { schemaName?: string; times?: number }): void;
  /** Drop every queued fault (e.g. one queued with `times: Infinity`, "until cleared"), and failEvery. */
  clearFaults(): void;
  /** Every n-th request (the n-th, 2n-th, ...) gets `fault`, until clearFaults(): "one call in n fails". */
  failEvery(n: number, fault: Fault): void;
  /** Requests that reached the completion endpoint (faulted ones included). */
  readonly count: number;
  setLatency(ms: number): void;
  close(): Promise<void>;
}

export const DEFAULT_USAGE: Usage = { prompt_tokens: 321, completion_tokens: 87, cached_tokens: 64 };

/** Fixed, schema-valid answers: a bullish, confident firm that buys a small size. */
export const DEFAULT_ANSWERS: Record<string, unknown> = {
  technical: {
    trend: 'bullish',
    momentum: 'rising',
    condition: 'neutral',
    regime: 'bull',
    signal_strength: 0.7,
    reasons: ['close above EMA50 and EMA200; MACD histogram positive'],
  },
  sentiment: {
    sentiment: 'bullish',
    score: 0.4,
    key_themes: ['ETF'],
    data_note: 'static data',
    reasons: ['recent items are positive'],
  },
  tokenomics: {
    outlook: 'neutral',
    supply_pressure: 'medium',
    key_risks: ['issuance'],
    reasons: ['moderate issuance'],
  },
  researcher: {
    stance: 'bullish',
    thesis: 'Trend and sentiment agree.',
    confidence: 0.8,
    top_risks: ['volatility'],
    justification: 'Technical strength with supportive sentiment.',
  },
  trader: {
    action: 'BUY',
    size_pct: 5,
    stop_loss_pct: 3,
    take_profit_pct: 6,
    reasons: ['bullish thesis with high confidence'],
  },
  risk: { verdict: 'APPROVE', adjusted_size_pct: null, explanation: 'Within limits.' },
};

/** In JSON mode there is no schema name: the agent is recognized by its fields in the system message. */
function agentFromMessages(body: ChatRequestBody): string | undefined {
  const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
  return Object.keys(DEFAULT_ANSWERS).find((name) =>
    Object.keys(DEFAULT_ANSWERS[name] as object).every((k) => system.includes(`"${k}"`)),
  );
}

export const defaultResponder: Responder = ({ body, schemaName }) => {
  const name = schemaName ?? agentFromMessages(body);
  const answer = name ? DEFAULT_ANSWERS[name] : undefined;
  if (!answer) return { error: `no default answer for schema ${schemaName ?? '(JSON mode)'}` };
  return answer;
};

const INVALID_BY_SCHEMA = { not_the_schema: true, signal_strength: 'very high' };

export async function startOpenAIServer(opts: OpenAIServerOptions = {}): Promise<OpenAIServer> {
  let latencyMs = opts.latencyMs ?? 0;
  const respond = opts.respond ?? defaultResponder;
  const usageOf = (b: ChatRequestBody): Usage | null =>
    typeof opts.usage === 'function' ? opts.usage(b) : opts.usage === undefined ? DEFAULT_USAGE : opts.usage;
  const requests: RecordedRequest[] = [];
  const faults: { fault: Fault; schemaName?: string; left: number }[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let completionId = 0;
  let closing = false;
  let every: { n: number; fault: Fault; seen: number } | null = null;

  const takeFault = (schemaName: string | undefined): Fault | undefined => {
    if (every) {
      every.seen++;
      if (every.seen % every.n === 0) return every.fault;
    }
    const i = faults.findIndex((f) => f.schemaName === undefined || f.schemaName === schemaName);
    if (i < 0) return undefined;
    const f = faults[i]!;
    f.left--;
    if (f.left <= 0) faults.splice(i, 1);
    return f.fault;
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      send(res, 404, {
        error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' },
      });
      return;
    }
    let body: ChatRequestBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequestBody;
    } catch {
      send(res, 400, { error: { message: 'invalid JSON body', type: 'invalid_request_error' } });
      return;
    }
    const schemaName = body.response_format?.json_schema?.name;
    const fault = takeFault(schemaName);
    const recorded: RecordedRequest = {
      body,
      schemaName,
      fault: fault?.kind,
      authorization: req.headers.authorization,
      abortedByClient: false,
    };
    requests.push(recorded);
    res.on('close', () => {
      if (!res.writableEnded && !closing) recorded.abortedByClient = true;
    });
    if (fault?.kind === 'hang') return; // the socket stays open until the client gives up or close()
    if (latencyMs > 0)
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          timers.delete(t);
          r();
        }, latencyMs);
        timers.add(t);
      });
    if (fault?.kind === 'rate_limit') {
      send(
        res,
        429,
        {
          error: {
            message: 'Rate limit reached',
            type: 'requests',
            code: fault.code ?? 'rate_limit_exceeded',
          },
        },
        {
          ...(fault.retryAfterSeconds === undefined
            ? {}
            : { 'retry-after': String(fault.retryAfterSeconds) }),
          ...(fault.shouldRetry === undefined ? {} : { 'x-should-retry': String(fault.shouldRetry) }),
        },
      );
      return;
    }
    if (fault?.kind === 'unauthorized') {
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      send(res, 401, {
        error: {
          message: `Incorrect API key provided: ${key}.`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      });
      return;
    }
    if (fault?.kind === 'server_error') {
      send(res, fault.status ?? 500, { error: { message: 'The server had an error', type: 'server_error' } });
      return;
    }
    let content: string | null;
    if (fault?.kind === 'refusal') content = null;
    else if (fault?.kind === 'malformed') content = '{"trend": "bullish", oops this is not json';
    else if (fault?.kind === 'schema_invalid') content = JSON.stringify(INVALID_BY_SCHEMA);
    else {
      const out = respond({ body, schemaName });
      content = typeof out === 'string' ? out : JSON.stringify(out);
    }
    const u = usageOf(body);
    completionId++;
    send(res, 200, {
      id: `chatcmpl-test-${completionId}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content,
            refusal: fault?.kind === 'refusal' ? "I'm sorry, I can't help with that request." : null,
          },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      ...(u
        ? {
            usage: {
              prompt_tokens: u.prompt_tokens,
              completion_tokens: u.completion_tokens,
              total_tokens: u.prompt_tokens + u.completion_tokens,
              prompt_tokens_details: { cached_tokens: u.cached_tokens ?? 0 },
            },
          }
        : {}),
    });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => send(res, 500, { error: { message: String(e), type: 'server_error' } }));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    get count() {
      return requests.length;
    },
    queueFault(fault, o) {
      faults.push({ fault, schemaName: o?.schemaName, left: o?.times ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
      every = null;
    },
    failEvery(n, fault) {
      every = { n, fault, seen: 0 };
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    close: async () => {
      closing = true;
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
