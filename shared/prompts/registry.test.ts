import { createHash, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { createContainer } from '../../functions/runtime/container';
import { ConfigError, loadSettings } from '../config/settings';
import { agentPromptActive, agentPrompts, runs, strategyAdjustments, tradeOutcomes } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { approveAdjustment } from '../learning/review';
import { emptyContext } from '../outcomes/context';
import { abArm, abAssignment, parsePromptAb } from './ab';
import { BUILTIN_PROMPTS, PROMPT_AGENTS, promptVersionId } from './builtin';
import { agentPromptVersions, listPromptAgents } from './read';
import {
  activatePromptVersion,
  activePromptVersions,
  assertPromptAbSetting,
  assertPromptVersionsExist,
  assignDecisionPrompts,
  createPromptVersion,
  listPromptVersions,
  promptForDecision,
  promptLessonSink,
  registerBuiltinPrompts,
} from './registry';
import { promptScores } from './scores';

describe('prompt version ids', () => {
  it('are the first 12 hex digits of the sha256 of the text', () => {
    const text = 'You are a trader.';
    expect(promptVersionId(text)).toBe(createHash('sha256').update(text).digest('hex').slice(0, 12));
    expect(promptVersionId(text)).toMatch(/^[0-9a-f]{12}$/);
    expect(promptVersionId(`${text} `)).not.toBe(promptVersionId(text));
  });

  it('every model agent has a builtin prompt, the learning agents included, each its own version', () => {
    expect(PROMPT_AGENTS).toEqual([
      'technical',
      'sentiment',
      'tokenomics',
      'researcher',
      'trader',
      'risk',
      'learning',
      'strategy_builder',
    ]);
    for (const a of PROMPT_AGENTS) {
      const b = BUILTIN_PROMPTS[a];
      expect(b.version).toBe(promptVersionId(b.text));
      expect(b.text.length).toBeGreaterThan(100);
    }
    expect(BUILTIN_PROMPTS.trader.label).toBe('trader@1');
    expect(BUILTIN_PROMPTS.learning.text).toMatch(/learning analyst/);
    expect(new Set(PROMPT_AGENTS.map((a) => BUILTIN_PROMPTS[a].version)).size).toBe(PROMPT_AGENTS.length);
  });
});

describe('PROMPT_AB', () => {
  const v1 = 'aaaaaaaaaaaa';
  const v2 = 'bbbbbbbbbbbb';

  it('parses one or several agents separated by ;', () => {
    expect(parsePromptAb(`trader:${v1},${v2}`)).toEqual([{ agent: 'trader', versions: [v1, v2] }]);
    expect(parsePromptAb(`trader:${v1},${v2}; researcher:${v2}, ${v1}`)).toEqual([
      { agent: 'trader', versions: [v1, v2] },
      { agent: 'researcher', versions: [v2, v1] },
    ]);
    expect(loadSettings({ PROMPT_AB: `risk:${v1},${v2}` }).PROMPT_AB).toEqual([
      { agent: 'risk', versions: [v1, v2] },
    ]);
    expect(loadSettings({}).PROMPT_AB).toEqual([]);
  });

  it('refuses bad values at start, naming the setting and what is wrong', () => {
    const bad: [string, RegExp][] = [
      [`banker:${v1},${v2}`, /"banker" is not a decision agent/],
      [`learning:${v1},${v2}`, /"learning" is not a decision agent/],
      [`trader:${v1}`, /at least two versions/],
      [`trader:${v1},v2`, /"v2" is not a prompt version id/],
      [`trader:${v1},${v1}`, /listed twice/],
      [`trader:${v1},${v2};trader:${v2},${v1}`, /trader is listed twice/],
      [`trader ${v1},${v2}`, /not agent:version/],
    ];
    for (const [value, message] of bad) {
      let err: unknown;
      try {
        loadSettings({ PROMPT_AB: value });
      } catch (e) {
        err = e;
      }
      expect(err, value).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues[0]!.setting).toBe('PROMPT_AB');
      expect((err as Error).message, value).toMatch(message);
    }
  });

  it('assigns a decision deterministically by a hash of its id, and uses every arm', () => {
    const tests = parsePromptAb(`trader:${v1},${v2};researcher:${v1},${v2},cccccccccccc`);
    const ids = Array.from({ length: 400 }, () => randomUUID());
    const counts = { trader: new Map<string, number>(), researcher: new Map<string, number>() };
    for (const id of ids) {
      const a = abAssignment(id, tests);
      expect(abAssignment(id, tests)).toEqual(a); // the same decision, the same arm
      for (const agent of ['trader', 'researcher'] as const)
        counts[agent].set(a[agent]!, (counts[agent].get(a[agent]!) ?? 0) + 1);
    }
    expect([...counts.trader.keys()].sort()).toEqual([v1, v2]);
    expect(counts.researcher.size).toBe(3);
    // About even: each of 2 arms gets 200 +- 60 of 400 (p < 1e-8 of failing by chance).
    for (const n of counts.trader.values()) expect(Math.abs(n - 200)).toBeLessThan(60);
    // A fixed id always lands on the same arm (pinned, so a change of the hash rule is noticed).
    expect(abArm('00000000-0000-4000-8000-000000000000', 'trader', 2)).toBe(
      createHash('sha256').update('00000000-0000-4000-8000-000000000000:trader').digest().readUInt32BE(0) % 2,
    );
    // The agent is in the hash: the two tests are not locked to the same arm index.
    const same = ids.filter((id) => abArm(id, 'trader', 2) === abArm(id, 'risk', 2)).length;
    expect(same).toBeGreaterThan(100);
    expect(same).toBeLessThan(300);
  });
});

describe.each(testDrivers())('prompt registry on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  it('registers every builtin prompt idempotently and points each agent at it', async () => {
    await registerBuiltinPrompts(t.db);
    await registerBuiltinPrompts(t.db);
    await Promise.all([registerBuiltinPrompts(t.db), registerBuiltinPrompts(t.db)]); // concurrent cold starts
    const rows = await t.db.select().from(agentPrompts);
    expect(rows).toHaveLength(PROMPT_AGENTS.length);
    for (const r of rows) {
      const b = BUILTIN_PROMPTS[r.agent as keyof typeof BUILTIN_PROMPTS];
      expect(r).toMatchObject({
        version: b.version,
        text: b.text,
        origin: 'builtin',
        label: b.label,
        parent: null,
      });
    }
    const active = await activePromptVersions(t.db);
    for (const a of PROMPT_AGENTS)
      expect(active[a]).toMatchObject({ version: BUILTIN_PROMPTS[a].version, setBy: 'builtin' });
  });

  it('a new builtin text moves agents still on a builtin, never one on a learning version', async () => {
    await registerBuiltinPrompts(t.db);
    // Simulate an older deploy: the trader's and risk's active versions were an earlier builtin text.
    for (const agent of ['trader', 'risk'] as const) {
      await t.db
        .insert(agentPrompts)
        .values({ agent, version: 'oldbuiltin01', text: 'old', origin: 'builtin' });
      await t.db
        .update(agentPromptActive)
        .set({ version: 'oldbuiltin01' })
        .where(eq(agentPromptActive.agent, agent));
    }
    const lesson = await createPromptVersion(t.db, {
      agent: 'trader',
      text: `${BUILTIN_PROMPTS.trader.text}\nLesson: cut losers early.`,
      origin: 'learning',
      parent: 'oldbuiltin01',
      activate: true,
    });
    await registerBuiltinPrompts(t.db);
    const active = await activePromptVersions(t.db);
    expect(active.risk.version).toBe(BUILTIN_PROMPTS.risk.version);
    expect(active.trader).toMatchObject({ version: lesson.version, setBy: 'learning' });
  });

  it('creates manual and learning versions with their parent; the same text is the same version', async () => {
    await registerBuiltinPrompts(t.db);
    const parent = BUILTIN_PROMPTS.researcher.version;
    const text = 'You are a cautious research lead. Answer in JSON.';
    const made = await createPromptVersion(t.db, { agent: 'researcher', text, origin: 'manual', parent });
    expect(made).toEqual({ version: promptVersionId(text), created: true, parent });
    const again = await createPromptVersion(t.db, { agent: 'researcher', text, origin: 'manual' });
    expect(again).toEqual({ version: made.version, created: false, parent });
    const versions = await listPromptVersions(t.db, 'researcher');
    expect(versions.map((v) => [v.origin, v.parent])).toEqual([
      ['builtin', null],
      ['manual', parent],
    ]);
    // Not active until asked: decisions still use the builtin.
    expect((await activePromptVersions(t.db)).researcher.version).toBe(parent);
    await activatePromptVersion(t.db, 'researcher', made.version);
    expect((await activePromptVersions(t.db)).researcher).toMatchObject({
      version: made.version,
      setBy: 'person',
    });
    expect(await promptForDecision(t.db, 'researcher', made.version)).toEqual({
      version: made.version,
      text,
    });
  });

  it('refuses bad versions clearly and changes nothing', async () => {
    await registerBuiltinPrompts(t.db);
    const before = await t.db.select().from(agentPrompts);
    await expect(
      createPromptVersion(t.db, { agent: 'banker', text: 'x', origin: 'manual' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      status: 400,
      message: expect.stringMatching(/agent: "banker"/),
    });
    await expect(
      createPromptVersion(t.db, { agent: 'trader', text: 'x', origin: 'manual', parent: '000000000000' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      message: expect.stringMatching(/parent: trader has no prompt version/),
    });
    await expect(
      createPromptVersion(t.db, { agent: 'trader', text: '  ', origin: 'manual' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    await expect(
      createPromptVersion(t.db, { agent: 'trader', text: 'x', origin: 'builtin' as 'manual' }),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
    await expect(activatePromptVersion(t.db, 'trader', '000000000000')).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(
      assertPromptVersionsExist(t.db, { trader: '000000000000' }, 'prompt_versions'),
    ).rejects.toMatchObject({ code: 'VALIDATION_ERROR', details: { field: 'prompt_versions.trader' } });
    // A version of another agent is not a version of this one.
    await expect(
      assertPromptVersionsExist(t.db, { trader: BUILTIN_PROMPTS.risk.version }, 'prompt_versions'),
    ).rejects.toMatchObject({ details: { field: 'prompt_versions.trader' } });
    await expect(
      assertPromptVersionsExist(t.db, { trader: BUILTIN_PROMPTS.trader.version }, 'prompt_versions'),
    ).resolves.toBeUndefined();
    await expect(promptForDecision(t.db, 'trader', '000000000000')).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
    expect(await t.db.select().from(agentPrompts)).toEqual(before);
  });

  it('PROMPT_AB naming an unknown version stops the host at start, naming the setting', async () => {
    const m = await createPromptVersion(t.db, { agent: 'trader', text: 'manual trader', origin: 'manual' });
    const ok = loadSettings({ PROMPT_AB: `trader:${BUILTIN_PROMPTS.trader.version},${m.version}` });
    await registerBuiltinPrompts(t.db);
    await expect(assertPromptAbSetting(t.db, ok)).resolves.toBeUndefined();
    const bad = loadSettings({
      LLM_PROVIDER: 'offline',
      DATA_DIR: 'memory://',
      PROMPT_AB: `trader:${BUILTIN_PROMPTS.trader.version},123456789abc`,
    });
    await expect(assertPromptAbSetting(t.db, bad)).rejects.toThrow(
      /PROMPT_AB: trader: 123456789abc is not a registered version/,
    );
    // The composition root refuses to start with it (every host builds its world there).
    await expect(createContainer(bad, { database: t.database, skipMigrations: true })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });

  it('a lesson from the learning loop becomes the active version, its parent recorded', async () => {
    await registerBuiltinPrompts(t.db);
    const sink = promptLessonSink();
    const first = await sink.addLesson(t.db, {
      agent: 'trader',
      lesson: 'Size down in HIGH_VOL.',
      adjustmentId: randomUUID(),
    });
    expect(first.parent).toBe(BUILTIN_PROMPTS.trader.version);
    const second = await sink.addLesson(t.db, {
      agent: 'trader',
      lesson: 'Take profits at +8%.',
      adjustmentId: randomUUID(),
    });
    expect(second.parent).toBe(first.promptVersion);
    const active = await activePromptVersions(t.db);
    expect(active.trader).toMatchObject({ version: second.promptVersion, setBy: 'learning' });
    const text = (await promptForDecision(t.db, 'trader', second.promptVersion)).text;
    expect(text.startsWith(BUILTIN_PROMPTS.trader.text)).toBe(true);
    expect(text).toMatch(
      /Size down in HIGH_VOL\.\nLesson learned from past outcomes: Take profits at \+8%\.$/,
    );
    const versions = await listPromptVersions(t.db, 'trader');
    expect(versions.filter((v) => v.origin === 'learning')).toHaveLength(2);
    // The next decision (no pin, no A/B) gets it.
    const assigned = await assignDecisionPrompts(t.db, {
      settings: loadSettings({}),
      decisionId: randomUUID(),
      live: true,
    });
    expect(assigned.trader).toBe(second.promptVersion);
    expect(assigned.risk).toBe(BUILTIN_PROMPTS.risk.version);
  });

  it('assigns pins first, then the live A/B arm, then the active version', async () => {
    await registerBuiltinPrompts(t.db);
    const m = await createPromptVersion(t.db, { agent: 'trader', text: 'manual trader', origin: 'manual' });
    const settings = loadSettings({ PROMPT_AB: `trader:${BUILTIN_PROMPTS.trader.version},${m.version}` });
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const id = randomUUID();
      const live = await assignDecisionPrompts(t.db, { settings, decisionId: id, live: true });
      expect(live.trader).toBe(settings.PROMPT_AB[0]!.versions[abArm(id, 'trader', 2)]);
      seen.add(live.trader);
      // Not live: no arm, the active (builtin) version.
      expect((await assignDecisionPrompts(t.db, { settings, decisionId: id, live: false })).trader).toBe(
        BUILTIN_PROMPTS.trader.version,
      );
      // A pin wins over the arm.
      const pinned = await assignDecisionPrompts(t.db, {
        settings,
        decisionId: id,
        live: true,
        pinned: { trader: m.version },
      });
      expect(pinned.trader).toBe(m.version);
    }
    expect(seen.size).toBe(2);
  });

  it('scores each version from the outcomes of the decisions that used it, with the sample size', async () => {
    await registerBuiltinPrompts(t.db);
    const m = await createPromptVersion(t.db, { agent: 'trader', text: 'manual trader', origin: 'manual' });
    const builtin = BUILTIN_PROMPTS.trader;
    const backtestRun = randomUUID();
    await t.db.insert(runs).values([
      { id: 'live', kind: 'live', initialCash: '10000', cash: '10000' },
      { id: backtestRun, kind: 'backtest', initialCash: '10000', cash: '10000' },
    ]);
    // Known set: builtin live +2%, -1%, +4%; builtin recorded by its label (older decision) -3% in a
    // backtest; manual live +1.5%, -0.5% (a break-even counts as a loss); one without a trader version.
    const known: [string, string | null, number][] = [
      ['live', builtin.version, 2],
      ['live', builtin.version, -1],
      ['live', builtin.version, 4],
      [backtestRun, builtin.label, -3],
      ['live', m.version, 1.5],
      ['live', m.version, -0.5],
      ['live', m.version, 0],
      ['live', null, 9],
    ];
    let seq = 0;
    for (const [runId, version, pnlPct] of known) {
      seq++;
      const context = { ...emptyContext('offline'), promptVersions: version ? { trader: version } : {} };
      await t.db.insert(tradeOutcomes).values({
        runId,
        seq,
        symbol: 'BTCUSDT',
        entryTime: new Date(1_000 * seq),
        exitTime: new Date(2_000 * seq),
        entryPrice: '100',
        exitPrice: String(100 + pnlPct),
        quantity: '1',
        entryCost: '100',
        proceeds: String(100 + pnlPct),
        pnlUsdt: String(pnlPct),
        pnlPct: String(pnlPct),
        fees: '0',
        holdingMs: 1_000,
        exitReason: 'signal',
        context,
      });
    }
    const scores = await promptScores(t.db, 'trader', { [builtin.label]: builtin.version });
    expect(scores.get(builtin.version)).toEqual({
      all: { count: 4, wins: 2, winRate: 0.5, meanPnlPct: 0.5 },
      live: { count: 3, wins: 2, winRate: 0.666667, meanPnlPct: 1.666667 },
      backtest: { count: 1, wins: 0, winRate: 0, meanPnlPct: -3 },
    });
    expect(scores.get(m.version)!.all).toEqual({
      count: 3,
      wins: 1,
      winRate: 0.333333,
      meanPnlPct: 0.333333,
    });
    expect(scores.get(m.version)!.backtest).toEqual({ count: 0, wins: 0, winRate: null, meanPnlPct: null });
    expect([...scores.keys()].sort()).toEqual([builtin.version, m.version].sort());

    // The read model puts them beside each version, newest first.
    const view = await agentPromptVersions(t.db, loadSettings({}), 'trader');
    expect(view.versions.map((v) => [v.version, v.origin, v.active, v.scores.all.count])).toEqual([
      [m.version, 'manual', false, 3],
      [builtin.version, 'builtin', true, 4],
    ]);
    const agents = await listPromptAgents(t.db, loadSettings({}));
    expect(agents.find((a) => a.agent === 'trader')).toMatchObject({
      versions: 2,
      activeVersion: builtin.version,
      decisionAgent: true,
    });
    expect(agents.find((a) => a.agent === 'learning')).toMatchObject({ versions: 1, decisionAgent: false });
  });
});

describe.each(testDrivers())('a learning lesson through the composition root on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  it('approving a pending lesson makes a learning version, active for the next decision', async () => {
    const settings = loadSettings({ LLM_PROVIDER: 'offline', DATA_DIR: 'memory://' });
    const c = await createContainer(settings, { database: t.database, skipMigrations: true });
    const [adj] = await t.db
      .insert(strategyAdjustments)
      .values({
        cycleId: randomUUID(),
        runId: 'live',
        kind: 'lesson',
        agent: 'researcher',
        newValue: 'Lower the confidence when the regimes disagree.',
        confidence: 70,
        riskLevel: 'LOW',
        priority: 'MEDIUM',
        reasoning: 'disagreeing regimes lost',
        patterns: [],
        status: 'pending',
      })
      .returning();
    const done = await approveAdjustment(c.deps, adj!.id, 'person');
    expect(done.status).toBe('applied');
    const versions = await listPromptVersions(t.db, 'researcher');
    const made = versions.find((v) => v.origin === 'learning')!;
    expect(made).toMatchObject({
      parent: BUILTIN_PROMPTS.researcher.version,
      note: `learning adjustment ${adj!.id}`,
    });
    expect(done.promptVersion).toBe(made.version);
    expect(made.text).toMatch(
      /Lesson learned from past outcomes: Lower the confidence when the regimes disagree\.$/,
    );
    const next = await assignDecisionPrompts(t.db, { settings, decisionId: randomUUID(), live: true });
    expect(next.researcher).toBe(made.version);
    await c.close();
  });
});
