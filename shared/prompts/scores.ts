/**
 * Each prompt version's record: the outcomes (trade_outcomes) of the decisions that used it, read from
 * the version the outcome's entry context carries for the agent (the entry decision's prompt_versions).
 *
 * Per version and book kind (the live book, backtests, both): count, wins (pnl > 0 net of fees, as in
 * shared/outcomes/stats.ts), win rate and mean PnL %. The count is always beside the rates: a 100% win
 * rate over 2 trades says little, and the view prints the sample size with every score.
 * Outcomes recorded with a builtin prompt's label (decisions made before the registry, e.g. 'trader@1')
 * count for the current builtin version with that label.
 */
import { and, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { tradeOutcomes } from '../db/schema';

export interface PromptScore {
  count: number;
  wins: number;
  /** wins / count; null without outcomes. */
  winRate: number | null;
  /** Mean of the outcomes' PnL % (net of fees); null without outcomes. */
  meanPnlPct: number | null;
}

export interface PromptVersionScores {
  all: PromptScore;
  live: PromptScore;
  backtest: PromptScore;
}

export const EMPTY_SCORE: PromptScore = { count: 0, wins: 0, winRate: null, meanPnlPct: null };
const round = (v: number, d = 6) => Math.round(v * 10 ** d) / 10 ** d;

interface Group {
  count: number;
  wins: number;
  pnlSum: number;
}

function score(g: Group | undefined): PromptScore {
  if (!g || g.count === 0) return { ...EMPTY_SCORE };
  return {
    count: g.count,
    wins: g.wins,
    winRate: round(g.wins / g.count),
    meanPnlPct: round(g.pnlSum / g.count),
  };
}

function add(into: Map<string, Group>, key: string, g: Group) {
  const x = into.get(key) ?? { count: 0, wins: 0, pnlSum: 0 };
  x.count += g.count;
  x.wins += g.wins;
  x.pnlSum += g.pnlSum;
  into.set(key, x);
}

/**
 * Scores of every version of `agent`'s prompt that has outcomes, keyed by version id. `aliases` maps a
 * recorded value (a builtin label) to the version id it stands for.
 */
export async function promptScores(
  db: DbOrTx,
  agent: string,
  aliases: Readonly<Record<string, string>> = {},
): Promise<Map<string, PromptVersionScores>> {
  const version = sql<string>`${tradeOutcomes.context} -> 'promptVersions' ->> ${agent}`;
  const rows = await db
    .select({
      version,
      live: sql<boolean>`${tradeOutcomes.runId} = 'live'`,
      count: sql<number>`count(*)::int`,
      wins: sql<number>`(count(*) filter (where ${tradeOutcomes.pnlUsdt} > 0))::int`,
      pnlSum: sql<string>`coalesce(sum(${tradeOutcomes.pnlPct}), 0)::text`,
    })
    .from(tradeOutcomes)
    .where(and(sql`${version} is not null`))
    .groupBy(sql`1`, sql`2`);
  const all = new Map<string, Group>();
  const live = new Map<string, Group>();
  const backtest = new Map<string, Group>();
  for (const r of rows) {
    const key = aliases[r.version] ?? r.version;
    const g = { count: Number(r.count), wins: Number(r.wins), pnlSum: Number(r.pnlSum) };
    add(all, key, g);
    add(r.live ? live : backtest, key, g);
  }
  const out = new Map<string, PromptVersionScores>();
  for (const key of all.keys())
    out.set(key, {
      all: score(all.get(key)),
      live: score(live.get(key)),
      backtest: score(backtest.get(key)),
    });
  return out;
}
