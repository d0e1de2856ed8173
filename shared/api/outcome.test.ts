import { describe, expect, it } from 'vitest';
import type { AnalysisDto } from './contract';
import { analysisOutcomeError } from './outcome';

const ID = '6f1c9d55-8c53-4c1b-9a43-3f2a8e0d7b11';
const POLL = `/analyses/${ID}`;
const analysis = (status: AnalysisDto['status'], error: AnalysisDto['error']) =>
  ({ id: ID, status, error }) as AnalysisDto;
const outcome = (status: AnalysisDto['status'], code?: string, message = 'boom') => {
  const e = analysisOutcomeError(analysis(status, code ? { code, message } : null), POLL);
  return e && { code: e.code, status: e.status, message: e.message, details: e.details };
};

describe('analysisOutcomeError', () => {
  it('an upstream failure is 502, or 503 when rate-limited, naming Binance or the model provider', () => {
    expect(outcome('failed', 'UPSTREAM_BINANCE')).toEqual({
      code: 'UPSTREAM_BINANCE',
      status: 502,
      message: 'Binance market data is unavailable: boom',
      details: { analysisId: ID, poll: POLL },
    });
    expect(outcome('failed', 'UPSTREAM_BINANCE_RATE_LIMITED')).toMatchObject({
      code: 'UPSTREAM_BINANCE_RATE_LIMITED',
      status: 503,
    });
    expect(outcome('no_trade', 'UPSTREAM_LLM')).toMatchObject({
      code: 'UPSTREAM_LLM',
      status: 502,
      message: 'The model provider failed: boom',
    });
    expect(outcome('no_trade', 'UPSTREAM_LLM_RATE_LIMITED')).toMatchObject({ status: 503 });
    expect(outcome('no_trade', 'LLM_TIMEOUT')).toMatchObject({ code: 'LLM_TIMEOUT', status: 502 });
    // a name recorded before the product codes is read as its code
    expect(outcome('no_trade', 'LlmRateLimited')).toMatchObject({
      code: 'UPSTREAM_LLM_RATE_LIMITED',
      status: 503,
    });
  });

  it('unusable data is 422, a budget refusal 429, another failure 500; other outcomes are results', () => {
    expect(outcome('failed', 'INSUFFICIENT_DATA')).toMatchObject({
      status: 422,
      message: 'Not enough market data for this analysis: boom',
    });
    expect(outcome('failed', 'DATA_GAP')).toMatchObject({ code: 'DATA_GAP', status: 422 });
    expect(outcome('budget_exceeded', 'BUDGET_EXCEEDED')).toMatchObject({ status: 429 });
    expect(outcome('failed', 'Error')).toMatchObject({ code: 'WORKFLOW_FAILED', status: 500 });
    expect(outcome('no_trade', 'LLM_INVALID_OUTPUT')).toBeUndefined();
    expect(outcome('no_trade', 'NO_ANALYSTS')).toBeUndefined();
    expect(outcome('completed')).toBeUndefined();
  });
});
