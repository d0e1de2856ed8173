/**
 * How the chart formats prices, kept apart from TimeChart.tsx (which loads lightweight-charts) so it
 * can be tested without a canvas.
 *
 * Why a money format: equity moves by cents and dollars around a level of thousands, so the generic
 * axis format (whole numbers from 1,000 up, right for BTC prices) labelled every tick of a small range
 * "9,999". An equity series says `format: 'usd'`: 2 decimals on its own price format
 * (`{ type: 'price', precision: 2, minMove: 0.01 }`) and on the axis. The axis formatter is the chart's
 * (`localization.priceFormatter`), which overrides every series' format on the scale, so it must agree.
 */
import type { ChartSeries } from '../components/chart-types';

export type PriceFormatOption =
  | { type: 'price'; precision: number; minMove: number }
  | { type: 'custom'; minMove: number; formatter: (v: number) => string };

/** Money: cents matter on an equity curve. */
export const USD_PRICE_FORMAT = { type: 'price', precision: 2, minMove: 0.01 } as const;

/** Generic prices: thousands separators, fewer decimals the larger the number. */
export function formatAxisPrice(p: number): string {
  const abs = Math.abs(p);
  const decimals = abs >= 1000 ? 0 : abs >= 1 ? 2 : 6;
  return p.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** Money on the axis: thousands separators and always 2 decimals. */
export function formatAxisUsd(p: number): string {
  return p.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** Percent axis labels; -0.001 shows as 0.00%, not -0.00%. */
export function formatPercent(v: number): string {
  return `${(Math.abs(v) < 0.005 ? 0 : v).toFixed(2)}%`;
}

type SeriesFormat = Exclude<ChartSeries, { kind: 'candles' }>['format'];
const formatOf = (s: ChartSeries): SeriesFormat => (s.kind === 'candles' ? undefined : s.format);

/** The chart-wide axis formatter: none when a percent series brings its own, money for equity. */
export function axisPriceFormatter(series: readonly ChartSeries[]): ((p: number) => string) | undefined {
  const formats = series.map(formatOf);
  if (formats.includes('percent')) return undefined;
  return formats.includes('usd') ? formatAxisUsd : formatAxisPrice;
}

/** A line/area series' own price format, or undefined for the library's default. */
export function seriesPriceFormat(format: SeriesFormat): PriceFormatOption | undefined {
  if (format === 'percent') return { type: 'custom', minMove: 0.01, formatter: formatPercent };
  if (format === 'usd') return { ...USD_PRICE_FORMAT };
  return undefined;
}
