import { beforeEach, describe, expect, it } from 'vitest';
import { testDrivers, useTestDatabase } from '../db/testing';
import { testSettings } from '../pipeline/testing';
import { appendStrategyVersion, inheritLiveStrategy, listStrategyVersions, strategyInForce } from './store';

const T = Date.parse('2025-06-01T00:00:00Z');

describe.each(testDrivers())('strategy versions on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());
  const settings = testSettings({ RESEARCHER_MIN_CONFIDENCE: '0.6', MAX_POSITION_SIZE_PCT: '8' });

  it('starts the live book from the settings, once', async () => {
    const [a, b] = await Promise.all([
      strategyInForce(t.db, { settings }),
      strategyInForce(t.db, { settings }),
    ]);
    expect(a.id).toBe(b.id);
    expect(a).toMatchObject({ seq: 1, appliedBy: 'settings', change: null });
    expect(a.params).toEqual({
      researcherMinConfidence: 0.6,
      minAgreement: 2,
      decisionMode: 'pipeline',
      kellyFraction: 0.5,
      defaultStopLossPct: 5,
      defaultTakeProfitPct: 10,
      maxPositionSizePct: 8,
    });
  });

  it('answers the version in force at a time, and refuses a change against a version no longer latest', async () => {
    const base = await strategyInForce(t.db, { settings });
    const v2 = await appendStrategyVersion(t.db, {
      base,
      parameter: 'kellyFraction',
      value: 0.4,
      appliedBy: 'person',
      adjustmentId: null,
      reason: 'test',
      effectiveAt: T,
    });
    expect(v2).toMatchObject({ seq: 2, change: { parameter: 'kellyFraction', from: 0.5, to: 0.4 } });
    expect((await strategyInForce(t.db, { settings, at: T - 1 })).seq).toBe(1);
    expect((await strategyInForce(t.db, { settings, at: T })).seq).toBe(2);
    await expect(
      appendStrategyVersion(t.db, {
        base,
        parameter: 'kellyFraction',
        value: 0.3,
        appliedBy: 'person',
        adjustmentId: null,
        reason: 'stale',
        effectiveAt: T,
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await listStrategyVersions(t.db, { settings })).map((v) => v.seq)).toEqual([1, 2]);
  });

  it('two concurrent changes on the same version: exactly one wins', async () => {
    const base = await strategyInForce(t.db, { settings });
    const results = await Promise.allSettled(
      [0.1, 0.2, 0.3].map((value) =>
        appendStrategyVersion(t.db, {
          base,
          parameter: 'kellyFraction',
          value,
          appliedBy: 'person',
          adjustmentId: null,
          reason: 'race',
          effectiveAt: T,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await listStrategyVersions(t.db, { settings })).toHaveLength(2);
  });

  it('a changed setting is a version of its own, and keeps what was learned for the other parameters', async () => {
    const base = await strategyInForce(t.db, { settings, now: T });
    await appendStrategyVersion(t.db, {
      base,
      parameter: 'kellyFraction',
      value: 0.4,
      appliedBy: 'learning',
      adjustmentId: null,
      reason: 'learned',
      effectiveAt: T,
    });
    const changed = testSettings({ RESEARCHER_MIN_CONFIDENCE: '0.7', MAX_POSITION_SIZE_PCT: '8' });
    const v3 = await strategyInForce(t.db, { settings: changed, now: T + 1 });
    expect(v3).toMatchObject({ seq: 3, appliedBy: 'settings' });
    expect(v3.params).toMatchObject({ researcherMinConfidence: 0.7, kellyFraction: 0.4 });
    expect(v3.reason).toMatch(/researcherMinConfidence 0.6 -> 0.7/);
    // Same settings again: no new version.
    expect((await strategyInForce(t.db, { settings: changed, now: T + 2 })).seq).toBe(3);
  });

  it('a backtest run inherits the live version and keeps its own sequence', async () => {
    const live = await strategyInForce(t.db, { settings });
    // Without its own versions a run is under the live one.
    expect((await strategyInForce(t.db, { settings, runId: 'bt-1', at: T })).id).toBe(live.id);
    const own = await inheritLiveStrategy(t.db, { settings, runId: 'bt-1' });
    expect(own).toMatchObject({ runId: 'bt-1', seq: 1, appliedBy: 'inherited', params: live.params });
    await appendStrategyVersion(t.db, {
      base: own,
      parameter: 'researcherMinConfidence',
      value: 0.65,
      appliedBy: 'learning',
      adjustmentId: null,
      reason: 'segment 1',
      effectiveAt: T,
    });
    expect((await strategyInForce(t.db, { settings, runId: 'bt-1', at: T - 1 })).seq).toBe(1);
    expect(
      (await strategyInForce(t.db, { settings, runId: 'bt-1', at: T })).params.researcherMinConfidence,
    ).toBe(0.65);
    expect((await strategyInForce(t.db, { settings })).params.researcherMinConfidence).toBe(0.6);
  });
});
