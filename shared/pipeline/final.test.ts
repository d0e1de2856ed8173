import { describe, expect, it } from 'vitest';
import type { AgentResult } from '../agents/schemas';
import { combineFinal, type FinalDecision, type FinalOutcome, withStops } from './final';

const ok = (agent: AgentResult['agent'], output: Record<string, unknown>): AgentResult => ({
  agent,
  status: 'ok',
  output,
  reason: null,
  provider: 'offline',
  tier: 'strong',
  model: 'offline-rules',
  promptVersion: `${agent}@1`,
  repaired: false,
  cacheHit: false,
  tokensIn: 1,
  tokensOut: 1,
  costUsd: 0,
  latencyMs: 0,
  retries: 0,
});
const failed = (agent: AgentResult['agent'], status: AgentResult['status']): AgentResult => ({
  ...ok(agent, {}),
  status,
  output: null,
  reason: 'because',
});
const analysts = { technical: ok('technical', {}) };
const researcher = ok('researcher', { stance: 'bullish', confidence: 0.8 });
const buy = (size: number) =>
  ok('trader', { action: 'BUY', size_pct: size, stop_loss_pct: 2, take_profit_pct: 4, reasons: ['x'] });
const limits = { maxPositionPct: 10 };
const errorOf = (o: FinalOutcome) => ('error' in o ? o.error : undefined);

describe('combineFinal', () => {
  it('applies the risk verdict, then the hard limit, recording every clamp', () => {
    const adjusted = combineFinal(
      {
        ...analysts,
        researcher,
        trader: buy(8),
        risk: ok('risk', { verdict: 'ADJUST', adjusted_size_pct: 4 }),
      },
      limits,
    );
    expect(adjusted).toMatchObject({ status: 'completed', final: { action: 'BUY', sizePct: 4, clamps: [] } });
    const capped = combineFinal(
      {
        ...analysts,
        researcher,
        trader: buy(30),
        risk: ok('risk', { verdict: 'APPROVE', adjusted_size_pct: null }),
      },
      limits,
    );
    expect(capped.final).toMatchObject({
      sizePct: 10,
      clamps: [{ rule: 'MAX_POSITION_SIZE_PCT', requested: 30, allowed: 10 }],
    });
    const enlarged = combineFinal(
      {
        ...analysts,
        researcher,
        trader: buy(5),
        risk: ok('risk', { verdict: 'ADJUST', adjusted_size_pct: 9 }),
      },
      limits,
    );
    expect(enlarged.final).toMatchObject({ sizePct: 5, clamps: [{ rule: 'RISK_MAY_ONLY_REDUCE' }] });
    const rejected = combineFinal(
      {
        ...analysts,
        researcher,
        trader: buy(5),
        risk: ok('risk', { verdict: 'REJECT', adjusted_size_pct: null, explanation: 'no' }),
      },
      limits,
    );
    expect(rejected.final).toMatchObject({ action: 'HOLD', sizePct: 0 });
  });

  it('no trade on researcher, trader or risk failure; budget refusal has no final decision', () => {
    expect(
      combineFinal({ ...analysts, researcher: failed('researcher', 'abstained') }, limits),
    ).toMatchObject({
      status: 'no_trade',
      error: { code: 'LLM_INVALID_OUTPUT' },
      final: { action: 'HOLD' },
    });
    expect(
      combineFinal({ ...analysts, researcher, trader: buy(5), risk: failed('risk', 'error') }, limits).status,
    ).toBe('no_trade');
    expect(
      combineFinal({ ...analysts, researcher, trader: failed('trader', 'budget_exceeded') }, limits),
    ).toMatchObject({
      status: 'budget_exceeded',
      final: null,
      error: { code: 'BUDGET_EXCEEDED' },
    });
    expect(
      combineFinal(
        { technical: failed('technical', 'unavailable'), researcher: failed('researcher', 'skipped') },
        limits,
      ),
    ).toMatchObject({ status: 'no_trade', error: { code: 'NO_ANALYSTS' } });
  });

  it('no analyst because the model provider failed them is a failed decision naming the provider failure, not a HOLD', () => {
    const unavailable = (agent: AgentResult['agent'], reason: string): AgentResult => ({
      ...failed(agent, 'unavailable'),
      reason,
    });
    const skipped = failed('researcher', 'skipped');
    const down = combineFinal(
      {
        technical: unavailable('technical', 'UPSTREAM_LLM: 500 The server had an error'),
        sentiment: unavailable('sentiment', 'UPSTREAM_LLM: 500 The server had an error'),
        // never called (no static data): does not make the outage anything else
        tokenomics: unavailable('tokenomics', 'no static data for DOGE'),
        researcher: skipped,
      },
      limits,
    );
    expect(down).toMatchObject({
      status: 'failed',
      final: null,
      error: {
        code: 'UPSTREAM_LLM',
        message: 'no analyst could answer: technical: 500 The server had an error',
      },
    });
    // the names Step Functions' Catch records map to the product codes
    for (const [name, code] of [
      ['LlmRateLimited', 'UPSTREAM_LLM_RATE_LIMITED'],
      ['LlmTimeout', 'LLM_TIMEOUT'],
      ['LlmUpstreamError', 'UPSTREAM_LLM'],
    ] as const)
      expect(
        errorOf(
          combineFinal({ technical: unavailable('technical', `${name}: x`), researcher: skipped }, limits),
        ),
      ).toMatchObject({ code });
    // a model that answered (even unusably) means the provider was up
    expect(
      errorOf(
        combineFinal(
          {
            technical: unavailable('technical', 'UPSTREAM_LLM: down'),
            sentiment: failed('sentiment', 'abstained'),
            researcher: skipped,
          },
          limits,
        ),
      ),
    ).toMatchObject({ code: 'NO_ANALYSTS' });
    expect(
      errorOf(
        combineFinal(
          { technical: unavailable('technical', 'INTERNAL: db lost'), researcher: skipped },
          limits,
        ),
      ),
    ).toMatchObject({ code: 'NO_ANALYSTS' });
  });

  it('gated is a completed HOLD marked gated', () => {
    const out = combineFinal(
      { ...analysts, researcher, trader: failed('trader', 'gated'), risk: failed('risk', 'gated') },
      limits,
    );
    expect(out).toMatchObject({ status: 'completed', final: { action: 'HOLD', gated: true } });
  });
});

describe('withStops', () => {
  const buy: FinalDecision = { action: 'BUY', sizePct: 5, gated: false, reason: 'r', clamps: [] };
  const defaults = { defaultStopLossPct: 4, defaultTakeProfitPct: 12 };
  it("takes the trader's stops, else the strategy version's defaults, each on its own", () => {
    expect(withStops(buy, { stop_loss_pct: 3, take_profit_pct: 9 }, defaults).stops).toEqual({
      stopLossPct: 3,
      takeProfitPct: 9,
      source: { stopLoss: 'trader', takeProfit: 'trader' },
    });
    expect(withStops(buy, { stop_loss_pct: null, take_profit_pct: 9 }, defaults).stops).toEqual({
      stopLossPct: 4,
      takeProfitPct: 9,
      source: { stopLoss: 'strategy', takeProfit: 'trader' },
    });
    expect(withStops(buy, null, defaults).stops).toMatchObject({ stopLossPct: 4, takeProfitPct: 12 });
  });
  it('leaves SELL and HOLD without stops', () => {
    expect(withStops({ ...buy, action: 'SELL' }, null, defaults).stops).toBeUndefined();
    expect(withStops({ ...buy, action: 'HOLD' }, null, defaults).stops).toBeUndefined();
  });
});
