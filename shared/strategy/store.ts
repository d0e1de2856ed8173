/**
 * The versioned strategy parameters (table strategy_versions): the version in force for a run at a time,
 * the history, and appending a change as a new version.
 *
 * Decisions:
 * - One sequence per run. The live book's versions ('live') begin with a base made from the settings
 *   (shared/strategy/defaults.ts) the first time anything asks. A setting changed since (an operator's
 *   RESEARCHER_MIN_CONFIDENCE, say) is itself a version, applied by 'settings': the parameters whose
 *   settings changed take the new values, the others keep what was learned. A walk-forward backtest's begin with a
 *   copy of the live version in force when it started ('inherited'), so a backtest never sees a change
 *   made after it began and never changes the live book.
 * - `effectiveAt` decides what is in force at a time: wall-clock for the live book, market time for a
 *   backtest (a cycle's changes take effect at the cycle's time). Base versions take effect at epoch 0.
 * - Nothing is updated in place: every change, approval or rollback appends a version (seq + 1). Two
 *   writers racing for the same next seq collide on the unique index and the later one gets a 409, so a
 *   change is never made against a version that is no longer in force.
 */
import { and, asc, desc, eq, lte } from 'drizzle-orm';
import type { Settings } from '../config/settings';
import type { DbOrTx } from '../db/client';
import { strategyVersions } from '../db/schema';
import { perOwnerCache } from '../util/bounded-cache';
import { AppError } from '../util/errors';
import { defaultStrategyParams } from './defaults';
import { STRATEGY_PARAM_NAMES, type StrategyParamName, type StrategyParams } from './params';

export const LIVE_STRATEGY_RUN = 'live';

export type AppliedBy = 'settings' | 'inherited' | 'learning' | 'person' | 'rollback';

export interface StrategyChange {
  parameter: StrategyParamName;
  from: StrategyParams[StrategyParamName];
  to: StrategyParams[StrategyParamName];
}

export interface StrategyVersion {
  id: string;
  runId: string;
  /** 1, 2, 3… within the run. */
  seq: number;
  params: StrategyParams;
  change: StrategyChange | null;
  appliedBy: AppliedBy;
  adjustmentId: string | null;
  reason: string | null;
  /** Epoch ms from which it is in force. */
  effectiveAt: number;
  createdAt: number;
}

type Row = typeof strategyVersions.$inferSelect;

function toVersion(r: Row): StrategyVersion {
  return {
    id: r.id,
    runId: r.runId,
    seq: r.seq,
    params: r.params as StrategyParams,
    change: (r.change as StrategyChange | null) ?? null,
    appliedBy: r.appliedBy as AppliedBy,
    adjustmentId: r.adjustmentId,
    reason: r.reason,
    effectiveAt: r.effectiveAt.getTime(),
    createdAt: r.createdAt.getTime(),
  };
}

async function latest(db: DbOrTx, runId: string, at?: number): Promise<StrategyVersion | null> {
  const where =
    at === undefined
      ? eq(strategyVersions.runId, runId)
      : and(eq(strategyVersions.runId, runId), lte(strategyVersions.effectiveAt, new Date(at)));
  const [row] = await db
    .select()
    .from(strategyVersions)
    .where(where)
    .orderBy(desc(strategyVersions.seq))
    .limit(1);
  return row ? toVersion(row) : null;
}

async function insertBase(
  db: DbOrTx,
  runId: string,
  params: StrategyParams,
  appliedBy: AppliedBy,
  reason: string,
): Promise<void> {
  await db
    .insert(strategyVersions)
    .values({
      runId,
      seq: 1,
      params,
      change: null,
      appliedBy,
      reason,
      settingsDefaults: appliedBy === 'settings' ? params : null,
      effectiveAt: new Date(0),
    })
    .onConflictDoNothing();
}

/** When the settings' parameters differ from those of the last 'settings' version, append one. */
async function followSettings(db: DbOrTx, settings: Settings, now: number): Promise<void> {
  const top = await latest(db, LIVE_STRATEGY_RUN);
  if (!top) return;
  const [last] = await db
    .select({ settingsDefaults: strategyVersions.settingsDefaults })
    .from(strategyVersions)
    .where(and(eq(strategyVersions.runId, LIVE_STRATEGY_RUN), eq(strategyVersions.appliedBy, 'settings')))
    .orderBy(desc(strategyVersions.seq))
    .limit(1);
  const before = (last?.settingsDefaults ?? null) as StrategyParams | null;
  const defaults = defaultStrategyParams(settings);
  const changed = STRATEGY_PARAM_NAMES.filter((k) => !before || before[k] !== defaults[k]);
  if (changed.length === 0) return;
  const params = { ...top.params } as Record<StrategyParamName, unknown>;
  for (const k of changed) params[k] = defaults[k];
  await db
    .insert(strategyVersions)
    .values({
      runId: LIVE_STRATEGY_RUN,
      seq: top.seq + 1,
      params,
      change: null,
      appliedBy: 'settings',
      reason: `settings changed: ${changed.map((k) => `${k} ${before?.[k]} -> ${defaults[k]}`).join(', ')}`,
      settingsDefaults: defaults,
      effectiveAt: new Date(Math.max(now, top.effectiveAt)),
    })
    .onConflictDoNothing();
}

/**
 * The strategy version in force for a run at a time (default: the live book, now). The live book's base
 * version is created from the settings on first use. A run without versions of its own (a backtest
 * without learning) runs under the live version in force now.
 */
export async function strategyInForce(
  db: DbOrTx,
  o: { settings: Settings; runId?: string; at?: number; now?: number },
): Promise<StrategyVersion> {
  const runId = o.runId ?? LIVE_STRATEGY_RUN;
  if (runId === LIVE_STRATEGY_RUN) await followSettings(db, o.settings, o.now ?? o.at ?? Date.now());
  const found = await latest(db, runId, o.at);
  if (found) return found;
  if (runId !== LIVE_STRATEGY_RUN) {
    const own = await latest(db, runId);
    // The run has versions, but none in force yet at `at`: impossible for a base at epoch 0; guard anyway.
    if (own) return own;
    return strategyInForce(db, { settings: o.settings });
  }
  await insertBase(
    db,
    runId,
    defaultStrategyParams(o.settings),
    'settings',
    'base version from the settings',
  );
  const base = await latest(db, runId, o.at);
  if (!base) throw new AppError('INTERNAL', 'the base strategy version could not be created');
  return base;
}

/** Give a run (a walk-forward backtest) its own base: a copy of the live version in force now. */
export async function inheritLiveStrategy(
  db: DbOrTx,
  o: { settings: Settings; runId: string },
): Promise<StrategyVersion> {
  const own = await latest(db, o.runId);
  if (own) return own;
  const live = await strategyInForce(db, { settings: o.settings });
  await insertBase(db, o.runId, live.params, 'inherited', `copy of live version ${live.seq} (${live.id})`);
  return (await latest(db, o.runId))!;
}

/** Versions by id, per database handle: a version is never updated in place (see the header). */
const versionsById = perOwnerCache<string, StrategyVersion>(256);

export async function getStrategyVersion(db: DbOrTx, id: string): Promise<StrategyVersion | null> {
  const cache = versionsById(db);
  const hit = cache.get(id);
  if (hit) return hit;
  const [row] = await db.select().from(strategyVersions).where(eq(strategyVersions.id, id));
  if (!row) return null;
  const version = toVersion(row);
  cache.set(id, version);
  return version;
}

/** Every version of a run, oldest first. */
export async function listStrategyVersions(
  db: DbOrTx,
  o: { settings: Settings; runId?: string },
): Promise<StrategyVersion[]> {
  const runId = o.runId ?? LIVE_STRATEGY_RUN;
  if (runId === LIVE_STRATEGY_RUN) await strategyInForce(db, { settings: o.settings });
  const rows = await db
    .select()
    .from(strategyVersions)
    .where(eq(strategyVersions.runId, runId))
    .orderBy(asc(strategyVersions.seq));
  return rows.map(toVersion);
}

/**
 * Append one change as the run's next version. `base` must be the run's latest version: if another
 * version was appended since (or is appended concurrently), this is a CONFLICT and nothing changes.
 */
export async function appendStrategyVersion(
  db: DbOrTx,
  o: {
    base: StrategyVersion;
    parameter: StrategyParamName;
    value: StrategyParams[StrategyParamName];
    appliedBy: Exclude<AppliedBy, 'settings' | 'inherited'>;
    adjustmentId: string | null;
    reason: string;
    effectiveAt: number;
  },
): Promise<StrategyVersion> {
  const current = await latest(db, o.base.runId);
  if (!current || current.id !== o.base.id)
    throw new AppError(
      'CONFLICT',
      `strategy version ${o.base.seq} of ${o.base.runId} is no longer the latest (now ${current?.seq ?? 'none'})`,
      { runId: o.base.runId, expected: o.base.seq, latest: current?.seq ?? null },
    );
  const params = { ...o.base.params, [o.parameter]: o.value } as StrategyParams;
  const change: StrategyChange = { parameter: o.parameter, from: o.base.params[o.parameter], to: o.value };
  const rows = await db
    .insert(strategyVersions)
    .values({
      runId: o.base.runId,
      seq: o.base.seq + 1,
      params,
      change,
      appliedBy: o.appliedBy,
      adjustmentId: o.adjustmentId,
      reason: o.reason,
      effectiveAt: new Date(Math.max(o.effectiveAt, o.base.effectiveAt)),
    })
    .onConflictDoNothing()
    .returning();
  const row = rows[0];
  if (!row)
    throw new AppError('CONFLICT', `another change made version ${o.base.seq + 1} of ${o.base.runId} first`, {
      runId: o.base.runId,
      seq: o.base.seq + 1,
    });
  return toVersion(row);
}
