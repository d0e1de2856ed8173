/**
 * The dated price table: USD per 1M tokens (input, output, cached input) and each model's knowledge
 * cutoff, as published by the provider on `asOf`. Prices change: the date says how old a figure is, and
 * a model that is not listed costs `null` (reported as 0 with `costKnown: false`), never a guess.
 *
 * Knowledge cutoffs label backtests in-sample or out-of-sample (AGENTS.md, "Look-ahead through the
 * model itself"): a model may remember prices up to its cutoff, so a test window that ends before the
 * cutoff is in-sample for that model. A model with no known cutoff is treated as knowing everything
 * (in-sample): the label must never claim more honesty than we can show.
 *
 * OpenRouter names models `vendor/model` (`openai/gpt-4.1`); the vendor prefix is ignored on lookup.
 */
export interface ModelPrice {
  model: string;
  inputPerMTok: number;
  outputPerMTok: number;
  cachedInputPerMTok: number;
  /** When these figures were read from the provider's price page (YYYY-MM-DD). */
  asOf: string;
  /** Last month of training data the provider states (YYYY-MM-DD, first day of that month). */
  knowledgeCutoff: string;
}

/** OpenAI list prices (platform.openai.com/docs/pricing), standard tier. */
const OPENAI_PRICES_AS_OF = '2025-08-01';

export const MODEL_PRICES: readonly ModelPrice[] = [
  {
    model: 'gpt-4.1',
    inputPerMTok: 2,
    outputPerMTok: 8,
    cachedInputPerMTok: 0.5,
    knowledgeCutoff: '2024-06-01',
  },
  {
    model: 'gpt-4.1-mini',
    inputPerMTok: 0.4,
    outputPerMTok: 1.6,
    cachedInputPerMTok: 0.1,
    knowledgeCutoff: '2024-06-01',
  },
  {
    model: 'gpt-4.1-nano',
    inputPerMTok: 0.1,
    outputPerMTok: 0.4,
    cachedInputPerMTok: 0.025,
    knowledgeCutoff: '2024-06-01',
  },
  {
    model: 'gpt-4o',
    inputPerMTok: 2.5,
    outputPerMTok: 10,
    cachedInputPerMTok: 1.25,
    knowledgeCutoff: '2023-10-01',
  },
  {
    model: 'gpt-4o-mini',
    inputPerMTok: 0.15,
    outputPerMTok: 0.6,
    cachedInputPerMTok: 0.075,
    knowledgeCutoff: '2023-10-01',
  },
  {
    model: 'gpt-5',
    inputPerMTok: 1.25,
    outputPerMTok: 10,
    cachedInputPerMTok: 0.125,
    knowledgeCutoff: '2024-09-01',
  },
  {
    model: 'gpt-5-mini',
    inputPerMTok: 0.25,
    outputPerMTok: 2,
    cachedInputPerMTok: 0.025,
    knowledgeCutoff: '2024-05-01',
  },
  {
    model: 'o4-mini',
    inputPerMTok: 1.1,
    outputPerMTok: 4.4,
    cachedInputPerMTok: 0.275,
    knowledgeCutoff: '2024-06-01',
  },
].map((p) => ({ ...p, asOf: OPENAI_PRICES_AS_OF }));

/** The offline rules provider's model label. It costs nothing and knows nothing of the past. */
export const OFFLINE_MODEL = 'offline-rules';

const TOKENS_PER_PRICE_UNIT = 1_000_000;

export function priceFor(model: string): ModelPrice | undefined {
  const bare = model.includes('/') ? model.slice(model.lastIndexOf('/') + 1) : model;
  return MODEL_PRICES.find((p) => p.model === bare);
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** Part of promptTokens served from the provider's prompt cache (billed at the cached rate). */
  cachedTokens: number;
}

/** USD for one call's usage, or null when the model has no listed price. The offline model costs 0. */
export function costUsd(model: string, usage: TokenUsage): number | null {
  if (model === OFFLINE_MODEL) return 0;
  const p = priceFor(model);
  if (!p) return null;
  const cached = Math.min(usage.cachedTokens, usage.promptTokens);
  const uncached = usage.promptTokens - cached;
  return (
    (uncached * p.inputPerMTok + cached * p.cachedInputPerMTok + usage.completionTokens * p.outputPerMTok) /
    TOKENS_PER_PRICE_UNIT
  );
}

/**
 * The most a call can cost: every input token at the uncached input price plus `maxTokens` of output at
 * the output price (a dollar budget reserves this before the call). Null when the model has no listed
 * price: under a dollar budget such a model cannot be called (never a guessed price). The offline model
 * costs 0.
 */
export function worstCaseUsd(model: string, inputTokens: number, maxTokens: number): number | null {
  if (model === OFFLINE_MODEL) return 0;
  const p = priceFor(model);
  if (!p) return null;
  return (
    (Math.max(0, inputTokens) * p.inputPerMTok + Math.max(0, maxTokens) * p.outputPerMTok) /
    TOKENS_PER_PRICE_UNIT
  );
}

export type SampleLabel = 'in_sample' | 'out_of_sample' | 'mixed' | 'not_applicable';

/**
 * Whether a backtest window [startMs, endMs] lies before (in-sample), after (out-of-sample) or across
 * (mixed) the knowledge cutoffs of the models that made its decisions. The offline rules have no
 * memory: not_applicable. Across several models the labels combine: all in -> in, all out -> out,
 * anything else -> mixed.
 */
export function sampleLabel(models: readonly string[], startMs: number, endMs: number): SampleLabel {
  const remembering = models.filter((m) => m !== OFFLINE_MODEL);
  if (remembering.length === 0) return 'not_applicable';
  const labels = new Set<SampleLabel>();
  for (const m of remembering) {
    const cutoff = priceFor(m)?.knowledgeCutoff;
    // Unknown cutoff: assume the model may have seen the whole window.
    const cutoffMs = cutoff ? Date.parse(`${cutoff}T00:00:00Z`) : Number.POSITIVE_INFINITY;
    if (endMs <= cutoffMs) labels.add('in_sample');
    else if (startMs > cutoffMs) labels.add('out_of_sample');
    else labels.add('mixed');
  }
  return labels.size === 1 ? [...labels][0]! : 'mixed';
}
