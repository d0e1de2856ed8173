/**
 * Dashboard: pick a symbol, see its latest price, 24h change, key indicators and recent candles, and
 * run the six-agent analysis on it. The run opens the analysis when it settles.
 */
import { useEffect, useMemo, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router-dom';
import type { LatestResponse, SentimentResponse } from '../../../shared/api/contract';
import { runAnalysisToEnd } from '../api/client';
import { useApiClient } from '../api/context';
import { type Loadable, useApi } from '../api/use-api';
import type { ChartSeries } from '../components/chart-types';
import { TimeChart } from '../components/charts';
import { PipelineStepper } from '../components/Pipeline';
import { Async, ErrorNotice, Panel, Stat } from '../components/ui';
import { fmtFraction, fmtPct, fmtPrice, fmtRatio, fmtTime, NO_VALUE, tone } from '../format';
import { ema } from '../series';

const CANDLE_LIMIT = 200;
const ANALYSIS_POLL_MS = 1500;
const DEFAULT_TIMEFRAME = '1h';
/** Bars of the chosen timeframe the sentiment route looks back over (the summary needs only the last). */
const SENTIMENT_LIMIT = 30;

export default function Dashboard() {
  const symbols = useApi('symbols', (api, signal) => api.symbols(signal));
  const [params, setParams] = useSearchParams();
  const list = symbols.data?.symbols ?? [];
  const symbol = params.get('symbol') ?? list[0]?.symbol ?? '';
  const timeframe = params.get('tf') ?? DEFAULT_TIMEFRAME;
  const selected = list.find((s) => s.symbol === symbol);

  const choose = (next: { symbol?: string; tf?: string }) =>
    setParams({ symbol: next.symbol ?? symbol, tf: next.tf ?? timeframe }, { replace: true });

  return (
    <div className="stack">
      <div className="page-head">
        <h1>Dashboard</h1>
        <div className="row">
          <label className="field inline">
            <span>Symbol</span>
            <select
              value={symbol}
              onChange={(e) => choose({ symbol: e.target.value })}
              disabled={list.length === 0}
              aria-label="Symbol"
            >
              {list.map((s) => (
                <option key={s.symbol} value={s.symbol}>
                  {s.symbol}
                </option>
              ))}
            </select>
          </label>
          <label className="field inline">
            <span>Timeframe</span>
            <select value={timeframe} onChange={(e) => choose({ tf: e.target.value })} aria-label="Timeframe">
              {(symbols.data?.timeframes ?? [DEFAULT_TIMEFRAME]).map((tf) => (
                <option key={tf} value={tf}>
                  {tf}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>
      <Async value={symbols} label="Loading symbols…">
        {() =>
          symbol ? (
            <>
              {selected?.dataNote && <div className="notice info">{selected.dataNote}</div>}
              <RunAnalysis symbol={symbol} timeframe={timeframe} />
              <Market symbol={symbol} timeframe={timeframe} />
            </>
          ) : (
            <div className="notice info">No symbols are configured (SYMBOLS in the server settings).</div>
          )
        }
      </Async>
    </div>
  );
}

function Market({ symbol, timeframe }: { symbol: string; timeframe: string }) {
  const latest = useApi(`latest:${symbol}:${timeframe}`, (api, signal) =>
    api.latest(symbol, { timeframe, limit: CANDLE_LIMIT }, signal),
  );
  return (
    <Async value={latest} label={`Loading ${symbol} market data…`}>
      {(m) => <MarketPanels m={m} />}
    </Async>
  );
}

function MarketPanels({ m }: { m: LatestResponse }) {
  // Beside the price: the market's mood (read on its own, so a failing source never hides the price).
  const sentiment = useApi(`sentiment:${m.symbol}:${m.timeframe}`, (api, signal) =>
    api.sentiment(m.symbol, { timeframe: m.timeframe, limit: SENTIMENT_LIMIT }, signal),
  );
  const series = useMemo<ChartSeries[]>(
    () => [
      { kind: 'candles', data: m.candles },
      { kind: 'line', data: ema(m.candles, 20), color: '#f0b429', title: 'EMA20', lineWidth: 1 },
      { kind: 'line', data: ema(m.candles, 50), color: '#7aa2f7', title: 'EMA50', lineWidth: 1 },
    ],
    [m],
  );
  const ind = m.indicators;
  return (
    <>
      <div className="stats" data-testid="market-stats">
        <Stat
          label={`${m.symbol} last`}
          value={fmtPrice(m.price)}
          testId="last-price"
          sub={`as of ${fmtTime(m.asOf)}`}
        />
        <Stat label="24h change" value={fmtPct(m.changePct24h)} tone={tone(m.changePct24h)} />
        <SentimentStats sentiment={sentiment} />
        <Stat
          label="Regime (rules)"
          value={m.regime ? m.regime.regime : NO_VALUE}
          testId="regime"
          sub={
            m.regime
              ? `confidence ${fmtRatio(m.regime.confidence, 2)}: ${m.regime.rule}`
              : 'too little history for the regime rules'
          }
        />
        <Stat
          label="RSI 14"
          value={fmtRatio(ind.rsi14, 1)}
          sub={
            ind.rsi14 == null
              ? NO_VALUE
              : ind.rsi14 >= 70
                ? 'overbought'
                : ind.rsi14 <= 30
                  ? 'oversold'
                  : 'neutral'
          }
        />
        <Stat
          label="MACD hist."
          value={fmtRatio(ind.macdHistogram, 2)}
          tone={tone(ind.macdHistogram)}
          sub={`MACD ${fmtRatio(ind.macd, 2)} / sig ${fmtRatio(ind.macdSignal, 2)}`}
        />
        <Stat
          label="ATR 14"
          value={fmtPrice(ind.atr14)}
          sub={`volatility ${fmtFraction(ind.volatility, { signed: false })} ann.`}
        />
      </div>
      <Panel title={`${m.symbol} · ${m.timeframe} · last ${m.candles.length} candles`} actions={<Legend />}>
        <TimeChart series={series} height={360} ariaLabel={`${m.symbol} candlestick chart`} />
        {m.gaps.length > 0 && (
          <div className="notice warn small">
            {m.gaps.length} gap(s) in the data, e.g. {m.gaps[0]!.missingBars} bar(s) missing after{' '}
            {fmtTime(m.gaps[0]!.after)}. Candles are never invented to fill them.
          </div>
        )}
      </Panel>
      <Panel title="Indicators (last closed candle)">
        <table className="table compact">
          <tbody>
            <IndicatorRow
              label="EMA 20 / 50 / 200"
              values={[ind.ema20, ind.ema50, ind.ema200]}
              price={m.price}
            />
            <IndicatorRow
              label="Bollinger upper / mid / lower"
              values={[ind.bbUpper, ind.bbMiddle, ind.bbLower]}
              price={m.price}
            />
          </tbody>
        </table>
      </Panel>
    </>
  );
}

/**
 * The Crypto Fear & Greed Index and the perpetual's funding rate, as the sentiment analyst would read
 * them now. A source that is off or failing says so instead of a number.
 */
function SentimentStats({ sentiment }: { sentiment: Loadable<SentimentResponse> }) {
  if (sentiment.state !== 'ok') {
    const sub = sentiment.state === 'loading' ? 'loading…' : `unavailable: ${sentiment.error.message}`;
    return (
      <>
        <Stat label="Fear & Greed" value={NO_VALUE} sub={sub} testId="fear-greed" />
        <Stat label="Funding rate" value={NO_VALUE} sub={sub} testId="funding-rate" />
      </>
    );
  }
  const { summary, sources } = sentiment.data;
  const why = (source: string) =>
    !sources.includes(source)
      ? `off (SENTIMENT_SOURCES)`
      : `unavailable${summary.missing[source] ? `: ${summary.missing[source]}` : ''}`;
  const fg = summary.fearGreed;
  const funding = summary.funding;
  return (
    <>
      <Stat
        label="Fear & Greed"
        value={fg ? String(fg.value) : NO_VALUE}
        testId="fear-greed"
        sub={
          fg
            ? `${fg.classification}${fg.change7d == null ? '' : `, ${fg.change7d >= 0 ? '+' : ''}${fg.change7d} in 7 d`}`
            : why('fng')
        }
      />
      <Stat
        label="Funding rate"
        value={funding ? fmtPct(funding.latestPct, { decimals: 4 }) : NO_VALUE}
        tone={funding ? tone(funding.latestPct) : undefined}
        testId="funding-rate"
        sub={funding ? `per 8 h, 7-day mean ${fmtPct(funding.mean7dPct, { decimals: 4 })}` : why('funding')}
      />
    </>
  );
}

function IndicatorRow({ label, values, price }: { label: string; values: (number | null)[]; price: number }) {
  return (
    <tr>
      <th scope="row">{label}</th>
      {values.map((v, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: fixed-position columns
        <td key={i} className={`num ${v == null ? '' : price >= v ? 'up' : 'down'}`}>
          {fmtPrice(v)}
        </td>
      ))}
      <td className="muted small">price {fmtPrice(price)}: green above, red below</td>
    </tr>
  );
}

function Legend() {
  return (
    <span className="legend small">
      <span style={{ color: '#f0b429' }}>— EMA20</span> <span style={{ color: '#7aa2f7' }}>— EMA50</span>
    </span>
  );
}

function RunAnalysis({ symbol, timeframe }: { symbol: string; timeframe: string }) {
  const api = useApiClient();
  const navigate = useNavigate();
  const [run, setRun] = useState<
    | { state: 'idle' }
    | { state: 'running'; startedAt: number; id?: string }
    | { state: 'error'; error: Error }
  >({ state: 'idle' });
  const [now, setNow] = useState(() => Date.now());
  const [decisionMode, setDecisionMode] = useState<'' | 'pipeline' | 'consensus'>('');

  useEffect(() => {
    if (run.state !== 'running') return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [run.state]);

  const start = async () => {
    setRun({ state: 'running', startedAt: Date.now() });
    setNow(Date.now());
    try {
      const analysis = await runAnalysisToEnd(
        api,
        { symbol, timeframe, ...(decisionMode ? { decisionMode } : {}) },
        {
          pollMs: ANALYSIS_POLL_MS,
          onAccepted: (id) => setRun((r) => (r.state === 'running' ? { ...r, id } : r)),
        },
      );
      navigate(`/analyses/${analysis.id}`, { state: { justRan: true } });
    } catch (err) {
      setRun({ state: 'error', error: err instanceof Error ? err : new Error(String(err)) });
    }
  };

  const running = run.state === 'running';
  return (
    <Panel
      title="Six-agent analysis"
      actions={
        <>
          <select
            value={decisionMode}
            onChange={(e) => setDecisionMode(e.target.value as typeof decisionMode)}
            aria-label="Decision mode"
            disabled={running}
          >
            <option value="">decision: server default</option>
            <option value="pipeline">decision: pipeline</option>
            <option value="consensus">decision: consensus vote</option>
          </select>
          <button
            type="button"
            className="btn primary"
            onClick={start}
            disabled={running}
            data-testid="run-analysis"
          >
            {running ? 'Running…' : `Run analysis on ${symbol}`}
          </button>
        </>
      }
    >
      <p className="muted small">
        Technical, sentiment/news and tokenomics analysts run in parallel; the researcher weighs them, the
        trader proposes an order and the risk manager reviews it; hard limits are applied in code. A BUY or
        SELL is filled in the simulated live book. In consensus mode the analysts and the researcher vote
        first, and the trader is called only when enough of them agree.
      </p>
      {running && <PipelineStepper running />}
      {running && (
        <div className="muted small" role="status" aria-live="polite">
          Working for {Math.round((now - run.startedAt) / 1000)} s
          {run.id ? ` · running as ${run.id} (polling)` : ''}. The page opens the analysis when it is done.
        </div>
      )}
      {run.state === 'error' && (
        <ErrorNotice error={run.error} title="The analysis did not run" onRetry={start} />
      )}
    </Panel>
  );
}
