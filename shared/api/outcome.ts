/**
 * What a finished analysis means for the caller who asked for it (POST /analyze, `cli analyze`): a
 * result (undefined here), or an error that says what went wrong and where.
 *
 * Decisions:
 * - An upstream failure is the upstream's error, whatever the decision's status: a snapshot that Binance
 *   could not serve ends `failed`; a model provider that failed every analyst, or the researcher or
 *   trader, ends `no_trade` (the error is recorded on the decision) but no agent weighed the market, so
 *   it is not a result either. 502, or 503 when the upstream rate-limited us (worth a retry later); the
 *   message names Binance or the model provider.
 * - Market data that exists but cannot support the analysis (INSUFFICIENT_DATA, DATA_GAP) is 422.
 * - A budget refusal is 429 BUDGET_EXCEEDED. Any other failed decision is 500 WORKFLOW_FAILED.
 * - A `no_trade` for any other reason (an agent abstained, the risk manager failed) IS a result: 200.
 * - `details` carries the analysis id and where to read it: the record stays readable (GET /analyses/{id}
 *   answers 200 with it).
 * - Codes recorded before the product codes existed (LlmRateLimited...) are read as their product code.
 */
import { llmProviderErrorCode } from '../llm/errors';
import { AppError, type ErrorCode } from '../util/errors';
import type { AnalysisDto } from './contract';

/** HTTP status for an upstream failure: rate limits are 503 (retry later), the rest 502. */
const UPSTREAM_STATUS = {
  UPSTREAM_BINANCE: 502,
  UPSTREAM_BINANCE_RATE_LIMITED: 503,
  UPSTREAM_LLM: 502,
  UPSTREAM_LLM_RATE_LIMITED: 503,
  UPSTREAM_LLM_UNAVAILABLE: 503,
  LLM_TIMEOUT: 502,
} as const satisfies Partial<Record<ErrorCode, number>>;

const DATA_MESSAGES = {
  INSUFFICIENT_DATA: 'Not enough market data for this analysis',
  DATA_GAP: 'The market data for this analysis has a gap',
} as const satisfies Partial<Record<ErrorCode, string>>;

const has = <T extends object>(o: T, k: string): k is Extract<keyof T, string> => Object.hasOwn(o, k);

/** The error a finished analysis answers with, or undefined when it is a result to return as is. */
export function analysisOutcomeError(a: AnalysisDto, poll: string): AppError | undefined {
  const details = { analysisId: a.id, poll };
  if (a.status === 'budget_exceeded')
    return new AppError(
      'BUDGET_EXCEEDED',
      'The daily LLM token budget is used up; the analysis was not run to the end',
      details,
    );
  if ((a.status !== 'failed' && a.status !== 'no_trade') || !a.error) return undefined;
  const { message } = a.error;
  const code = llmProviderErrorCode(a.error.code) ?? a.error.code;
  if (has(UPSTREAM_STATUS, code)) {
    const what = code.startsWith('UPSTREAM_BINANCE')
      ? 'Binance market data is unavailable'
      : 'The model provider failed';
    return new AppError(code, `${what}: ${message}`, details, { status: UPSTREAM_STATUS[code] });
  }
  if (a.status === 'no_trade') return undefined;
  if (has(DATA_MESSAGES, code)) return new AppError(code, `${DATA_MESSAGES[code]}: ${message}`, details);
  return new AppError('WORKFLOW_FAILED', `The analysis failed (${code}: ${message}); see ${poll}`, details);
}
