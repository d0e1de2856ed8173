import { describe, expect, it } from 'vitest';
import { costUsd, MODEL_PRICES, OFFLINE_MODEL, priceFor, sampleLabel } from './prices';

const ms = (d: string) => Date.parse(`${d}T00:00:00Z`);

describe('price table', () => {
  it('is dated and priced per model, OpenRouter names included; unknown models have no price', () => {
    for (const p of MODEL_PRICES) expect(p.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(priceFor('openai/gpt-4.1')?.model).toBe('gpt-4.1');
    expect(
      costUsd('gpt-4.1', { promptTokens: 1_000_000, completionTokens: 1_000_000, cachedTokens: 0 }),
    ).toBe(10);
    expect(costUsd('nobody-knows', { promptTokens: 1, completionTokens: 1, cachedTokens: 0 })).toBeNull();
    expect(costUsd(OFFLINE_MODEL, { promptTokens: 1000, completionTokens: 1000, cachedTokens: 0 })).toBe(0);
  });

  it('labels a backtest window in or out of sample by the models knowledge cutoffs', () => {
    const models = ['gpt-4.1-mini', 'gpt-4.1']; // cutoff 2024-06-01
    expect(sampleLabel(models, ms('2023-01-01'), ms('2024-01-01'))).toBe('in_sample');
    expect(sampleLabel(models, ms('2024-07-01'), ms('2025-01-01'))).toBe('out_of_sample');
    expect(sampleLabel(models, ms('2024-01-01'), ms('2025-01-01'))).toBe('mixed');
    expect(sampleLabel(['gpt-4o', 'gpt-4.1'], ms('2024-01-01'), ms('2024-03-01'))).toBe('mixed');
    expect(sampleLabel([OFFLINE_MODEL], ms('2020-01-01'), ms('2021-01-01'))).toBe('not_applicable');
    // unknown cutoff: assume the model saw everything
    expect(sampleLabel(['local-llama'], ms('2025-01-01'), ms('2025-06-01'))).toBe('in_sample');
  });
});
