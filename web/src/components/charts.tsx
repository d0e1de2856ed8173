/**
 * Lazy door to the chart module: lightweight-charts is the heaviest dependency, so it is fetched only
 * when a view first shows a chart, and the initial bundle stays small.
 */
import { type ComponentProps, lazy, Suspense } from 'react';
import { Spinner } from './ui';

const TimeChartLazy = lazy(() => import('../charts/TimeChart'));

export function TimeChart(props: ComponentProps<typeof TimeChartLazy>) {
  return (
    <Suspense
      fallback={
        <div className="chart chart-loading" style={{ height: props.height ?? 320 }}>
          <Spinner label="Loading chart…" />
        </div>
      }
    >
      <TimeChartLazy {...props} />
    </Suspense>
  );
}
