/**
 * The idempotency room on both databases: the claim is atomic under concurrency (one writer of many),
 * a failed write gives its key back, another body is refused, keys expire after 24 h, and a repeat of a
 * request still creating waits, then answers 409.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { testDrivers, useTestDatabase } from '../db/testing';
import { AppError } from '../util/errors';
import {
  hashBody,
  IDEMPOTENCY_TTL_MS,
  parseIdempotencyKey,
  readIdempotencyKey,
  runOnce,
} from './idempotency';

const T0 = Date.parse('2026-01-01T00:00:00Z');

describe.each(testDrivers())('idempotency keys on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  const opts = (key: string, body: unknown, now = T0) => ({ scope: 'test', key, body, now: () => now });

  it('runs the write once of many concurrent calls; the others answer its resource and response', async () => {
    let writes = 0;
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        runOnce(t.db, opts('k1', { a: 1 }), async () => {
          writes++;
          await new Promise((ok) => setTimeout(ok, 30));
          return { resourceId: 'r1', response: { status: 202, body: { id: 'r1' } } };
        }),
      ),
    );
    expect(writes).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    for (const r of results.filter((x) => x.replayed))
      expect(r).toEqual({ replayed: true, resourceId: 'r1', response: { status: 202, body: { id: 'r1' } } });
  });

  it('refuses the same key with another body (422), whatever the key order of the same body', async () => {
    await runOnce(t.db, opts('k2', { a: 1, b: [1, { c: 2, d: 3 }] }), async () => ({ resourceId: 'r2' }));
    const same = await runOnce(t.db, opts('k2', { b: [1, { d: 3, c: 2 }], a: 1 }), async () => ({
      resourceId: 'never',
    }));
    expect(same).toMatchObject({ replayed: true, resourceId: 'r2', response: null });
    const other = runOnce(t.db, opts('k2', { a: 2 }), async () => ({ resourceId: 'never' }));
    await expect(other).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
  });

  it('a failed write releases its key: the retry runs', async () => {
    await expect(
      runOnce(t.db, opts('k3', {}), async () => {
        throw new AppError('INSUFFICIENT_DATA', 'no data');
      }),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_DATA' });
    expect(await readIdempotencyKey(t.db, 'test', 'k3')).toBeUndefined();
    const retry = await runOnce(t.db, opts('k3', {}), async () => ({ resourceId: 'r3' }));
    expect(retry.replayed).toBe(false);
  });

  it('keys expire after 24 h: the same key is then a new request', async () => {
    await runOnce(t.db, opts('k4', {}), async () => ({ resourceId: 'first' }));
    const within = await runOnce(t.db, opts('k4', {}, T0 + IDEMPOTENCY_TTL_MS - 1), async () => ({
      resourceId: 'second',
    }));
    expect(within).toMatchObject({ replayed: true, resourceId: 'first' });
    const after = await runOnce(t.db, opts('k4', { other: true }, T0 + IDEMPOTENCY_TTL_MS), async () => ({
      resourceId: 'second',
    }));
    expect(after).toMatchObject({ replayed: false, result: { resourceId: 'second' } });
  });

  it('scopes are separate: one key cannot replay an analysis as a backtest', async () => {
    await runOnce(t.db, { ...opts('k5', {}), scope: 'a' }, async () => ({ resourceId: 'ra' }));
    const b = await runOnce(t.db, { ...opts('k5', {}), scope: 'b' }, async () => ({ resourceId: 'rb' }));
    expect(b).toMatchObject({ replayed: false, result: { resourceId: 'rb' } });
  });

  it('a repeat of a request still creating waits, then answers 409 CONFLICT', async () => {
    let release: () => void = () => undefined;
    const slow = runOnce(t.db, opts('k6', {}), async () => {
      await new Promise<void>((ok) => {
        release = ok;
      });
      return { resourceId: 'r6' };
    });
    await new Promise((ok) => setTimeout(ok, 50));
    const repeat = runOnce(t.db, { ...opts('k6', {}), waitMs: 100 }, async () => ({ resourceId: 'never' }));
    await expect(repeat).rejects.toMatchObject({ code: 'CONFLICT', status: 409 });
    release();
    await expect(slow).resolves.toMatchObject({ replayed: false });
  });
});

describe('keys and hashes', () => {
  it('accepts 1 to 200 visible ASCII characters, and refuses the rest naming the header', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey(' 6f1c9d55-8c53-4c1b-9a43-3f2a8e0d7b11 ')).toBe(
      '6f1c9d55-8c53-4c1b-9a43-3f2a8e0d7b11',
    );
    for (const bad of ['', 'a b', 'x'.repeat(201), 'é'])
      expect(() => parseIdempotencyKey(bad)).toThrow(/^Idempotency-Key must be/);
  });

  it('hashes canonically: key order does not matter, values do', () => {
    expect(hashBody({ a: 1, b: { c: 2, d: 3 } })).toBe(hashBody({ b: { d: 3, c: 2 }, a: 1 }));
    expect(hashBody({ a: 1 })).not.toBe(hashBody({ a: '1' }));
    expect(hashBody([1, 2])).not.toBe(hashBody([2, 1]));
  });
});
