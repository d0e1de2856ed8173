/**
 * The learning loop over HTTP, on the local host with the Learning state machine executed locally (the
 * same definition that deploys) and the offline rules provider: a cycle started by POST /learning/cycles
 * reads the live book's closed outcomes, proposes, and (learning disabled) queues every valid proposal;
 * the review routes approve, reject and roll back, and a stale approval is a 409 that changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertOutcomes, outcome } from '../../shared/learning/testing';
import { HAS_DATA, type Harness, pollUntil, SKIP_REASON, startHarness, TEST_NOW } from './harness';

const H = 3_600_000;
const terminal = (b: { status: string }) => !['pending', 'running'].includes(b.status);

describe.skipIf(!HAS_DATA)(`learning API ${HAS_DATA ? '' : SKIP_REASON}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ workflows: 'stepfunctions' });
    // 12 losers at researcher confidence 0.57 in BEAR, 3 winners in BULL: all closed before now.
    await insertOutcomes(h.server.container.db, [
      ...Array.from({ length: 12 }, (_, i) =>
        outcome({ exitTime: TEST_NOW - (100 - i) * H, pnlPct: -2, regime: 'BEAR', confidence: 0.57 }),
      ),
      ...Array.from({ length: 3 }, (_, i) =>
        outcome({ exitTime: TEST_NOW - (50 - i) * H, pnlPct: 3, regime: 'BULL', confidence: 0.75 }),
      ),
    ]);
    // Synthesizing the state machines takes a minute on a loaded machine.
  }, 300_000);
  afterAll(async () => {
    await h?.close();
  });

  const runCycle = async () => {
    const r = await h.post('/learning/cycles', {});
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'pending', poll: `/learning/cycles/${r.body.id}` });
    expect(r.headers.get('location')).toBe(r.body.poll);
    return pollUntil(h, r.body.poll, terminal);
  };

  it('runs a cycle through the local Learning state machine and queues its proposals for review', async () => {
    const before = await h.get('/strategy');
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ seq: 1, appliedBy: 'settings', change: null });

    const cycle = await runCycle();
    expect(cycle.status).toBe('succeeded');
    expect(cycle.trigger).toBe('api');
    expect(cycle.trades).toBe(15);
    expect(cycle.summary).toMatchObject({ trades: 15 });
    expect(cycle.patterns.map((p: { name: string }) => p.name)).toContain('losing regime BEAR');
    expect(Object.keys(cycle.agents).sort()).toEqual(['learning', 'strategy_builder']);
    expect(cycle.agents.learning).toMatchObject({ status: 'ok', provider: 'offline' });
    expect(cycle.cost.tokensIn).toBeGreaterThan(0);
    expect(cycle.proposals.length).toBeGreaterThan(0);
    // SELF_LEARNING_ENABLED is off: nothing applied itself.
    expect(cycle.proposals.every((p: { status: string }) => p.status === 'pending')).toBe(true);
    expect((await h.get('/strategy')).body.seq).toBe(1);

    const list = await h.get('/learning/cycles');
    expect(list.body.items.map((c: { id: string }) => c.id)).toContain(cycle.id);
    const pending = await h.get('/adjustments?status=pending');
    expect(pending.status).toBe(200);
    expect(pending.body.items.map((a: { id: string }) => a.id).sort()).toEqual(
      cycle.proposals.map((a: { id: string }) => a.id).sort(),
    );
  });

  it('approves, rejects and rolls back; a stale approval is a 409 and changes nothing', async () => {
    // Two cycles on the same book propose the same gate change against the same value.
    const a = await runCycle();
    const b = await runCycle();
    const gate = (c: { proposals: { parameter: string | null; id: string; oldValue: unknown }[] }) =>
      c.proposals.find((p) => p.parameter === 'researcherMinConfidence')!;
    const first = gate(a);
    const second = gate(b);
    expect(first.oldValue).toEqual(second.oldValue);

    const approved = await h.post(`/adjustments/${first.id}/approve`, { by: 'reviewer' });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ status: 'applied', decidedBy: 'reviewer' });
    const inForce = (await h.get('/strategy')).body;
    expect(inForce.id).toBe(approved.body.appliedVersionId);
    expect(inForce).toMatchObject({ appliedBy: 'person', adjustmentId: first.id });
    expect(inForce.params.researcherMinConfidence).toEqual(approved.body.newValue);

    const stale = await h.post(`/adjustments/${second.id}/approve`, {});
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('CONFLICT');
    expect(stale.body.error.message).toMatch(/stale/);
    expect((await h.get('/strategy')).body.id).toBe(inForce.id);
    const still = await h.get('/adjustments?status=pending');
    expect(still.body.items.map((x: { id: string }) => x.id)).toContain(second.id);

    const rejected = await h.post(`/adjustments/${second.id}/reject`, {});
    expect(rejected.status).toBe(200);
    expect(rejected.body.status).toBe('rejected');
    expect((await h.post(`/adjustments/${second.id}/reject`, {})).status).toBe(409);

    const rolled = await h.post(`/adjustments/${first.id}/rollback`, {});
    expect(rolled.status).toBe(200);
    expect(rolled.body.status).toBe('rolled_back');
    expect((await h.post(`/adjustments/${first.id}/rollback`, {})).status).toBe(409);

    const versions = (await h.get('/strategy/versions')).body.items;
    const last = versions.at(-1);
    expect(last).toMatchObject({
      appliedBy: 'rollback',
      change: { parameter: 'researcherMinConfidence', from: approved.body.newValue, to: first.oldValue },
    });
    expect(versions.find((v: { id: string }) => v.id === inForce.id).reason).toMatch(/approved by reviewer/);
    for (const v of versions) expect(v.results).toMatchObject({ trades: expect.any(Number) });
  });

  it('answers bad input with a clear 400 or 404 and changes nothing', async () => {
    const versionsBefore = (await h.get('/strategy/versions')).body.items.length;
    const cyclesBefore = (await h.get('/learning/cycles')).body.items.length;
    const unknownQuery = await h.get('/adjustments?state=pending');
    expect(unknownQuery.status).toBe(400);
    expect(unknownQuery.body.error.details).toMatchObject({ field: 'state', in: 'query' });
    expect((await h.get('/adjustments?status=maybe')).status).toBe(400);
    expect((await h.get('/learning/cycles?backtest_id=x')).status).toBe(400);
    expect((await h.get('/learning/cycles/not-a-uuid')).status).toBe(400);
    expect((await h.get(`/learning/cycles/${randomUUID()}`)).status).toBe(404);
    expect((await h.post(`/adjustments/${randomUUID()}/approve`, {})).status).toBe(404);
    const badBody = await h.post('/learning/cycles', { lookback: 3 });
    expect(badBody.status).toBe(400);
    const badBy = await h.post(`/adjustments/${randomUUID()}/approve`, { by: 7 });
    expect(badBy.status).toBe(400);
    expect(badBy.body.error.details.field).toBe('by');
    expect((await h.get('/strategy/versions')).body.items.length).toBe(versionsBefore);
    expect((await h.get('/learning/cycles')).body.items.length).toBe(cyclesBefore);
  });

  it('runs a walk-forward backtest through the local Backtest machine: its cycles and timeline in the result', async () => {
    const bad = await h.post('/backtest', {
      symbol: 'BTCUSDT',
      start_date: '2025-06-01',
      end_date: '2025-07-01',
      max_decisions: 4,
      learning: { every: 0 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/learning.every/);
    const r = await h.post('/backtest', {
      symbol: 'BTCUSDT',
      start_date: '2025-06-01',
      end_date: '2025-07-01',
      max_decisions: 6,
      learning: { every: 2 },
    });
    expect(r.status).toBe(202);
    expect(r.body.estimate.learningCycles).toBe(2);
    const done = await pollUntil(h, r.body.poll, terminal, 240_000);
    expect(done.status).toBe('succeeded');
    expect(done.learning.every).toBe(2);
    expect(done.learning.cycles).toHaveLength(2);
    for (const c of done.learning.cycles) expect(Date.parse(c.asOf)).toBeLessThan(Date.parse('2025-07-01'));
    expect(done.learning.timeline[0]).toMatchObject({ seq: 1, appliedBy: 'inherited' });
    const cycles = await h.get(`/learning/cycles?backtest_id=${r.body.id}`);
    expect(cycles.body.items.map((c: { id: string }) => c.id)).toEqual(
      done.learning.cycles.map((c: { id: string }) => c.id),
    );
    // The backtest's cycles change nothing of the live book.
    expect(
      (await h.get('/learning/cycles')).body.items.every((c: { backtestId: string | null }) => !c.backtestId),
    ).toBe(true);
  }, 300_000);

  it('documents every learning route in the OpenAPI document', async () => {
    const doc = (await h.get('/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/learning/cycles',
        '/learning/cycles/{id}',
        '/adjustments',
        '/adjustments/{id}/approve',
        '/adjustments/{id}/reject',
        '/adjustments/{id}/rollback',
        '/strategy',
        '/strategy/versions',
      ]),
    );
    expect(doc.paths['/adjustments/{id}/approve'].post.responses['409']).toBeDefined();
  });
});
