/**
 * The prompt registry (tables agent_prompts, agent_prompt_active): every text an agent's prompt has had,
 * which one each agent uses by default, and the version every decision uses.
 *
 * Exported for the rest of the product:
 * - `registerBuiltinPrompts(db)`: at every start (the composition root on every host, and the deploy's
 *   migration step): the code's prompts as origin `builtin`. Idempotent and safe under concurrent cold
 *   starts (INSERT … ON CONFLICT DO NOTHING). It points each agent's active version at its builtin text
 *   unless a manual or learning version was made active since: a deploy that changes a builtin text moves
 *   agents still on the old builtin, and never silently drops a lesson.
 * - `createPromptVersion(db, { agent, text, origin, parent, activate, note })`: a new manual or learning
 *   version. This is the door the learning loop (issue 10) uses to add a lesson: `promptLessonSink()`
 *   below implements shared/learning/ports.ts' PromptLessonSink with it (the active text of the
 *   researcher or the trader plus "Lesson learned: …", origin `learning`, parent = the version it
 *   extends, made active so the next decision uses it). Creating a text that already exists returns that
 *   version (content-addressed) and changes nothing but, when asked, the active pointer.
 * - `activatePromptVersion(db, agent, version, setBy)`: make a registered version the default.
 * - `assignDecisionPrompts(db, …)`: the version of each of the six decision agents for a new decision:
 *   the backtest's pins, else (live decisions) the PROMPT_AB arm, else the active version.
 * - `promptForDecision(db, agent, version)`: the text a step sends; builtin texts come from the code,
 *   others from the database (cached in process: a version's text never changes).
 * - `assertPromptVersionsExist` / `assertPromptAbSetting`: unknown versions are a clear error naming the
 *   field or the setting.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { AgentName, ModelAgentName } from '../agents/schemas';
import { ConfigError, type Settings } from '../config/settings';
import type { DbOrTx } from '../db/client';
import { agentPromptActive, agentPrompts } from '../db/schema';
import { AppError } from '../util/errors';
import { abAssignment } from './ab';
import {
  BUILTIN_PROMPTS,
  DECISION_PROMPT_AGENTS,
  isPromptAgent,
  PROMPT_AGENTS,
  promptVersionId,
} from './builtin';

export type PromptOrigin = 'builtin' | 'manual' | 'learning';
/** Who made a version active. */
export type PromptSetBy = 'builtin' | 'learning' | 'person';

export interface PromptVersionRecord {
  agent: ModelAgentName;
  version: string;
  text: string;
  origin: PromptOrigin;
  parent: string | null;
  label: string | null;
  note: string | null;
  firstSeenAt: number;
}

/** Longest prompt text accepted (characters): a prompt, not a document. */
export const MAX_PROMPT_CHARS = 20_000;

const toRecord = (r: typeof agentPrompts.$inferSelect): PromptVersionRecord => ({
  agent: r.agent as ModelAgentName,
  version: r.version,
  text: r.text,
  origin: r.origin,
  parent: r.parent,
  label: r.label,
  note: r.note,
  firstSeenAt: r.firstSeenAt.getTime(),
});

/** Register the code's prompts and point agents still on a builtin at the current one (see header). */
export async function registerBuiltinPrompts(db: DbOrTx): Promise<{ agents: number }> {
  const rows = PROMPT_AGENTS.map((agent) => BUILTIN_PROMPTS[agent]);
  await db
    .insert(agentPrompts)
    .values(
      rows.map((b) => ({
        agent: b.agent,
        version: b.version,
        text: b.text,
        origin: 'builtin' as const,
        label: b.label,
      })),
    )
    .onConflictDoNothing();
  // An agent on a builtin version moves to the current builtin; one on a manual or learning version stays.
  await db
    .insert(agentPromptActive)
    .values(rows.map((b) => ({ agent: b.agent, version: b.version, setBy: 'builtin' })))
    .onConflictDoUpdate({
      target: agentPromptActive.agent,
      set: { version: sql`excluded.version`, setBy: 'builtin', since: sql`now()` },
      setWhere: sql`${agentPromptActive.version} <> excluded.version and exists (select 1 from ${agentPrompts} p where p.agent = ${agentPromptActive.agent} and p.version = ${agentPromptActive.version} and p.origin = 'builtin')`,
    });
  return { agents: rows.length };
}

function checkAgent(agent: string, field = 'agent'): asserts agent is ModelAgentName {
  if (!isPromptAgent(agent))
    throw new AppError(
      'VALIDATION_ERROR',
      `${field}: "${agent}" is not an agent with a prompt (one of ${PROMPT_AGENTS.join(', ')})`,
      {
        field,
        agents: PROMPT_AGENTS,
      },
    );
}

export async function getPromptVersion(
  db: DbOrTx,
  agent: string,
  version: string,
): Promise<PromptVersionRecord | null> {
  const [row] = await db
    .select()
    .from(agentPrompts)
    .where(and(eq(agentPrompts.agent, agent), eq(agentPrompts.version, version)));
  return row ? toRecord(row) : null;
}

/** Every version of an agent's prompt, oldest first. */
export async function listPromptVersions(db: DbOrTx, agent: string): Promise<PromptVersionRecord[]> {
  const rows = await db
    .select()
    .from(agentPrompts)
    .where(eq(agentPrompts.agent, agent))
    .orderBy(asc(agentPrompts.firstSeenAt), asc(agentPrompts.version));
  return rows.map(toRecord);
}

/** How many versions each agent has registered (agents with none are absent). */
export async function promptVersionCounts(db: DbOrTx): Promise<Map<string, number>> {
  const rows = await db
    .select({ agent: agentPrompts.agent, n: sql<number>`count(*)::int`.mapWith(Number) })
    .from(agentPrompts)
    .groupBy(agentPrompts.agent);
  return new Map(rows.map((r) => [r.agent, r.n]));
}

export interface ActivePrompt {
  version: string;
  setBy: string;
  since: number;
}

/** The active version of each agent (agents never registered fall back to their builtin). */
export async function activePromptVersions(db: DbOrTx): Promise<Record<ModelAgentName, ActivePrompt>> {
  const rows = await db.select().from(agentPromptActive);
  const out = Object.fromEntries(
    PROMPT_AGENTS.map((a) => [a, { version: BUILTIN_PROMPTS[a].version, setBy: 'builtin', since: 0 }]),
  ) as Record<ModelAgentName, ActivePrompt>;
  for (const r of rows)
    if (isPromptAgent(r.agent))
      out[r.agent] = { version: r.version, setBy: r.setBy, since: r.since.getTime() };
  return out;
}

export async function activatePromptVersion(
  db: DbOrTx,
  agent: string,
  version: string,
  setBy: PromptSetBy = 'person',
): Promise<void> {
  checkAgent(agent);
  if (!(await getPromptVersion(db, agent, version)))
    throw new AppError('NOT_FOUND', `version: ${agent} has no prompt version ${version}`, {
      field: 'version',
    });
  await db
    .insert(agentPromptActive)
    .values({ agent, version, setBy })
    .onConflictDoUpdate({ target: agentPromptActive.agent, set: { version, setBy, since: sql`now()` } });
}

export interface CreatePromptVersionInput {
  agent: string;
  /** The whole system message the model will read. */
  text: string;
  origin: 'manual' | 'learning';
  /** The version this one derives from (must exist for the agent); null for none. */
  parent?: string | null;
  /** Make it the agent's active version (the next decisions use it). Default false. */
  activate?: boolean;
  /** Where it came from, e.g. "learning adjustment <id>". */
  note?: string | null;
}

/**
 * Register a manual or learning version of an agent's prompt (see header). Answers its version id,
 * whether it was new, and its parent as recorded.
 */
export async function createPromptVersion(
  db: DbOrTx,
  input: CreatePromptVersionInput,
): Promise<{ version: string; created: boolean; parent: string | null }> {
  checkAgent(input.agent);
  const agent = input.agent;
  if (input.origin !== 'manual' && input.origin !== 'learning')
    throw new AppError(
      'VALIDATION_ERROR',
      'origin: must be manual or learning (builtin prompts come from the code)',
      {
        field: 'origin',
      },
    );
  const text = input.text;
  if (typeof text !== 'string' || text.trim() === '')
    throw new AppError('VALIDATION_ERROR', 'text: a prompt text must not be empty', { field: 'text' });
  if (text.length > MAX_PROMPT_CHARS)
    throw new AppError(
      'VALIDATION_ERROR',
      `text: at most ${MAX_PROMPT_CHARS} characters (got ${text.length})`,
      {
        field: 'text',
      },
    );
  const parent = input.parent ?? null;
  if (parent !== null && !(await getPromptVersion(db, agent, parent)))
    throw new AppError('VALIDATION_ERROR', `parent: ${agent} has no prompt version ${parent}`, {
      field: 'parent',
    });
  const version = promptVersionId(text);
  const inserted = await db
    .insert(agentPrompts)
    .values({ agent, version, text, origin: input.origin, parent, note: input.note ?? null })
    .onConflictDoNothing()
    .returning({ version: agentPrompts.version });
  const stored = inserted.length ? null : await getPromptVersion(db, agent, version);
  if (input.activate)
    await activatePromptVersion(db, agent, version, input.origin === 'learning' ? 'learning' : 'person');
  return { version, created: inserted.length > 0, parent: stored ? stored.parent : parent };
}

/** The text a lesson adds to a prompt. */
export function withLesson(text: string, lesson: string): string {
  return `${text}\nLesson learned from past outcomes: ${lesson.trim()}`;
}

/**
 * The learning loop's door (shared/learning/ports.ts PromptLessonSink): a lesson for the researcher or
 * the trader becomes a new version of that agent's active prompt, origin `learning`, its parent
 * recorded, active from the next decision on.
 */
export function promptLessonSink() {
  return {
    async addLesson(
      db: DbOrTx,
      l: { agent: 'researcher' | 'trader'; lesson: string; adjustmentId: string },
    ): Promise<{ promptVersion: string; parent: string | null }> {
      const active = (await activePromptVersions(db))[l.agent];
      const base = await promptForDecision(db, l.agent, active.version);
      const made = await createPromptVersion(db, {
        agent: l.agent,
        text: withLesson(base.text, l.lesson),
        origin: 'learning',
        parent: active.version,
        activate: true,
        note: `learning adjustment ${l.adjustmentId}`,
      });
      return { promptVersion: made.version, parent: made.parent };
    },
  };
}

// ---------- decisions ----------

/** Texts by `agent:version` (immutable, so cached for the process's life). */
const textCache = new Map<string, string>();

/** The text of a version for a step to send. Unknown versions are an error naming them. */
export async function promptForDecision(
  db: DbOrTx,
  agent: ModelAgentName,
  version: string | undefined,
): Promise<{ version: string; text: string }> {
  const builtin = BUILTIN_PROMPTS[agent];
  // Decisions made before the registry recorded the builtin's label (e.g. 'trader@1').
  if (version === undefined || version === builtin.version || version === builtin.label)
    return { version: builtin.version, text: builtin.text };
  const key = `${agent}:${version}`;
  let text = textCache.get(key);
  if (text === undefined) {
    const row = await getPromptVersion(db, agent, version);
    if (!row)
      throw new AppError('VALIDATION_ERROR', `prompt version ${version} of ${agent} is not in the registry`, {
        field: 'prompt_versions',
        agent,
        version,
      });
    text = row.text;
    textCache.set(key, text);
  }
  return { version, text };
}

/**
 * Every pinned version must be registered for its agent; the error names `<field>.<agent>`. Answers
 * the pins as given (already version ids).
 */
export async function assertPromptVersionsExist(
  db: DbOrTx,
  pins: Partial<Record<string, string>>,
  field: string,
): Promise<void> {
  const entries = Object.entries(pins).filter((e): e is [string, string] => typeof e[1] === 'string');
  if (!entries.length) return;
  for (const [agent] of entries)
    if (!(DECISION_PROMPT_AGENTS as readonly string[]).includes(agent))
      throw new AppError(
        'VALIDATION_ERROR',
        `${field}.${agent}: not a decision agent (one of ${DECISION_PROMPT_AGENTS.join(', ')})`,
        { field: `${field}.${agent}` },
      );
  const rows = await db
    .select({ agent: agentPrompts.agent, version: agentPrompts.version })
    .from(agentPrompts)
    .where(
      inArray(
        agentPrompts.version,
        entries.map(([, v]) => v),
      ),
    );
  for (const [agent, version] of entries)
    if (!rows.some((r) => r.agent === agent && r.version === version))
      throw new AppError(
        'VALIDATION_ERROR',
        `${field}.${agent}: ${version} is not a registered version of the ${agent} prompt (see GET /prompts/${agent})`,
        { field: `${field}.${agent}`, agent, version },
      );
}

/** Start-up check of PROMPT_AB: every version it names is registered for its agent (ConfigError otherwise). */
export async function assertPromptAbSetting(
  db: DbOrTx,
  settings: Pick<Settings, 'PROMPT_AB'>,
): Promise<void> {
  for (const t of settings.PROMPT_AB) {
    const known = await db
      .select({ version: agentPrompts.version })
      .from(agentPrompts)
      .where(and(eq(agentPrompts.agent, t.agent), inArray(agentPrompts.version, t.versions)));
    const missing = t.versions.filter((v) => !known.some((k) => k.version === v));
    if (missing.length) {
      const message = `${t.agent}: ${missing.join(', ')} ${missing.length > 1 ? 'are not registered versions' : 'is not a registered version'} of the ${t.agent} prompt (see GET /prompts/${t.agent})`;
      throw new ConfigError(`Invalid configuration:\n  PROMPT_AB: ${message}`, [
        { setting: 'PROMPT_AB', message },
      ]);
    }
  }
}

/**
 * The prompt version of each decision agent for a new decision: `pinned` (a backtest's) first, then the
 * PROMPT_AB arm for live decisions, then the agent's active version.
 */
export async function assignDecisionPrompts(
  db: DbOrTx,
  input: {
    settings: Pick<Settings, 'PROMPT_AB'>;
    decisionId: string;
    live: boolean;
    pinned?: Partial<Record<AgentName, string>> | null;
  },
): Promise<Record<AgentName, string>> {
  const arms = input.live ? abAssignment(input.decisionId, input.settings.PROMPT_AB) : {};
  const chosen = (a: AgentName) => input.pinned?.[a] ?? arms[a];
  // Every agent pinned (a backtest's decisions): no need to read the active versions.
  const active = DECISION_PROMPT_AGENTS.every((a) => chosen(a) !== undefined)
    ? null
    : await activePromptVersions(db);
  return Object.fromEntries(
    DECISION_PROMPT_AGENTS.map((a) => [a, chosen(a) ?? active![a].version]),
  ) as Record<AgentName, string>;
}
