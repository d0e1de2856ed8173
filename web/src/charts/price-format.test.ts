import { describe, expect, it } from 'vitest';
import type { ChartSeries } from '../components/chart-types';
import { axisPriceFormatter, formatAxisPrice, seriesPriceFormat } from './price-format';

const line = (format?: 'price' | 'percent' | 'usd'): ChartSeries => ({
  kind: 'line',
  color: '#fff',
  data: [],
  ...(format ? { format } : {}),
});

describe('chart price formats', () => {
  it('an equity series (usd) is labelled with 2 decimals, so a small range does not repeat "9,999"', () => {
    const ticks = [9_999.1, 9_999.2, 9_999.3, 9_999.4];
    const equityAxis = axisPriceFormatter([line('usd')])!;
    expect(ticks.map(equityAxis)).toEqual(['9,999.10', '9,999.20', '9,999.30', '9,999.40']);
    expect(new Set(ticks.map(equityAxis)).size).toBe(ticks.length);
    expect(seriesPriceFormat('usd')).toEqual({ type: 'price', precision: 2, minMove: 0.01 });
    // what it was: whole numbers from 1,000 up, every tick the same label
    expect(new Set(ticks.map(formatAxisPrice))).toEqual(new Set(['9,999']));
  });

  it('prices keep the generic axis; a percent series brings its own', () => {
    expect(axisPriceFormatter([{ kind: 'candles', data: [] }])).toBe(formatAxisPrice);
    expect(axisPriceFormatter([line('price')])?.(87_648.22)).toBe('87,648');
    expect(axisPriceFormatter([line('percent')])).toBeUndefined();
    const percent = seriesPriceFormat('percent');
    expect(percent?.type).toBe('custom');
    expect(percent?.type === 'custom' && percent.formatter(-0.001)).toBe('0.00%');
    expect(seriesPriceFormat(undefined)).toBeUndefined();
  });
});
