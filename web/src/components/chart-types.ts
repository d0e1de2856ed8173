/** Data shapes for charts; kept apart from the chart module so views can build them without loading it. */
export interface TimePoint {
  /** Epoch milliseconds. */
  time: number;
  value: number;
}

export type ChartSeries =
  | { kind: 'candles'; data: { time: number; open: number; high: number; low: number; close: number }[] }
  | {
      /** below-zero: filled between the line and 0 (drawdowns). */
      kind: 'line' | 'area' | 'below-zero';
      data: TimePoint[];
      color: string;
      title?: string;
      lineWidth?: number;
      /** usd: money with 2 decimals (equity curves); percent: a % axis; price: generic prices. */
      format?: 'price' | 'percent' | 'usd';
    };

export interface ChartMarker {
  time: number;
  side: 'BUY' | 'SELL' | 'HOLD';
  text?: string;
}
