/**
 * The one chart component, over lightweight-charts (TradingView's canvas library, ~45 KB gzipped, which
 * is why this module is only ever loaded lazily through components/charts.tsx). It draws candles,
 * lines and areas against UTC time, with buy/sell markers on the first series.
 *
 * Times come in as epoch milliseconds and go to the library as UTC seconds. Markers are snapped to the
 * bar that contains them, because the library only draws markers at a bar's own time.
 */
import {
  AreaSeries,
  BaselineSeries,
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  createChart,
  createSeriesMarkers,
  type IChartApi,
  type ISeriesApi,
  LineSeries,
  type SeriesMarker,
  type SeriesType,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import type { ChartMarker, ChartSeries } from '../components/chart-types';
import { axisPriceFormatter, seriesPriceFormat } from './price-format';

export const COLORS = {
  up: '#26a69a',
  down: '#ef5350',
  text: '#9aa7b8',
  grid: '#1c2633',
  border: '#2a3646',
};

function toSeconds(ms: number): UTCTimestamp {
  return Math.floor(ms / 1000) as UTCTimestamp;
}

/** Strictly ascending, one point per time: what the library requires. */
function uniqueAscending<T extends { time: number }>(points: T[]): T[] {
  const sorted = [...points].sort((a, b) => a.time - b.time);
  return sorted.filter((p, i) => i === 0 || toSeconds(p.time) !== toSeconds(sorted[i - 1]!.time));
}

/** The open time of the bar containing `t` (bars sorted ascending), or null when `t` is outside them. */
export function snapToBar(barTimes: number[], t: number): number | null {
  if (barTimes.length === 0 || t < barTimes[0]!) return null;
  let lo = 0;
  let hi = barTimes.length - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (barTimes[mid]! <= t) lo = mid;
    else hi = mid - 1;
  }
  return barTimes[lo]!;
}

export default function TimeChart({
  series,
  markers = [],
  height = 320,
  ariaLabel,
}: {
  series: ChartSeries[];
  markers?: ChartMarker[];
  height?: number;
  ariaLabel: string;
}) {
  const container = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const priceFormatter = axisPriceFormatter(series);
    const chart: IChartApi = createChart(el, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: 'transparent' },
        textColor: COLORS.text,
        fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
        fontSize: 11,
        attributionLogo: false,
      },
      grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
      rightPriceScale: { borderColor: COLORS.border },
      timeScale: { borderColor: COLORS.border, timeVisible: true, secondsVisible: false },
      crosshair: { mode: CrosshairMode.Normal },
      localization: {
        locale: 'en-US',
        // Thousands separators on price axes (2 decimals for money); percent series keep their own format.
        ...(priceFormatter ? { priceFormatter } : {}),
      },
    });

    let first: ISeriesApi<SeriesType> | null = null;
    let firstTimes: number[] = [];
    for (const s of series) {
      let api: ISeriesApi<SeriesType>;
      if (s.kind === 'candles') {
        const data = uniqueAscending(s.data);
        api = chart.addSeries(CandlestickSeries, {
          upColor: COLORS.up,
          downColor: COLORS.down,
          wickUpColor: COLORS.up,
          wickDownColor: COLORS.down,
          borderVisible: false,
        });
        api.setData(
          data.map((c) => ({
            time: toSeconds(c.time),
            open: c.open,
            high: c.high,
            low: c.low,
            close: c.close,
          })),
        );
        if (!first) firstTimes = data.map((c) => c.time);
      } else {
        const data = uniqueAscending(s.data);
        const priceFormat = seriesPriceFormat(s.format);
        const common = {
          title: s.title,
          lineWidth: (s.lineWidth ?? 2) as 1 | 2 | 3 | 4,
          priceLineVisible: false,
          lastValueVisible: true,
          ...(priceFormat ? { priceFormat } : {}),
        };
        if (s.kind === 'below-zero') {
          // Filled between the line and zero: drawdowns hang down from the peak.
          api = chart.addSeries(BaselineSeries, {
            ...common,
            baseValue: { type: 'price', price: 0 },
            topLineColor: s.color,
            topFillColor1: 'transparent',
            topFillColor2: 'transparent',
            bottomLineColor: s.color,
            bottomFillColor1: `${s.color}22`,
            bottomFillColor2: `${s.color}66`,
          });
        } else if (s.kind === 'area') {
          api = chart.addSeries(AreaSeries, {
            ...common,
            lineColor: s.color,
            topColor: `${s.color}55`,
            bottomColor: `${s.color}08`,
          });
        } else {
          api = chart.addSeries(LineSeries, { ...common, color: s.color });
        }
        api.setData(data.map((p) => ({ time: toSeconds(p.time), value: p.value })));
        if (!first) firstTimes = data.map((p) => p.time);
      }
      first ??= api;
    }

    if (first && markers.length > 0) {
      const snapped: SeriesMarker<Time>[] = [];
      for (const m of [...markers].sort((a, b) => a.time - b.time)) {
        const bar = snapToBar(firstTimes, m.time);
        if (bar === null) continue;
        const buy = m.side === 'BUY';
        snapped.push({
          time: toSeconds(bar),
          position: m.side === 'HOLD' ? 'aboveBar' : buy ? 'belowBar' : 'aboveBar',
          shape: m.side === 'HOLD' ? 'circle' : buy ? 'arrowUp' : 'arrowDown',
          color: m.side === 'HOLD' ? '#8fa3bf' : buy ? COLORS.up : COLORS.down,
          text: m.text ?? m.side,
        });
      }
      createSeriesMarkers(first, snapped);
    }
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [series, markers]);

  return <div ref={container} className="chart" style={{ height }} role="img" aria-label={ariaLabel} />;
}
