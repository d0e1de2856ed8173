import { describe, expect, it } from 'vitest';
import {
  fmtClampAmount,
  fmtCost,
  fmtFraction,
  fmtInt,
  fmtMs,
  fmtPct,
  fmtPrice,
  fmtTime,
  fmtTokens,
  fmtUsd,
  fmtUsdSigned,
  humanize,
  NO_VALUE,
  tone,
} from './format';

describe('format', () => {
  it('shows null, undefined and NaN as an em dash, never as 0', () => {
    for (const f of [
      fmtUsd,
      fmtUsdSigned,
      fmtCost,
      fmtPrice,
      fmtPct,
      fmtFraction,
      fmtInt,
      fmtTokens,
      fmtMs,
    ]) {
      expect(f(null)).toBe(NO_VALUE);
      expect(f(undefined)).toBe(NO_VALUE);
      expect(f(Number.NaN)).toBe(NO_VALUE);
    }
    expect(fmtTime(null)).toBe(NO_VALUE);
    expect(fmtTime('not a date')).toBe(NO_VALUE);
  });

  it('formats money with separators and explicit signs on PnL', () => {
    expect(fmtUsd(12345.678)).toBe('$12,345.68');
    expect(fmtUsdSigned(12.3)).toBe('+$12.30');
    expect(fmtUsdSigned(-4)).toBe('-$4.00');
    expect(fmtUsdSigned(0)).toBe('$0.00');
  });

  it('keeps sub-cent LLM costs visible', () => {
    expect(fmtCost(0.0012)).toBe('$0.0012');
    expect(fmtCost(0)).toBe('$0.00');
    expect(fmtCost(3.456)).toBe('$3.46');
  });

  it('gives small prices more decimals than large ones', () => {
    expect(fmtPrice(87123.456)).toBe('87,123.46');
    expect(fmtPrice(1.23456)).toBe('1.235');
    expect(fmtPrice(0.000012345)).toBe('0.00001235');
  });

  it('distinguishes percent values from fractions', () => {
    expect(fmtPct(1.234)).toBe('+1.23%');
    expect(fmtPct(-0.5)).toBe('-0.50%');
    expect(fmtPct(-0.001)).toBe('0.00%');
    expect(fmtFraction(0.123)).toBe('+12.30%');
    expect(fmtFraction(0.5, { signed: false })).toBe('50.00%');
  });

  it('compacts token counts and latencies', () => {
    expect(fmtTokens(980)).toBe('980');
    expect(fmtTokens(1234)).toBe('1.23k');
    expect(fmtTokens(12345)).toBe('12.3k');
    expect(fmtTokens(1_250_000)).toBe('1.25M');
    expect(fmtInt(1234567)).toBe('1,234,567');
    expect(fmtMs(850)).toBe('850 ms');
    expect(fmtMs(2350)).toBe('2.35 s');
    expect(fmtMs(65_000)).toBe('1 min 5 s');
  });

  it('shows times in UTC whatever the browser zone', () => {
    expect(fmtTime('2024-01-31T23:30:00+02:00')).toBe('2024-01-31 21:30 UTC');
  });

  it('tones signed numbers and humanizes field names', () => {
    expect(tone(1)).toBe('up');
    expect(tone(-1)).toBe('down');
    expect(tone(0)).toBe('flat');
    expect(tone(null)).toBe('flat');
    expect(humanize('signal_strength')).toBe('Signal strength');
    expect(humanize('avgEntryPrice')).toBe('Avg entry price');
  });

  it('formats clamp amounts by their unit, not by guessing from the rule', () => {
    expect(fmtClampAmount(30, 'pct_of_equity')).toBe('30%');
    expect(fmtClampAmount(1234.5, 'USDT')).toBe('1,234.50 USDT');
    expect(fmtClampAmount(0.01234, 'BTC')).toBe('0.01234 BTC');
    expect(fmtClampAmount(7, undefined)).toBe('7');
    expect(fmtClampAmount(null, 'USDT')).toBe(NO_VALUE);
  });
});
