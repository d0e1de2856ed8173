/**
 * One backtest: progress while it runs (polled), then its metrics against buy-and-hold, the equity and
 * drawdown curves, the trades on the price chart, the trade list and every decision, each opening its
 * agents' reasoning. The assumptions the run made are printed with the result.
 */
import { useMemo } from 'react';
import { Link, useLocation, useParams } from 'react-router-dom';
import type { BacktestDto, CostEstimate } from '../../../shared/api/contract';
import { isBacktestSettled } from '../api/client';
import { useApiClient } from '../api/context';
import { useApi } from '../api/use-api';
import { ActionButton } from '../components/ActionButton';
import type { ChartMarker, ChartSeries } from '../components/chart-types';
import { TimeChart } from '../components/charts';
import { OutcomesPanel } from '../components/Outcomes';
import { TradesTable } from '../components/TradesTable';
import { ActionTag, Async, Badge, DataTable, Empty, Panel, Stat, StatusBadge } from '../components/ui';
import { fmtCost, fmtDate, fmtFraction, fmtInt, fmtPct, fmtRatio, fmtTime, fmtUsd, tone } from '../format';
import { chartRangeFor, drawdownSeries } from '../series';
import { EstimateNote } from './BacktestsView';

const POLL_MS = 1000;
const SAMPLE_TEXT: Record<string, string> = {
  in_sample: 'in-sample: the models may have seen this period in training',
  out_of_sample: "out-of-sample: after the models' knowledge cutoff",
  mixed: "mixed: the range spans the models' knowledge cutoff",
  not_applicable: 'not applicable: offline rules provider, no model memory',
};

type Result = NonNullable<BacktestDto['result']>;

export default function BacktestView() {
  const { id = '' } = useParams();
  const location = useLocation();
  const acceptedEstimate = (location.state as { estimate?: CostEstimate } | null)?.estimate;
  const backtest = useApi(`backtest:${id}`, (api, signal) => api.backtest(id, signal), {
    pollMs: (b) => (isBacktestSettled(b) ? null : POLL_MS),
  });
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Backtest</h1>
        <Link to="/backtests" className="small">
          ← All backtests
        </Link>
      </div>
      <Async value={backtest} label="Loading backtest…">
        {(b) => (
          <BacktestBody b={b} estimate={b.estimate ?? acceptedEstimate ?? null} onResumed={backtest.reload} />
        )}
      </Async>
    </div>
  );
}

function BacktestBody({
  b,
  estimate,
  onResumed,
}: {
  b: BacktestDto;
  estimate: CostEstimate | null;
  onResumed: () => void;
}) {
  const settled = isBacktestSettled(b);
  const resumable = settled && (b.status === 'failed' || Boolean(b.result?.degraded));
  return (
    <>
      <div className="subhead">
        <span className="mono strong">{b.symbol}</span>
        <span>{b.timeframe}</span>
        <span>
          {fmtDate(b.startDate)} → {fmtDate(b.endDate)}
        </span>
        <span>
          up to {b.maxDecisions} decisions, every {b.decisionInterval} candle
          {b.decisionInterval > 1 ? 's' : ''}
        </span>
        <StatusBadge status={b.status} />
        {b.provider === 'offline' && <Badge kind="warn">Offline provider (rules, no model)</Badge>}
        <span className="mono muted small">{b.id}</span>
      </div>
      {!settled && <Progress b={b} />}
      {estimate && <EstimateNote estimate={estimate} />}
      {b.error && (
        <div className="notice error" role="alert">
          <div className="notice-title">The backtest failed</div>
          <div>{b.error.message}</div>
          <div className="mono small muted">{b.error.code}</div>
        </div>
      )}
      {resumable && <ResumeButton id={b.id} onResumed={onResumed} />}
      {b.result && <DecisionClasses r={b.result} />}
      {b.result && <Results b={b} r={b.result} />}
      {settled && !b.result && !b.error && <Empty>The backtest finished without a result.</Empty>}
    </>
  );
}

/** Rerun only the failed decisions (the ones already made are kept, at no cost), then simulate again. */
function ResumeButton({ id, onResumed }: { id: string; onResumed: () => void }) {
  const api = useApiClient();
  return (
    <ActionButton
      label="Resume: rerun the failed decisions"
      busyLabel="Resuming…"
      testId="backtest-resume"
      run={() => api.resumeBacktest(id)}
      onDone={onResumed}
    />
  );
}

/** The decision classes, and the degraded banner when any decision failed (never shown as a HOLD). */
function DecisionClasses({ r }: { r: Result }) {
  const c = r.decisionCounts;
  return (
    <>
      {r.degraded && (
        <div className="notice warn" role="status" data-testid="backtest-degraded">
          <div className="notice-title">
            Degraded: {fmtInt(c.failed)} of {fmtInt(c.decided + c.abstained + c.failed)} decisions failed
          </div>
          {r.firstError && (
            <div>
              First error: <span className="mono">{r.firstError.code}</span> {r.firstError.message}
            </div>
          )}
          <div className="small">
            {r.comparable
              ? 'The metrics hold over the decisions that were made; failed decisions made no choice.'
              : 'Too many decisions failed: this partial result is not the firm’s performance and is not compared with buy-and-hold. Resume the backtest once the provider recovers.'}
          </div>
        </div>
      )}
      <div className="muted small" data-testid="backtest-classes">
        Decisions: {fmtInt(c.decided)} decided · {fmtInt(c.abstained)} abstained · {fmtInt(c.failed)} failed
      </div>
    </>
  );
}

function Progress({ b }: { b: BacktestDto }) {
  const { done, total } = b.progress;
  const pct = total > 0 ? Math.round((done / total) * 100) : 0;
  return (
    <Panel title="Running">
      <div
        className="progress"
        role="progressbar"
        aria-label="Decisions done"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={done}
        data-testid="backtest-progress"
      >
        <div
          className={`progress-bar ${total === 0 ? 'indeterminate' : ''}`}
          style={{ width: total > 0 ? `${pct}%` : undefined }}
        />
      </div>
      <div className="muted small">
        {total > 0
          ? `${fmtInt(done)} of ${fmtInt(total)} decisions done (${pct}%)`
          : `Planning (${b.status})…`}{' '}
        · this page updates by itself.
      </div>
    </Panel>
  );
}

function Results({ b, r }: { b: BacktestDto; r: Result }) {
  const m = r.metrics;
  const beat =
    r.comparable && m.totalReturn != null && r.buyAndHold.totalReturn != null
      ? m.totalReturn - r.buyAndHold.totalReturn
      : null;
  return (
    <>
      <div className="stats" data-testid="backtest-metrics">
        <Stat
          label="Total return"
          value={fmtFraction(m.totalReturn)}
          tone={tone(m.totalReturn)}
          testId="metric-return"
          sub={`final equity ${fmtUsd(m.finalEquity)}`}
        />
        {r.comparable && (
          <Stat
            label="Buy and hold"
            value={fmtFraction(r.buyAndHold.totalReturn)}
            tone={tone(r.buyAndHold.totalReturn)}
            sub={
              beat == null
                ? 'same span, same fees'
                : `strategy ${beat >= 0 ? 'beat' : 'trailed'} it by ${fmtFraction(Math.abs(beat), { signed: false })}`
            }
          />
        )}
        <Stat
          label="Max drawdown"
          value={fmtFraction(m.maxDrawdown == null ? null : -Math.abs(m.maxDrawdown))}
          tone={m.maxDrawdown ? 'down' : 'flat'}
          sub={
            m.maxDrawdownDurationDays == null ? undefined : `${fmtRatio(m.maxDrawdownDurationDays, 1)} days`
          }
        />
        <Stat
          label="Sharpe (daily, ann.)"
          value={fmtRatio(m.sharpeDaily)}
          sub={`per bar ann. ${fmtRatio(m.sharpePerBar)}`}
        />
        <Stat
          label="Win rate"
          value={fmtFraction(m.winRate, { signed: false })}
          sub={`${fmtInt(m.roundTrips)} round trips`}
        />
        <Stat label="Trades" value={fmtInt(m.trades)} sub={`profit factor ${fmtRatio(m.profitFactor)}`} />
        <Stat label="Fees paid" value={fmtUsd(m.feesPaid)} />
        <Stat
          label="LLM spend"
          value={fmtCost(r.llmSpend.costUsd)}
          sub={`${fmtInt(r.llmSpend.calls)} calls, ${fmtInt(r.llmSpend.cacheHits)} cached${r.llmSpend.estimateUsd == null ? '' : ` · est. ${fmtCost(r.llmSpend.estimateUsd)}`}`}
        />
      </div>
      <MoreMetrics r={r} />
      <Curves r={r} />
      <PriceWithTrades b={b} r={r} />
      <Panel title={`Trades (${r.trades.length})`}>
        {r.trades.length === 0 ? (
          <Empty>No trades: every decision was HOLD, gated or rejected.</Empty>
        ) : (
          <TradesTable trades={r.trades} testId="backtest-trades" />
        )}
      </Panel>
      <OutcomesPanel runId={b.id} />
      <Decisions r={r} />
      <Panel title="Assumptions">
        <div className="small">
          Sample: <strong>{SAMPLE_TEXT[r.sample] ?? r.sample}</strong>
        </div>
        <ul className="small assumptions">
          {r.assumptions.map((a) => (
            <li key={a}>{a}</li>
          ))}
        </ul>
        {r.gaps.length > 0 && (
          <div className="notice warn small">
            {r.gaps.length} data gap(s) in the range; e.g. {r.gaps[0]!.missingBars} bar(s) missing after{' '}
            {fmtTime(r.gaps[0]!.after)}.
          </div>
        )}
      </Panel>
    </>
  );
}

function MoreMetrics({ r }: { r: Result }) {
  const m = r.metrics;
  const rows: [string, string][] = [
    ['CAGR', m.cagr == null ? '— (span under 30 days)' : fmtFraction(m.cagr)],
    ['Sortino (ann.)', fmtRatio(m.sortino)],
    ['Calmar', fmtRatio(m.calmar)],
    ['Average win / loss', `${fmtUsd(m.avgWin)} / ${fmtUsd(m.avgLoss)}`],
    ['Best / worst trade', `${fmtUsd(m.bestTrade)} / ${fmtUsd(m.worstTrade)}`],
    ['Exposure', fmtPct(m.exposurePct, { signed: false })],
    ['Turnover', fmtRatio(m.turnover)],
    ['Drawdown peak → trough', `${fmtTime(m.maxDrawdownPeak)} → ${fmtTime(m.maxDrawdownTrough)}`],
    ['Recovered', m.maxDrawdownRecovery ? fmtTime(m.maxDrawdownRecovery) : 'not recovered'],
    ['Buy-and-hold final equity', fmtUsd(r.buyAndHold.finalEquity)],
    ['LLM tokens', `${fmtInt(r.llmSpend.tokensIn)} in / ${fmtInt(r.llmSpend.tokensOut)} out`],
  ];
  return (
    <details className="panel more">
      <summary>More metrics</summary>
      <dl className="kv wide">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd className="num">{v}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

function Curves({ r }: { r: Result }) {
  const { equity, bh, drawdown } = useMemo(() => {
    const equity = r.equityCurve.map((p) => ({ time: Date.parse(p.timestamp), value: p.equity }));
    const bh = r.buyAndHoldCurve.map((p) => ({ time: Date.parse(p.timestamp), value: p.equity }));
    return { equity, bh, drawdown: drawdownSeries(equity) };
  }, [r]);
  const equitySeries = useMemo<ChartSeries[]>(
    () => [
      { kind: 'line', data: equity, color: '#34d399', title: 'Strategy', format: 'usd' },
      ...(bh.length > 0
        ? [
            {
              kind: 'line' as const,
              data: bh,
              color: '#8fa3bf',
              title: 'Buy & hold',
              lineWidth: 1,
              format: 'usd' as const,
            },
          ]
        : []),
    ],
    [equity, bh],
  );
  const ddSeries = useMemo<ChartSeries[]>(
    () => [
      {
        kind: 'below-zero',
        data: drawdown,
        color: '#ef5350',
        title: 'Drawdown',
        format: 'percent',
      },
    ],
    [drawdown],
  );
  const markers = useMemo<ChartMarker[]>(() => tradeMarkers(r), [r]);
  if (equity.length < 2) return <Empty>The equity curve has fewer than two points.</Empty>;
  return (
    <div className="split">
      <Panel
        title="Equity"
        actions={
          <span className="legend small">
            <span style={{ color: '#34d399' }}>— strategy</span>{' '}
            {bh.length > 0 ? (
              <span style={{ color: '#8fa3bf' }}>— buy &amp; hold</span>
            ) : (
              <span className="muted">buy-and-hold curve not in the result</span>
            )}
          </span>
        }
      >
        <TimeChart
          series={equitySeries}
          markers={markers}
          height={260}
          ariaLabel="Equity curve of the strategy and of buy and hold"
        />
      </Panel>
      <Panel title="Drawdown">
        <TimeChart series={ddSeries} height={260} ariaLabel="Drawdown of the strategy in percent" />
      </Panel>
    </div>
  );
}

function tradeMarkers(r: Result): ChartMarker[] {
  return r.trades
    .filter((t) => t.status === 'filled')
    .map((t) => ({ time: Date.parse(t.executedAt), side: t.side, text: t.side === 'BUY' ? 'B' : 'S' }));
}

function PriceWithTrades({ b, r }: { b: BacktestDto; r: Result }) {
  // The backtest's own period, with its own timeframe when it fits in one request, else a larger one.
  const chart = chartRangeFor(b.timeframe, Date.parse(b.startDate), Date.parse(b.endDate));
  const start = new Date(chart.startMs).toISOString();
  const range = useApi(`candles:${b.symbol}:${chart.timeframe}:${start}:${b.endDate}`, (api, signal) =>
    api.candles(b.symbol, { timeframe: chart.timeframe, start, end: b.endDate }, signal),
  );
  const series = useMemo<ChartSeries[]>(
    () => [{ kind: 'candles', data: range.data?.candles ?? [] }],
    [range.data],
  );
  const markers = useMemo(() => tradeMarkers(r), [r]);
  return (
    <Panel
      title="Trades on the price chart"
      actions={
        chart.timeframe !== b.timeframe || chart.clipped ? (
          <span className="muted small">
            {chart.timeframe} candles
            {chart.clipped
              ? `, from ${fmtDate(start)}: the period has more bars than one chart request serves`
              : `: the period has more ${b.timeframe} bars than one chart request serves`}
          </span>
        ) : undefined
      }
    >
      <Async value={range} label="Loading candles…">
        {(c) =>
          c.candles.length > 1 ? (
            <TimeChart
              series={series}
              markers={markers}
              height={320}
              ariaLabel={`${b.symbol} price over the backtest's period with its trades`}
            />
          ) : (
            <Empty>
              No candles to draw for {fmtDate(b.startDate)} → {fmtDate(b.endDate)}. The trades are marked on
              the equity curve above instead.
            </Empty>
          )
        }
      </Async>
    </Panel>
  );
}

function Decisions({ r }: { r: Result }) {
  return (
    <Panel title={`Decisions (${r.decisions.length})`}>
      {r.decisions.length === 0 ? (
        <Empty>No decisions were recorded.</Empty>
      ) : (
        <DataTable
          testId="backtest-decisions"
          compact
          tall
          head={['Decision time', 'Status', 'Action', { num: 'Size' }, 'Reasoning']}
        >
          {r.decisions.map((d) => (
            <tr key={d.id}>
              <td className="time">{fmtTime(d.decisionTime)}</td>
              <td>
                <StatusBadge status={d.status} />
                {d.class === 'failed' && d.error && <span className="mono small muted"> {d.error.code}</span>}
              </td>
              <td>
                {d.class === 'failed' ? 'failed' : <ActionTag action={d.action} />}
                {d.notFilled && (
                  <span className="small muted" title={d.notFilled}>
                    {' '}
                    not filled: after end date
                  </span>
                )}
              </td>
              <td className="num">{d.sizePct != null && d.action !== 'HOLD' ? `${d.sizePct}%` : '—'}</td>
              <td>
                <Link to={`/analyses/${d.id}`}>open agents →</Link>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </Panel>
  );
}
