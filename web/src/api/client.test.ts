/**
 * The API client against a real local HTTP server (node:http), so status codes, bodies and network
 * failures go through the real fetch path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, runAnalysisToEnd } from './client';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
const seen: { method: string; url: string; body: string }[] = [];
let baseUrl = '';
const server = createServer(async (req, res) => {
  let body = '';
  for await (const chunk of req) body += chunk;
  seen.push({ method: req.method ?? '', url: req.url ?? '', body });
  const route = routes.get(`${req.method} ${new URL(req.url ?? '/', 'http://x').pathname}`);
  if (route) return route(req, body, res);
  json(res, 404, { error: { code: 'NOT_FOUND', message: 'no such route' } });
});

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const analysis = {
  id: 'a1',
  status: 'completed',
  decisionClass: 'decided',
  symbol: 'BTCUSDT',
  timeframe: '1h',
  mode: 'live',
  runId: 'live',
  backtestId: null,
  decisionTime: '2025-01-01T00:00:00.000Z',
  provider: 'offline',
  agents: { technical: null, sentiment: null, tokenomics: null, researcher: null, trader: null, risk: null },
  final: null,
  execution: null,
  portfolio: null,
  cost: { calls: 0, cacheHits: 0, tokensIn: 0, tokensOut: 0, costUsd: 0, latencyMs: 0 },
  promptVersions: {},
  decisionMode: 'pipeline',
  consensus: null,
  regime: { detector: null, technical: null, agree: null },
  error: null,
  createdAt: '2025-01-01T00:00:00.000Z',
  completedAt: null,
};

describe('createApiClient', () => {
  it('returns validated data and sends query parameters', async () => {
    routes.set('GET /health', (_req, _b, res) => json(res, 200, { status: 'ok' }));
    routes.set('GET /trades', (_req, _b, res) => json(res, 200, { items: [], nextCursor: null }));
    const api = createApiClient({ baseUrl: `${baseUrl}/` });
    expect(await api.health()).toEqual({ status: 'ok' });
    expect(await api.trades({ limit: 5, cursor: 'abc' })).toEqual({ items: [], nextCursor: null });
    expect(seen.at(-1)?.url).toBe('/trades?limit=5&cursor=abc');
  });

  it("carries the API's error code, message, details and a hint", async () => {
    routes.set('POST /backtest', (_req, _b, res) =>
      json(res, 400, {
        error: {
          code: 'VALIDATION_ERROR',
          message: 'max_decisions: max_decisions must be at least 1',
          details: { field: 'max_decisions' },
        },
      }),
    );
    const api = createApiClient({ baseUrl });
    const err = await api
      .startBacktest({
        symbol: 'BTCUSDT',
        start_date: '2025-01-01',
        end_date: '2025-02-01',
        timeframe: '4h',
        max_decisions: 0,
        decision_interval: 1,
        fill: 'next_open',
        blind: false,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.status).toBe(400);
    expect(e.message).toBe('max_decisions: max_decisions must be at least 1');
    expect(e.details).toEqual({ field: 'max_decisions' });
    expect(e.hint).toMatch(/Correct the input/);
    expect(JSON.parse(seen.at(-1)?.body ?? '{}')).toMatchObject({ max_decisions: 0 });
  });

  it('sends one Idempotency-Key per write, and asks for the write key once when the API wants it', async () => {
    const required = {
      error: { code: 'WRITE_KEY_REQUIRED', message: 'This deployment requires a write key' },
    };
    const headersSeen: { key?: string; writeKey?: string }[] = [];
    routes.set('POST /backtest', (req, _b, res) => {
      const writeKey = req.headers['x-write-key'] as string | undefined;
      headersSeen.push({ key: req.headers['idempotency-key'] as string, ...(writeKey ? { writeKey } : {}) });
      if (writeKey !== 'the-key-of-this-deployment') return json(res, 401, required);
      json(res, 202, {
        id: 'b1',
        status: 'pending',
        poll: '/backtests/b1',
        estimate: {
          decisions: 1,
          callsPerDecision: 6,
          tokensIn: 1,
          tokensOut: 1,
          costUsd: 0,
          provider: 'offline',
          models: { cheap: 'a', strong: 'b' },
          note: 'n',
        },
      });
    });
    let stored: string | null = null;
    let asked = 0;
    let n = 0;
    const api = createApiClient({
      baseUrl,
      newIdempotencyKey: () => `key-${++n}`,
      writeKey: {
        get: () => stored,
        set: (k) => {
          stored = k;
        },
        ask: () => {
          asked++;
          return 'the-key-of-this-deployment';
        },
      },
    });
    const req = {
      symbol: 'BTCUSDT',
      start_date: '2025-01-01',
      end_date: '2025-02-01',
      timeframe: '4h' as const,
      max_decisions: 1,
      decision_interval: 1,
      fill: 'next_open' as const,
      blind: false,
    };
    expect((await api.startBacktest(req)).id).toBe('b1');
    // Refused without the key, asked once, retried with the same idempotency key.
    expect(headersSeen).toEqual([{ key: 'key-1' }, { key: 'key-1', writeKey: 'the-key-of-this-deployment' }]);
    expect(asked).toBe(1);
    // The next write sends the kept key at once, with a new idempotency key.
    await api.startBacktest(req);
    expect(headersSeen.at(-1)).toEqual({ key: 'key-2', writeKey: 'the-key-of-this-deployment' });
    expect(asked).toBe(1);
  });

  it("reviews a proposal: the validated adjustment, or the API's 409 for a stale one as a CONFLICT", async () => {
    const adjustment = {
      id: 'adj-1',
      cycleId: 'c1',
      runId: 'live',
      kind: 'parameter',
      parameter: 'researcherMinConfidence',
      agent: null,
      oldValue: 0.55,
      newValue: 0.6,
      confidence: 86,
      riskLevel: 'LOW',
      priority: 'HIGH',
      reasoning: 'losers at 0.5-0.6',
      patterns: ['losing confidence 0.5-0.6'],
      evidence: 12,
      status: 'applied',
      invalidReason: null,
      baseVersionId: 'v1',
      appliedVersionId: 'v2',
      promptVersion: null,
      decidedBy: 'api',
      decidedAt: '2025-01-01T00:00:00.000Z',
      createdAt: '2025-01-01T00:00:00.000Z',
    };
    routes.set('POST /adjustments/adj-1/approve', (_req, _b, res) => json(res, 200, adjustment));
    routes.set('POST /adjustments/adj-2/approve', (_req, _b, res) =>
      json(res, 409, {
        error: {
          code: 'CONFLICT',
          message: 'adjustment adj-2 is stale: researcherMinConfidence is now 0.6 (version 2)',
          details: { parameter: 'researcherMinConfidence', current: 0.6 },
        },
      }),
    );
    const api = createApiClient({ baseUrl, newIdempotencyKey: () => 'k' });
    expect(await api.reviewAdjustment('adj-1', 'approve')).toMatchObject({
      status: 'applied',
      appliedVersionId: 'v2',
    });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/adjustments/adj-1/approve', body: '{}' });
    const err = await api.reviewAdjustment('adj-2', 'approve').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'CONFLICT', status: 409 });
    expect((err as ApiError).message).toMatch(/stale/);
    // A broken answer (a status outside the contract) is refused, naming the field.
    routes.set('POST /adjustments/adj-3/reject', (_req, _b, res) =>
      json(res, 200, { ...adjustment, id: 'adj-3', status: 'approved' }),
    );
    await expect(api.reviewAdjustment('adj-3', 'reject')).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
  });

  it('resumes a backtest with a POST (an idempotency key), and reports a 409 as CONFLICT', async () => {
    routes.set('POST /backtests/b9/resume', (req, _b, res) =>
      req.headers['idempotency-key']
        ? json(res, 202, { id: 'b9', status: 'pending', poll: '/backtests/b9', toRun: 2, kept: 18 })
        : json(res, 400, { error: { code: 'VALIDATION_ERROR', message: 'no key' } }),
    );
    routes.set('POST /backtests/b8/resume', (_req, _b, res) =>
      json(res, 409, {
        error: { code: 'CONFLICT', message: 'backtest b8 has no failed or missing decision to resume' },
      }),
    );
    const api = createApiClient({ baseUrl });
    expect(await api.resumeBacktest('b9')).toEqual({
      id: 'b9',
      status: 'pending',
      poll: '/backtests/b9',
      toRun: 2,
      kept: 18,
    });
    const err = (await api.resumeBacktest('b8').catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('CONFLICT');
    expect(err.status).toBe(409);
  });

  it('resumes a study with a POST, validating the answer', async () => {
    const answer = {
      id: 's1',
      status: 'pending',
      poll: '/studies/s1',
      cells: 2,
      backtestsResumed: 2,
      decisionsToRun: 3,
      decisionsKept: 9,
    };
    routes.set('POST /studies/s1/resume', (_req, _b, res) => json(res, 202, answer));
    routes.set('POST /studies/s2/resume', (_req, _b, res) => json(res, 202, { ...answer, cells: 'two' }));
    const api = createApiClient({ baseUrl });
    expect(await api.resumeStudy('s1')).toEqual(answer);
    const err = (await api.resumeStudy('s2').catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('BAD_RESPONSE');
    expect(err.message).toMatch(/cells/);
  });

  it('reports an error status without a JSON error body as HTTP_<status>', async () => {
    routes.set('GET /costs', (_req, _b, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>Bad gateway</html>');
    });
    const err = (await createApiClient({ baseUrl })
      .costs()
      .catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('HTTP_502');
    expect(err.status).toBe(502);
    expect(err.hint).toMatch(/server logs/);
  });

  it('refuses an answer that breaks the contract, naming the field', async () => {
    routes.set('GET /portfolio', (_req, _b, res) => json(res, 200, { runId: 'live', cash: 'lots' }));
    const err = (await createApiClient({ baseUrl })
      .portfolio()
      .catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('BAD_RESPONSE');
    expect(err.message).toMatch(/GET \/portfolio does not match the contract: initialCash/);
  });

  it('turns an unreachable server into a NETWORK error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = (await createApiClient({ baseUrl: `http://127.0.0.1:${port}` })
      .health()
      .catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('NETWORK');
    expect(err.status).toBe(0);
    expect(err.hint).toMatch(/npm start/);
  });

  it('runAnalysisToEnd polls a 202 until the analysis settles', async () => {
    let polls = 0;
    routes.set('POST /analyze', (_req, _b, res) =>
      json(res, 202, { id: 'a1', status: 'pending', poll: '/analyses/a1' }),
    );
    routes.set('GET /analyses/a1', (_req, _b, res) => {
      polls++;
      json(res, 200, { ...analysis, status: polls < 3 ? 'running' : 'completed' });
    });
    const accepted: string[] = [];
    const result = await runAnalysisToEnd(
      createApiClient({ baseUrl }),
      { symbol: 'BTCUSDT' },
      {
        pollMs: 1,
        onAccepted: (id) => accepted.push(id),
      },
    );
    expect(accepted).toEqual(['a1']);
    expect(polls).toBe(3);
    expect(result.status).toBe('completed');
    const post = seen.find((s) => s.method === 'POST' && s.url === '/analyze');
    expect(JSON.parse(post?.body ?? '{}')).toEqual({ symbol: 'BTCUSDT', mode: 'live' });
  });

  it('runAnalysisToEnd returns a 200 analysis without polling', async () => {
    routes.set('POST /analyze', (_req, _b, res) => json(res, 200, { ...analysis, id: 'a2' }));
    const result = await runAnalysisToEnd(createApiClient({ baseUrl }), { symbol: 'BTCUSDT' }, { pollMs: 1 });
    expect(result.id).toBe('a2');
  });

  it('reads the prompt registry: agents, versions with scores, a text; a drifted answer is an error', async () => {
    const agent = {
      agent: 'trader',
      label: 'Trader',
      decisionAgent: true,
      activeVersion: 'aaaaaaaaaaaa',
      activeSince: null,
      activeSetBy: 'builtin',
      builtinVersion: 'aaaaaaaaaaaa',
      versions: 2,
      abVersions: [],
    };
    const score = { count: 4, wins: 2, winRate: 0.5, meanPnlPct: 0.5 };
    const empty = { count: 0, wins: 0, winRate: null, meanPnlPct: null };
    const version = {
      version: 'bbbbbbbbbbbb',
      origin: 'learning',
      parent: 'aaaaaaaaaaaa',
      label: null,
      note: 'learning adjustment x',
      firstSeenAt: '2025-01-01T00:00:00.000Z',
      active: false,
      builtin: false,
      inAbTest: true,
      chars: 120,
      scores: { all: score, live: score, backtest: empty },
    };
    routes.set('GET /prompts', (_req, _b, res) => json(res, 200, { agents: [agent] }));
    routes.set('GET /prompts/trader', (_req, _b, res) => json(res, 200, { agent, versions: [version] }));
    routes.set('GET /prompts/trader/bbbbbbbbbbbb', (_req, _b, res) =>
      json(res, 200, {
        agent: 'trader',
        version: 'bbbbbbbbbbbb',
        origin: 'learning',
        parent: 'aaaaaaaaaaaa',
        label: null,
        note: null,
        firstSeenAt: '2025-01-01T00:00:00.000Z',
        text: 'You are the trader.',
      }),
    );
    routes.set('GET /prompts/risk', (_req, _b, res) =>
      json(res, 200, { agent, versions: [{ version: 'x' }] }),
    );
    const api = createApiClient({ baseUrl });
    expect((await api.prompts()).agents[0]!.activeVersion).toBe('aaaaaaaaaaaa');
    const v = await api.agentPrompts('trader');
    expect(v.versions[0]!.scores.all).toEqual(score);
    expect(v.versions[0]!.scores.backtest.winRate).toBeNull();
    expect((await api.promptText('trader', 'bbbbbbbbbbbb')).text).toBe('You are the trader.');
    expect(seen.at(-1)?.url).toBe('/prompts/trader/bbbbbbbbbbbb');
    const err = await api.agentPrompts('risk').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('BAD_RESPONSE');
  });
});
