/**
 * Idempotent writes: a client that retries POST /analyze (a timeout, a flaky network, API Gateway's own
 * retry) must not trade twice, and a retried POST /backtest must not start a second run.
 *
 * The client sends an `Idempotency-Key` (the web app one per action; the CLI with --idempotency-key).
 * `runOnce` then:
 * 1. claims the key: one `INSERT … ON CONFLICT DO NOTHING` into idempotency_keys with a hash of the body,
 *    so of any number of concurrent duplicates, on PGlite or PostgreSQL, exactly one inserts and runs;
 * 2. the winner runs the write and records what it created (the decision or backtest id) and, when the
 *    answer is fixed, the answer; if the write fails (bad input, an unreachable upstream) the claim is
 *    released, so a retry runs anew and bad input still changes nothing;
 * 3. a repeat with the same key and body runs nothing: it waits (bounded) until the first has recorded
 *    its resource, then answers from it (the caller re-reads the analysis, or replays the 202);
 *    the same key with another body is 422 IDEMPOTENCY_KEY_REUSED; a first request still creating
 *    after the wait is 409 CONFLICT (retry later).
 * Keys live 24 h (IDEMPOTENCY_TTL_MS): after that the same key is a new request. Expired rows are
 * deleted by the claims themselves, so the table stays small without a sweeper.
 *
 * The scope (`POST /analyze`, `POST /backtest`, `cli analyze`…) is part of the key: one key cannot
 * replay an analysis as a backtest.
 */
import { createHash } from 'node:crypto';
import { and, eq, lte } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { idempotencyKeys } from '../db/schema';
import { AppError } from '../util/errors';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Longest key accepted (a UUID is 36). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
/** How long a repeat waits for the first request to record what it created. */
export const IDEMPOTENCY_WAIT_MS = 10_000;
const POLL_MS = 25;
const KEY_PATTERN = /^[\x21-\x7e]+$/;

export interface IdempotencyRecord {
  scope: string;
  key: string;
  bodyHash: string;
  resourceId: string | null;
  responseStatus: number | null;
  responseBody: unknown;
  createdAt: Date;
  expiresAt: Date;
}

/** A key as sent: 1 to 200 visible ASCII characters, else a 400 naming the header. */
export function parseIdempotencyKey(
  value: string | undefined,
  field = 'Idempotency-Key',
): string | undefined {
  if (value === undefined) return undefined;
  const key = value.trim();
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !KEY_PATTERN.test(key))
    throw new AppError(
      'VALIDATION_ERROR',
      `${field} must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters (a UUID is a good key)`,
      { field },
    );
  return key;
}

/** JSON with object keys sorted at every level: the same body hashes the same whatever its key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function hashBody(body: unknown): string {
  return createHash('sha256').update(canonical(body), 'utf8').digest('hex');
}

export async function readIdempotencyKey(
  db: DbOrTx,
  scope: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const [row] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)));
  return row;
}

/** Claim a key atomically: true when this caller inserted it (and so must run the write). */
export async function claimIdempotencyKey(
  db: DbOrTx,
  input: { scope: string; key: string; bodyHash: string; now: number },
): Promise<boolean> {
  const now = new Date(input.now);
  // Expired rows give their key back (this one, and any other: the table stays small).
  await db.delete(idempotencyKeys).where(lte(idempotencyKeys.expiresAt, now));
  const inserted = await db
    .insert(idempotencyKeys)
    .values({
      scope: input.scope,
      key: input.key,
      bodyHash: input.bodyHash,
      createdAt: now,
      expiresAt: new Date(input.now + IDEMPOTENCY_TTL_MS),
    })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key });
  return inserted.length === 1;
}

export async function completeIdempotencyKey(
  db: DbOrTx,
  input: { scope: string; key: string; resourceId: string; response?: { status: number; body: unknown } },
): Promise<void> {
  await db
    .update(idempotencyKeys)
    .set({
      resourceId: input.resourceId,
      responseStatus: input.response?.status ?? null,
      responseBody: input.response?.body ?? null,
    })
    .where(and(eq(idempotencyKeys.scope, input.scope), eq(idempotencyKeys.key, input.key)));
}

export async function releaseIdempotencyKey(
  db: DbOrTx,
  input: { scope: string; key: string },
): Promise<void> {
  await db
    .delete(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, input.scope), eq(idempotencyKeys.key, input.key)));
}

export interface RunOnceOptions {
  scope: string;
  key: string;
  /** The request body (hashed canonically). */
  body: unknown;
  now: () => number;
  waitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export type RunOnceResult<T> =
  | { replayed: false; result: T }
  | { replayed: true; resourceId: string; response: { status: number; body: unknown } | null };

const defaultSleep = (ms: number) => new Promise<void>((ok) => setTimeout(ok, ms));

/**
 * Run `write` once per (scope, key): see the header. `write` returns the id of what it created and,
 * when the answer is fixed, the answer to replay.
 */
export async function runOnce<T extends { resourceId: string; response?: { status: number; body: unknown } }>(
  db: DbOrTx,
  opts: RunOnceOptions,
  write: () => Promise<T>,
): Promise<RunOnceResult<T>> {
  const bodyHash = hashBody(opts.body);
  const sleep = opts.sleep ?? defaultSleep;
  const deadline = Date.now() + (opts.waitMs ?? IDEMPOTENCY_WAIT_MS);
  for (;;) {
    if (await claimIdempotencyKey(db, { scope: opts.scope, key: opts.key, bodyHash, now: opts.now() })) {
      let result: T;
      try {
        result = await write();
      } catch (e) {
        await releaseIdempotencyKey(db, opts);
        throw e;
      }
      await completeIdempotencyKey(db, {
        scope: opts.scope,
        key: opts.key,
        resourceId: result.resourceId,
        ...(result.response ? { response: result.response } : {}),
      });
      return { replayed: false, result };
    }
    // Someone holds the key: the same request (answer from it) or another one (refuse).
    for (;;) {
      const held = await readIdempotencyKey(db, opts.scope, opts.key);
      if (!held) break; // released (the first failed) or expired: claim again
      if (held.bodyHash !== bodyHash)
        throw new AppError(
          'IDEMPOTENCY_KEY_REUSED',
          `Idempotency-Key ${JSON.stringify(opts.key)} was already used with another request body; use a new key for a new request`,
          { field: 'Idempotency-Key' },
        );
      if (held.resourceId !== null)
        return {
          replayed: true,
          resourceId: held.resourceId,
          response:
            held.responseStatus === null ? null : { status: held.responseStatus, body: held.responseBody },
        };
      if (Date.now() >= deadline)
        throw new AppError(
          'CONFLICT',
          `A request with Idempotency-Key ${JSON.stringify(opts.key)} is still being processed; retry in a moment`,
          { field: 'Idempotency-Key' },
        );
      await sleep(POLL_MS);
    }
  }
}
