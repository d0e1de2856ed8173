import { describe, expect, it } from 'vitest';
import { type BacktestFormValues, fieldErrorsFromApi, validateBacktestForm } from './backtest-form';

const valid: BacktestFormValues = {
  symbol: 'BTCUSDT',
  start_date: '2025-01-01',
  end_date: '2025-03-01',
  timeframe: '4h',
  max_decisions: '20',
  decision_interval: '6',
};

describe('validateBacktestForm (the contract schema, client-side)', () => {
  it('turns valid inputs into the API request with numbers and defaults', () => {
    const r = validateBacktestForm(valid);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request).toMatchObject({
      symbol: 'BTCUSDT',
      start_date: '2025-01-01',
      end_date: '2025-03-01',
      timeframe: '4h',
      max_decisions: 20,
      decision_interval: 6,
      fill: 'next_open',
      blind: false,
    });
  });

  it('an empty decision interval is left out: the API spreads the decisions over the range', () => {
    const r = validateBacktestForm({ ...valid, decision_interval: '  ' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.request.decision_interval).toBeUndefined();
    expect(JSON.parse(JSON.stringify(r.request))).not.toHaveProperty('decision_interval');
  });

  it('names the field and the rule for each bad input', () => {
    const r = validateBacktestForm({ ...valid, max_decisions: '0', decision_interval: '1.5' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.max_decisions).toBe('max_decisions must be at least 1');
    expect(r.errors.decision_interval).toBe('decision_interval must be a whole number of candles');
    expect(r.errors.symbol).toBeUndefined();
  });

  it('checks the date range once every field is valid on its own (the schema refines after parsing)', () => {
    const r = validateBacktestForm({ ...valid, end_date: '2024-12-01' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual({ end_date: 'end_date must be after start_date' });
  });

  it('refuses empty, non-numeric and out-of-range numbers instead of defaulting them', () => {
    const empty = validateBacktestForm({ ...valid, max_decisions: '' });
    expect(empty.ok || empty.errors.max_decisions).toMatch(/max_decisions/);
    const text = validateBacktestForm({ ...valid, max_decisions: 'ten' });
    expect(text.ok || text.errors.max_decisions).toMatch(/whole number/);
    const big = validateBacktestForm({ ...valid, max_decisions: '5000' });
    expect(big.ok || big.errors.max_decisions).toBe('max_decisions must be at most 2000');
  });

  it('refuses malformed dates, future end dates and lower-case symbols', () => {
    const r = validateBacktestForm({
      ...valid,
      symbol: 'btcusdt',
      start_date: '01/02/2025',
      end_date: '2999-01-01',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.symbol).toMatch(/upper-case/);
    expect(r.errors.start_date).toMatch(/must be a date like/);
  });
});

describe('fieldErrorsFromApi', () => {
  it('maps the API validation details back onto the form fields', () => {
    expect(
      fieldErrorsFromApi({
        field: 'end_date',
        issues: [
          { field: 'end_date', message: 'end_date: no candles after 2025-12-31' },
          { field: 'fill', message: 'fill: invalid' },
          { field: 'end_date', message: 'second message ignored' },
        ],
      }),
    ).toEqual({ end_date: 'end_date: no candles after 2025-12-31', form: 'fill: invalid' });
    expect(fieldErrorsFromApi(undefined)).toEqual({});
    expect(fieldErrorsFromApi({ issues: 'nope' })).toEqual({});
  });
});
