/**
 * The circuit breaker and the Retry-After hold: the pure transitions, then the same scenario through both
 * stores (this process, and PostgreSQL: PGlite, and the server with TEST_PG=1), including concurrent
 * callers racing for the one probe of a half-open breaker.
 */
import { describe, expect, it } from 'vitest';
import { testDrivers, useTestDatabase } from '../db/testing';
import { createAdaptiveLimit } from './adaptive-limit';
import {
  admit,
  type BreakerConfig,
  createDatabaseHealthStore,
  createMemoryHealthStore,
  createUpstreamGuard,
  holdUntil,
  INITIAL_STATE,
  recordResult,
  type UpstreamHealthStore,
} from './upstream-health';

const CFG: BreakerConfig = {
  failures: 3,
  failureRatio: 0.5,
  minCalls: 6,
  windowMs: 60_000,
  cooldownMs: 10_000,
  probeLeaseMs: 5_000,
};
const FAIL = { ok: false as const, error: 'HTTP 500' };
const OK = { ok: true as const };

describe('breaker transitions', () => {
  it('opens after consecutive failures, refuses for the cool-down, then lets ONE probe through', () => {
    let s = INITIAL_STATE;
    for (let i = 0; i < 2; i++) s = recordResult(s, 1_000, CFG, FAIL);
    expect(admit(s, 1_000, CFG).result).toEqual({ ok: true, probe: false });
    s = recordResult(s, 1_000, CFG, FAIL);
    expect(s.openUntil).toBe(11_000);
    expect(s.opened).toBe(1);
    expect(admit(s, 10_999, CFG).result).toMatchObject({ ok: false, reason: 'open', until: 11_000 });
    const probe = admit(s, 11_000, CFG);
    expect(probe.result).toEqual({ ok: true, probe: true });
    // while the probe runs, the others are refused until its lease ends
    expect(admit(probe.next, 11_001, CFG).result).toMatchObject({
      ok: false,
      reason: 'probing',
      until: 16_000,
    });
    // a probe whose caller vanished frees itself after the lease
    expect(admit(probe.next, 16_000, CFG).result).toEqual({ ok: true, probe: true });
  });

  it('a failed probe re-opens for another cool-down; a successful one closes', () => {
    let s = INITIAL_STATE;
    for (let i = 0; i < 3; i++) s = recordResult(s, 0, CFG, FAIL);
    const probing = admit(s, 10_000, CFG).next;
    const reopened = recordResult(probing, 10_500, CFG, FAIL);
    expect(reopened.openUntil).toBe(20_500);
    expect(reopened.opened).toBe(2);
    const closed = recordResult(probing, 10_500, CFG, OK);
    expect(closed).toMatchObject({ openUntil: null, probeUntil: null, consecutiveFailures: 0 });
    expect(admit(closed, 10_501, CFG).result).toEqual({ ok: true, probe: false });
  });

  it('opens on a failure ratio over the window, with enough calls, even without a run of failures', () => {
    let s = INITIAL_STATE;
    // fail, ok, fail, ok, fail, fail: 4 of 6 failed, never 3 in a row before the last
    for (const r of [FAIL, OK, FAIL, OK, FAIL]) s = recordResult(s, 100, CFG, r);
    expect(s.openUntil).toBeNull();
    s = recordResult(s, 100, CFG, FAIL);
    expect(s.openUntil).toBe(10_100);
    // the same calls spread over two windows do not trip it
    let t = INITIAL_STATE;
    for (const [i, r] of [FAIL, OK, FAIL, OK, FAIL, OK].entries()) t = recordResult(t, i * 30_000, CFG, r);
    expect(t.openUntil).toBeNull();
  });

  it('a Retry-After holds every caller until it passes, and never shortens', () => {
    let s = holdUntil(INITIAL_STATE, 5_000, '429');
    expect(admit(s, 4_999, CFG).result).toMatchObject({ ok: false, reason: 'not_before', until: 5_000 });
    s = holdUntil(s, 3_000, 'shorter');
    expect(s.notBefore).toBe(5_000);
    expect(admit(s, 5_000, CFG).result).toEqual({ ok: true, probe: false });
  });
});

function storeSuite(name: string, make: () => UpstreamHealthStore) {
  it(`${name}: the breaker's whole cycle through the store, one probe among 20 concurrent callers`, async () => {
    let now = 1_000;
    const store = make();
    const guard = createUpstreamGuard(store, 'llm:http://provider.test/v1', CFG, () => now);
    const other = createUpstreamGuard(store, 'llm:http://other.test/v1', CFG, () => now);
    await Promise.all([1, 2, 3].map(() => guard.record(FAIL)));
    expect(await guard.admit()).toMatchObject({ ok: false, reason: 'open', until: 11_000 });
    // upstreams are independent
    expect(await other.admit()).toEqual({ ok: true, probe: false });
    now = 11_000;
    const admissions = await Promise.all(Array.from({ length: 20 }, () => guard.admit()));
    expect(admissions.filter((a) => a.ok)).toHaveLength(1);
    expect(admissions.filter((a) => !a.ok && a.reason === 'probing')).toHaveLength(19);
    await guard.record(OK);
    expect(await guard.admit()).toEqual({ ok: true, probe: false });
    await guard.hold(20_000, 'Retry-After 9 s');
    expect(await guard.admit()).toMatchObject({ ok: false, reason: 'not_before', until: 20_000 });
    const listed = await store.list();
    expect(listed.find((r) => r.key === guard.key)?.state).toMatchObject({ notBefore: 20_000, opened: 1 });
  });

  it(`${name}: concurrent failures are all counted (none lost)`, async () => {
    const store = make();
    const wide = { ...CFG, failures: 1_000, minCalls: 1_000 };
    const guard = createUpstreamGuard(store, 'http:https://api.binance.test', wide, () => 0);
    await Promise.all(Array.from({ length: 40 }, () => guard.record(FAIL)));
    const [row] = (await store.list()).filter((r) => r.key === guard.key);
    expect(row?.state.consecutiveFailures).toBe(40);
  });
}

describe('upstream health stores', () => {
  storeSuite('memory', createMemoryHealthStore);
});

describe.each(testDrivers())('upstream health in PostgreSQL on %s', (driver) => {
  const t = useTestDatabase(driver);
  storeSuite(driver, () => createDatabaseHealthStore(t.db));
});

describe('adaptive concurrency limit', () => {
  it('halves on a rate limit, grows back by 1/limit per success, and queues callers past it', async () => {
    const limit = createAdaptiveLimit(8);
    const far = Date.now() + 60_000;
    for (let i = 0; i < 8; i++) expect(await limit.acquire(far)).toBe(true);
    expect(limit.inFlight).toBe(8);
    limit.release('rate_limited');
    expect(limit.limit).toBe(4);
    limit.release('rate_limited');
    expect(limit.limit).toBe(2);
    // 6 in flight over a limit of 2: a new caller waits until the count drops below the limit
    let granted = false;
    const waiting = limit.acquire(far).then((ok) => {
      granted = ok;
    });
    for (let i = 0; i < 4; i++) limit.release('other');
    await Promise.resolve();
    expect(granted).toBe(false);
    limit.release('ok'); // 1 in flight, limit 2.5: the waiter goes
    await waiting;
    expect(granted).toBe(true);
    expect(limit.limit).toBeCloseTo(2.5);
  });

  it('a caller whose deadline passes while waiting gets false, and never a slot later', async () => {
    const limit = createAdaptiveLimit(1);
    expect(await limit.acquire(Date.now() + 1_000)).toBe(true);
    expect(await limit.acquire(Date.now() + 20)).toBe(false);
    limit.release('ok');
    expect(limit.inFlight).toBe(0);
  });
});
