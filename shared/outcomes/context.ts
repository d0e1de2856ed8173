/**
 * The entry context of an outcome, read from the stored entry decision (its agents' outputs, prompt
 * versions, snapshot). Pure: takes the row's fields, returns the EntryContext of shared/outcomes/types.
 * A field the decision did not produce is null (never invented); an outcome whose BUY had no decision
 * (none in this product, but the ledger allows it) gets `emptyContext`.
 */
import type { StrategyParams } from '../strategy/params';
import type { EntryContext, Regime } from './types';

const REGIMES: readonly string[] = ['BULL', 'BEAR', 'SIDEWAYS', 'HIGH_VOL', 'LOW_VOL'];
/** The technical analyst's labels, as the regime detector's names. */
const TECHNICAL_TO_REGIME: Record<string, Regime> = {
  bull: 'BULL',
  bear: 'BEAR',
  sideways: 'SIDEWAYS',
  high_volatility: 'HIGH_VOL',
  low_volatility: 'LOW_VOL',
};

export function technicalRegime(label: string | null | undefined): Regime | null {
  return label ? (TECHNICAL_TO_REGIME[label] ?? null) : null;
}

export interface DecisionForContext {
  provider: string;
  outputs: unknown;
  promptVersions: unknown;
  snapshot: unknown;
  /** decisions.consensus: the votes of a consensus decision (shared/consensus), null otherwise. */
  consensus?: unknown;
}

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function emptyContext(provider = 'unknown'): EntryContext {
  return {
    regime: { detector: null, technical: null, agree: null },
    sentimentScore: null,
    researcher: { stance: null, confidence: null },
    trader: { sizePct: null, stopLossPct: null, takeProfitPct: null },
    consensus: null,
    promptVersions: {},
    strategyVersion: null,
    strategyParams: null,
    provider,
    models: { cheap: 'unknown', strong: 'unknown' },
  };
}

function okOutput(outputs: Rec | null, agent: string): Rec | null {
  const r = rec(outputs?.[agent]);
  return r && r.status === 'ok' ? rec(r.output) : null;
}

function consensusOf(v: unknown): EntryContext['consensus'] {
  const c = rec(v);
  if (!c || !Array.isArray(c.votes)) return null;
  const votes: NonNullable<EntryContext['consensus']>['votes'] = [];
  for (const x of c.votes) {
    const r = rec(x);
    const vote = str(r?.vote);
    if (!r || !str(r.voter) || (vote !== 'BUY' && vote !== 'SELL' && vote !== 'HOLD')) continue;
    votes.push({ voter: r.voter as string, vote, confidence: num(r.confidence) ?? 0 });
  }
  const agreed = c.agreed === 'BUY' || c.agreed === 'SELL' ? c.agreed : null;
  return { votes, voted: num(c.voted) ?? votes.length, agreed };
}

export function entryContextOf(d: DecisionForContext): EntryContext {
  const outputs = rec(d.outputs);
  const snapshot = rec(d.snapshot);
  const technical = okOutput(outputs, 'technical');
  const sentiment = okOutput(outputs, 'sentiment');
  const researcher = okOutput(outputs, 'researcher');
  const trader = okOutput(outputs, 'trader');

  const det = rec(snapshot?.regime);
  const detRegime = str(det?.regime);
  const detector =
    detRegime && REGIMES.includes(detRegime)
      ? { regime: detRegime as Regime, confidence: num(det?.confidence) ?? 0 }
      : null;
  const techLabel = str(technical?.regime);
  const techRegime = technicalRegime(techLabel);
  const agree = detector && techRegime ? detector.regime === techRegime : null;

  const models = { cheap: 'unknown', strong: 'unknown' };
  for (const v of Object.values(outputs ?? {})) {
    const r = rec(v);
    const tier = str(r?.tier);
    const model = str(r?.model);
    if (!model || r?.status === 'gated' || r?.status === 'skipped') continue;
    if (tier === 'cheap' && models.cheap === 'unknown') models.cheap = model;
    if (tier === 'strong' && models.strong === 'unknown') models.strong = model;
  }
  const versions: Record<string, string> = {};
  for (const [k, v] of Object.entries(rec(d.promptVersions) ?? {}))
    if (typeof v === 'string') versions[k] = v;
  const strategy = rec(snapshot?.strategy);

  return {
    regime: { detector, technical: techLabel, agree },
    sentimentScore: num(sentiment?.score),
    researcher: { stance: str(researcher?.stance), confidence: num(researcher?.confidence) },
    trader: {
      sizePct: num(trader?.size_pct),
      stopLossPct: num(trader?.stop_loss_pct),
      takeProfitPct: num(trader?.take_profit_pct),
    },
    consensus: consensusOf(d.consensus ?? outputs?.consensus),
    promptVersions: versions,
    strategyVersion: str(strategy?.version),
    strategyParams: (rec(strategy?.params) as StrategyParams | null) ?? null,
    provider: d.provider,
    models,
  };
}
