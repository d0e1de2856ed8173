import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIServer } from '../../test/helpers/openai-server';
import { agentLogs, learningCycles, strategyAdjustments } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { listOutcomes } from '../outcomes/repository';
import type { OutcomeQuery, TradeOutcome } from '../outcomes/types';
import { offlineTestDeps } from '../pipeline/testing';
import { listStrategyVersions, strategyInForce } from '../strategy/store';
import { createLearningCycle, runLearningCycle } from './cycle';
import type { LearningDeps } from './ports';
import { approveAdjustment, getCycle, listAdjustments, rejectAdjustment, rollbackAdjustment } from './review';
import { insertOutcomes, outcome } from './testing';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const H = 3_600_000;

/** 12 losing trades at researcher confidence 0.57 in BEAR, then 3 winners (15 in the window). */
function losingBook(runId = 'live'): TradeOutcome[] {
  return [
    ...Array.from({ length: 12 }, (_, i) =>
      outcome({ runId, exitTime: NOW - (100 - i) * H, pnlPct: -2, regime: 'BEAR', confidence: 0.57 }),
    ),
    ...Array.from({ length: 3 }, (_, i) =>
      outcome({ runId, exitTime: NOW - (50 - i) * H, pnlPct: 3, regime: 'BULL', confidence: 0.75 }),
    ),
  ];
}

describe.each(testDrivers())('learning cycle on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(async () => {
    await t.reset();
    await insertOutcomes(t.db, losingBook());
  });
  // The real outcome ledger (trade_outcomes through listOutcomes), with its queries recorded.
  const deps = (env: Record<string, string> = {}): LearningDeps & { queries: OutcomeQuery[] } => {
    const queries: OutcomeQuery[] = [];
    return {
      ...offlineTestDeps({ db: t.db, candles: {}, now: NOW, env }),
      readOutcomes: (db, q) => {
        queries.push(q);
        return listOutcomes(db, q);
      },
      queries,
    };
  };

  it('ends insufficient_history below SELF_LEARNING_MIN_TRADES and calls no model', async () => {
    const d = deps({ SELF_LEARNING_MIN_TRADES: '20' });
    const { cycleId } = await createLearningCycle(d, { trigger: 'api' });
    const r = await runLearningCycle(d, cycleId);
    expect(r.status).toBe('insufficient_history');
    const cycle = await getCycle(d, cycleId);
    expect(cycle.summary).toMatchObject({ trades: 15 });
    expect(cycle.proposals).toEqual([]);
    expect(await t.db.select().from(agentLogs)).toHaveLength(0);
  });

  it('reads only outcomes closed before its time, within the lookback window', async () => {
    await insertOutcomes(t.db, [
      outcome({ exitTime: NOW, pnlPct: 99 }),
      outcome({ exitTime: NOW - 40 * 24 * H, pnlPct: 99 }),
    ]);
    const d = deps();
    const { cycleId } = await createLearningCycle(d, { trigger: 'api' });
    await runLearningCycle(d, cycleId);
    expect(d.queries[0]).toMatchObject({
      runId: 'live',
      closedBefore: NOW,
      closedFrom: NOW - 30 * 24 * H,
    });
    expect((await getCycle(d, cycleId)).summary).toMatchObject({ trades: 15 });
  });

  it('runs both agents through the LLM client under their own names, and with learning off applies nothing', async () => {
    const d = deps();
    const { cycleId } = await createLearningCycle(d, { trigger: 'api' });
    const r = await runLearningCycle(d, cycleId);
    expect(r.status).toBe('succeeded');
    const logs = await t.db.select().from(agentLogs);
    expect(logs.map((l) => [l.agent, l.tier, l.status]).sort()).toEqual([
      ['learning', 'strong', 'ok'],
      ['strategy_builder', 'strong', 'ok'],
    ]);
    const cycle = await getCycle(d, cycleId);
    expect((cycle.patterns as { name: string }[]).map((p) => p.name)).toContain('losing regime BEAR');
    expect(cycle.cost.tokensIn).toBeGreaterThan(0);
    expect(cycle.proposals.length).toBeGreaterThan(0);
    expect(cycle.proposals.every((p) => p.status === 'pending')).toBe(true);
    expect(await listStrategyVersions(t.db, { settings: d.settings })).toHaveLength(1);
  });

  it('with SELF_LEARNING_ENABLED applies the LOW-risk HIGH-priority proposals over the threshold as new versions', async () => {
    const d = deps({ SELF_LEARNING_ENABLED: 'true' });
    const { cycleId } = await createLearningCycle(d, { trigger: 'api' });
    const r = await runLearningCycle(d, cycleId);
    const cycle = await getCycle(d, cycleId);
    const applied = cycle.proposals.filter((p) => p.status === 'applied');
    // Gate (12 losers at 0.5-0.6 -> confidence 86, HIGH), kelly and position cap (overall losing, 15 trades).
    expect(applied.map((p) => p.parameter).sort()).toEqual([
      'kellyFraction',
      'maxPositionSizePct',
      'researcherMinConfidence',
    ]);
    expect(r.applied).toBe(3);
    // The lesson is MEDIUM risk: it waits.
    expect(cycle.proposals.find((p) => p.kind === 'lesson')?.status).toBe('pending');
    const now = await strategyInForce(t.db, { settings: d.settings });
    expect(now.seq).toBe(4);
    expect(now.params).toMatchObject({
      researcherMinConfidence: 0.6,
      kellyFraction: 0.4,
      maxPositionSizePct: 9,
    });
    const versions = await listStrategyVersions(t.db, { settings: d.settings });
    expect(versions.map((v) => v.appliedBy)).toEqual(['settings', 'learning', 'learning', 'learning']);
    expect(versions[1]!.adjustmentId).toBe(applied.find((p) => p.appliedVersionId === versions[1]!.id)!.id);
  });

  it('through a model (the openai SDK against the local server): invalid proposals are kept with why', async () => {
    const server = await startOpenAIServer({
      respond: ({ schemaName }) =>
        schemaName === 'learning'
          ? {
              patterns: [
                {
                  name: 'gate losers',
                  kind: 'losing',
                  dimension: 'confidence',
                  bucket: '0.5-0.6',
                  evidence: 12,
                  win_rate: 0,
                  mean_pnl_pct: -2,
                  note: 'lost',
                },
                {
                  name: 'bull winners',
                  kind: 'winning',
                  dimension: 'regime',
                  bucket: 'BULL',
                  evidence: 30,
                  win_rate: 1,
                  mean_pnl_pct: 3,
                  note: 'won',
                },
              ],
              summary_note: 'two patterns',
            }
          : {
              proposals: [
                {
                  kind: 'parameter',
                  parameter: 'researcherMinConfidence',
                  agent: null,
                  new_value: '0.62',
                  confidence: 90,
                  risk_level: 'LOW',
                  priority: 'HIGH',
                  reasoning: 'gate losers',
                  patterns: ['gate losers'],
                },
                {
                  kind: 'parameter',
                  parameter: 'MAX_TOTAL_EXPOSURE_PCT',
                  agent: null,
                  new_value: '95',
                  confidence: 99,
                  risk_level: 'LOW',
                  priority: 'HIGH',
                  reasoning: 'more',
                  patterns: ['gate losers'],
                },
                {
                  kind: 'parameter',
                  parameter: 'maxPositionSizePct',
                  agent: null,
                  new_value: '12',
                  confidence: 99,
                  risk_level: 'LOW',
                  priority: 'HIGH',
                  reasoning: 'more',
                  patterns: ['gate losers'],
                },
                {
                  kind: 'parameter',
                  parameter: 'kellyFraction',
                  agent: null,
                  new_value: '0.7',
                  confidence: 99,
                  risk_level: 'LOW',
                  priority: 'HIGH',
                  reasoning: 'bull',
                  patterns: ['bull winners'],
                },
              ],
            },
    });
    try {
      const d = deps({
        SELF_LEARNING_ENABLED: 'true',
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: server.url,
        LLM_API_KEY: 'test-key',
        STRONG_MODEL: 'gpt-4.1',
      });
      const { cycleId } = await createLearningCycle(d, { trigger: 'api' });
      await runLearningCycle(d, cycleId);
      expect(server.requests.map((r) => [r.schemaName, r.body.model])).toEqual([
        ['learning', 'gpt-4.1'],
        ['strategy_builder', 'gpt-4.1'],
      ]);
      const cycle = await getCycle(d, cycleId);
      expect(cycle.cost.costUsd).toBeGreaterThan(0);
      const by = Object.fromEntries(cycle.proposals.map((p) => [p.parameter, p]));
      expect(by.researcherMinConfidence).toMatchObject({
        status: 'applied',
        oldValue: 0.55,
        newValue: 0.62,
        evidence: 12,
      });
      expect(by.MAX_TOTAL_EXPOSURE_PCT).toMatchObject({ status: 'invalid' });
      expect(by.MAX_TOTAL_EXPOSURE_PCT!.invalidReason).toMatch(/not a parameter the loop may change/);
      expect(by.maxPositionSizePct!.invalidReason).toMatch(/above the hard ceiling MAX_POSITION_SIZE_PCT 10/);
      // The model said 30 trades; the summary has 3.
      expect(by.kellyFraction).toMatchObject({ status: 'invalid', evidence: 3 });
      expect((await strategyInForce(t.db, { settings: d.settings })).params.researcherMinConfidence).toBe(
        0.62,
      );
    } finally {
      await server.close();
    }
  });

  it('approve applies a pending proposal; reject refuses it; rollback restores the old value as a new version', async () => {
    const d = deps();
    const { cycleId } = await createLearningCycle(d, { trigger: 'api' });
    await runLearningCycle(d, cycleId);
    const pending = (await listAdjustments(d, { status: 'pending', limit: 50 })).items;
    const kelly = pending.find((p) => p.parameter === 'kellyFraction')!;
    const cap = pending.find((p) => p.parameter === 'maxPositionSizePct')!;

    const approved = await approveAdjustment(d, kelly.id);
    expect(approved.status).toBe('applied');
    let now = await strategyInForce(t.db, { settings: d.settings });
    expect(now.params.kellyFraction).toBe(0.4);
    expect(now).toMatchObject({ appliedBy: 'person', adjustmentId: kelly.id });

    await expect(approveAdjustment(d, kelly.id)).rejects.toMatchObject({ code: 'CONFLICT', status: 409 });
    expect((await rejectAdjustment(d, cap.id)).status).toBe('rejected');
    await expect(approveAdjustment(d, cap.id)).rejects.toMatchObject({ code: 'CONFLICT' });

    const rolled = await rollbackAdjustment(d, kelly.id);
    expect(rolled.status).toBe('rolled_back');
    now = await strategyInForce(t.db, { settings: d.settings });
    expect(now.params.kellyFraction).toBe(0.5);
    expect(now).toMatchObject({
      seq: 3,
      appliedBy: 'rollback',
      change: { parameter: 'kellyFraction', from: 0.4, to: 0.5 },
    });
    expect((await listAdjustments(d, { status: 'rejected', limit: 5 })).items.map((a) => a.id)).toEqual([
      cap.id,
    ]);
  });

  it('approving a stale proposal (its parameter changed since) is a 409 and changes nothing', async () => {
    const d = deps();
    const first = await createLearningCycle(d, { trigger: 'api' });
    await runLearningCycle(d, first.cycleId);
    const second = await createLearningCycle(d, { trigger: 'api' });
    await runLearningCycle(d, second.cycleId);
    const kellys = (await listAdjustments(d, { status: 'pending', limit: 50 })).items.filter(
      (p) => p.parameter === 'kellyFraction',
    );
    expect(kellys).toHaveLength(2);
    await approveAdjustment(d, kellys[0]!.id);
    const before = await strategyInForce(t.db, { settings: d.settings });
    await expect(approveAdjustment(d, kellys[1]!.id)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/stale: kellyFraction is now 0.4/),
    });
    expect(await strategyInForce(t.db, { settings: d.settings })).toEqual(before);
    const [row] = await t.db
      .select()
      .from(strategyAdjustments)
      .where(eq(strategyAdjustments.id, kellys[1]!.id));
    expect(row!.status).toBe('pending');
  });

  it('a cycle whose agent abstains ends failed with the reason, never as "no proposals"', async () => {
    const d = deps();
    const failing: LearningDeps = {
      ...d,
      llm: {
        ...d.llm,
        call: async (req) => {
          if (req.agent !== 'strategy_builder') return d.llm.call(req);
          return { status: 'abstained', reason: 'abstained: bad JSON', meta: (await d.llm.call(req)).meta };
        },
      },
    };
    const { cycleId } = await createLearningCycle(failing, { trigger: 'api' });
    const r = await runLearningCycle(failing, cycleId);
    expect(r.status).toBe('failed');
    const [row] = await t.db.select().from(learningCycles).where(eq(learningCycles.id, cycleId));
    expect(row!.error).toMatchObject({ code: 'LLM_INVALID_OUTPUT' });
    expect(await t.db.select().from(strategyAdjustments)).toHaveLength(0);
  });
});
