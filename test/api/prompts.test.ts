/**
 * The prompt registry over HTTP (the local host, PGlite, the offline provider, the team's real candles):
 * GET /prompts, /prompts/{agent}, /prompts/{agent}/{version}, strict validation, the OpenAPI document,
 * and POST /backtest with pinned prompt versions (400 for an unknown one, nothing recorded).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_PROMPTS, PROMPT_AGENTS } from '../../shared/prompts/builtin';
import { createPromptVersion } from '../../shared/prompts/registry';
import { HAS_DATA, type Harness, pollUntil, SKIP_REASON, startHarness } from './harness';

describe.skipIf(!HAS_DATA)(`the prompt registry through the API ${HAS_DATA ? '' : SKIP_REASON}`, () => {
  let h: Harness;
  let manual: string;
  beforeAll(async () => {
    h = await startHarness({ workflows: 'inprocess' });
    // The host registered the builtins at start; a person's version beside the trader's.
    manual = (
      await createPromptVersion(h.server.container.db, {
        agent: 'trader',
        text: `${BUILTIN_PROMPTS.trader.text}\nPrefer half sizes in HIGH_VOL.`,
        origin: 'manual',
        parent: BUILTIN_PROMPTS.trader.version,
      })
    ).version;
  }, 180_000);
  afterAll(async () => {
    await h?.close();
  });

  it('GET /prompts lists every agent with its active and builtin versions', async () => {
    const r = await h.get('/prompts');
    expect(r.status).toBe(200);
    expect(r.body.agents.map((a: { agent: string }) => a.agent)).toEqual(PROMPT_AGENTS);
    const trader = r.body.agents.find((a: { agent: string }) => a.agent === 'trader');
    expect(trader).toMatchObject({
      label: 'Trader',
      decisionAgent: true,
      activeVersion: BUILTIN_PROMPTS.trader.version,
      builtinVersion: BUILTIN_PROMPTS.trader.version,
      activeSetBy: 'builtin',
      versions: 2,
      abVersions: [],
    });
    expect(r.body.agents.find((a: { agent: string }) => a.agent === 'strategy_builder')).toMatchObject({
      decisionAgent: false,
      versions: 1,
    });
  });

  it('GET /prompts/{agent} gives the versions, newest first, with their scores and sample size', async () => {
    const r = await h.get('/prompts/trader');
    expect(r.status).toBe(200);
    expect(r.body.agent.agent).toBe('trader');
    expect(r.body.versions.map((v: { version: string }) => v.version)).toEqual([
      manual,
      BUILTIN_PROMPTS.trader.version,
    ]);
    expect(r.body.versions[0]).toMatchObject({
      origin: 'manual',
      parent: BUILTIN_PROMPTS.trader.version,
      active: false,
      builtin: false,
      inAbTest: false,
      scores: { all: { count: 0, wins: 0, winRate: null, meanPnlPct: null } },
    });
    expect(r.body.versions[1]).toMatchObject({ origin: 'builtin', label: 'trader@1', active: true });
  });

  it('GET /prompts/{agent}/{version} gives the text', async () => {
    const r = await h.get(`/prompts/risk/${BUILTIN_PROMPTS.risk.version}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      agent: 'risk',
      version: BUILTIN_PROMPTS.risk.version,
      origin: 'builtin',
      text: BUILTIN_PROMPTS.risk.text,
    });
    expect(Date.parse(r.body.firstSeenAt)).toBeGreaterThan(0);
  });

  it('refuses unknown query parameters, agents and versions clearly', async () => {
    const cases: [string, number, RegExp][] = [
      ['/prompts?agent=trader', 400, /agent: unknown query parameter/],
      ['/prompts/trader?limit=5', 400, /limit: unknown query parameter/],
      ['/prompts/banker', 404, /no agent banker/],
      ['/prompts/Trader', 400, /agent/],
      ['/prompts/trader/v1', 400, /12 hex digits/],
      ['/prompts/trader/0123456789ab', 404, /trader has no prompt version 0123456789ab/],
      // A version of another agent is not this agent's.
      [`/prompts/trader/${BUILTIN_PROMPTS.risk.version}`, 404, /no prompt version/],
    ];
    for (const [path, status, message] of cases) {
      const r = await h.get(path);
      expect(r.status, path).toBe(status);
      expect(r.body.error.message, path).toMatch(message);
    }
  });

  it('the OpenAPI document has the three routes', async () => {
    const r = await h.get('/openapi.json');
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining(['/prompts', '/prompts/{agent}', '/prompts/{agent}/{version}']),
    );
  });

  it('POST /backtest pins a version per agent; an unknown one is a 400 naming it and records nothing', async () => {
    const body = {
      symbol: 'BTCUSDT',
      start_date: '2025-06-01',
      end_date: '2025-06-10',
      timeframe: '4h',
      max_decisions: 3,
    };
    const before = (await h.get('/backtests')).body.items.length;
    const unknown = await h.post('/backtest', { ...body, prompt_versions: { trader: '0123456789ab' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({
      code: 'VALIDATION_ERROR',
      details: { field: 'prompt_versions.trader' },
    });
    const badAgent = await h.post('/backtest', { ...body, prompt_versions: { banker: manual } });
    expect(badAgent.status).toBe(400);
    expect(badAgent.body.error.message).toMatch(/banker/);
    const badId = await h.post('/backtest', { ...body, prompt_versions: { trader: 'latest' } });
    expect(badId.status).toBe(400);
    expect(badId.body.error.message).toMatch(/prompt_versions\.trader/);
    expect((await h.get('/backtests')).body.items.length).toBe(before);

    const ok = await h.post('/backtest', { ...body, prompt_versions: { trader: manual } });
    expect(ok.status).toBe(202);
    const done = await pollUntil(
      h,
      `/backtests/${ok.body.id}`,
      (b) => b.status !== 'pending' && b.status !== 'running',
    );
    expect(done.status).toBe('succeeded');
    expect(done.pinnedPromptVersions).toEqual({ trader: manual });
    expect(done.promptVersions.trader).toBe(manual);
    const decision = await h.get(`/analyses/${done.result.decisions[0].id}`);
    expect(decision.body.promptVersions.trader).toBe(manual);
    expect(decision.body.agents.trader.promptVersion).toBe(manual);
  });
});
