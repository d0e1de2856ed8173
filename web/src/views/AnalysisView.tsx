/**
 * One decision, end to end: the pipeline's real per-agent statuses, the final decision (emphasized),
 * its execution in the simulated book, the trade on the price chart, one card per agent, and the cost
 * of it all. Polls while the record is still pending or running (a 202 analysis).
 */
import { useMemo } from 'react';
import { Link, useParams } from 'react-router-dom';
import { AGENT_LABEL, AGENT_NAMES } from '../../../shared/agents/schemas';
import type { AnalysisDto } from '../../../shared/api/contract';
import { isAnalysisSettled } from '../api/client';
import { useApi } from '../api/use-api';
import { AgentCard, OFFLINE_LABEL, OFFLINE_SHORT } from '../components/AgentCard';
import { Clamps } from '../components/Clamps';
import { ConsensusPanel } from '../components/Consensus';
import type { ChartMarker, ChartSeries } from '../components/chart-types';
import { TimeChart } from '../components/charts';
import { PipelineStepper } from '../components/Pipeline';
import { ActionTag, Async, Badge, Panel, Spinner, Stat, StatusBadge } from '../components/ui';
import { fmtCost, fmtInt, fmtMs, fmtPrice, fmtQty, fmtTime, fmtUsd } from '../format';

const POLL_MS = 1500;
const CHART_CANDLES = 300;

export default function AnalysisView() {
  const { id = '' } = useParams();
  const analysis = useApi(`analysis:${id}`, (api, signal) => api.analysis(id, signal), {
    pollMs: (a) => (isAnalysisSettled(a) ? null : POLL_MS),
  });
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Analysis</h1>
        <Link to="/analyses" className="small">
          ← All analyses
        </Link>
      </div>
      <Async value={analysis} label="Loading analysis…">
        {(a) => <AnalysisBody a={a} />}
      </Async>
    </div>
  );
}

function AnalysisBody({ a }: { a: AnalysisDto }) {
  const settled = isAnalysisSettled(a);
  return (
    <>
      <div className="subhead">
        <span className="mono strong">{a.symbol}</span>
        <span>{a.timeframe}</span>
        <span>{a.mode === 'live' ? 'live' : a.mode.replace('_', ' ')}</span>
        <span>decision at {fmtTime(a.decisionTime)}</span>
        {a.decisionMode === 'consensus' && <Badge kind="info">consensus mode</Badge>}
        {a.regime.detector && (
          <span data-testid="regime" title={a.regime.detector.rule}>
            regime {a.regime.detector.regime} ({a.regime.detector.confidence.toFixed(2)})
            {a.regime.technical !== null &&
              (a.regime.agree
                ? ', technical analyst agrees'
                : `, technical analyst says ${a.regime.technical}`)}
          </span>
        )}
        <StatusBadge status={a.status} />
        {a.provider === 'offline' ? (
          <Badge kind="warn">{OFFLINE_LABEL}</Badge>
        ) : (
          <Badge kind="info">LLM provider: OpenAI-compatible</Badge>
        )}
        {a.backtestId && (
          <Link to={`/backtests/${a.backtestId}`}>part of backtest {a.backtestId.slice(0, 8)}</Link>
        )}
        <span className="mono muted small">{a.id}</span>
      </div>
      <PipelineStepper agents={a.agents} running={!settled} final={a.final} />
      {!settled && <Spinner label={`The pipeline is ${a.status}; this page updates by itself.`} />}
      {a.error && (
        <div className="notice error" role="alert">
          <div className="notice-title">
            {a.status === 'budget_exceeded'
              ? 'Daily token budget exceeded'
              : 'The pipeline reported an error'}
          </div>
          <div>{a.error.message}</div>
          <div className="mono small muted">{a.error.code}</div>
        </div>
      )}
      <div className="split">
        <FinalDecision a={a} />
        <Totals a={a} />
      </div>
      <ConsensusPanel a={a} />
      <DecisionChart a={a} />
      <div className="agent-grid" data-testid="agent-cards">
        {AGENT_NAMES.map((name) => (
          <AgentCard
            key={name}
            name={name}
            result={a.agents[name]}
            extra={name === 'risk' && a.final ? <Clamps clamps={a.final.clamps} /> : undefined}
          />
        ))}
      </div>
      <CostTable a={a} />
    </>
  );
}

function FinalDecision({ a }: { a: AnalysisDto }) {
  const f = a.final;
  const trade = a.execution?.trade;
  return (
    <Panel title="Final decision" className="final" testId="final-decision">
      {!f ? (
        <p className="muted">
          {isAnalysisSettled(a)
            ? `No decision was recorded (status: ${a.status.replace('_', ' ')}). No trade.`
            : 'Waiting for the pipeline…'}
        </p>
      ) : (
        <>
          <div className="final-line">
            <ActionTag action={f.action} />
            {f.action !== 'HOLD' && <span className="final-size num">{f.sizePct}% of equity</span>}
            {f.gated && (
              <Badge kind="warn">
                {f.reason.startsWith('no_consensus')
                  ? 'no consensus among the voters'
                  : 'gated: researcher confidence under threshold'}
              </Badge>
            )}
          </div>
          <p>{f.reason}</p>
          <Clamps clamps={f.clamps} />
        </>
      )}
      {a.execution && (
        <div className="execution small">
          {trade ? (
            <>
              <StatusBadge status={trade.status} /> {trade.side} {fmtQty(trade.quantity)} {a.symbol} @{' '}
              <span className="num">{fmtPrice(trade.price)}</span> · notional {fmtUsd(trade.notional)} · fee{' '}
              {fmtUsd(trade.feeUsd)}
              {trade.status === 'rejected' && trade.reason && <div className="muted">{trade.reason}</div>}
              <Clamps
                clamps={trade.clamps.filter(
                  (c) => !f?.clamps.some((k) => k.rule === c.rule && k.requested === c.requested),
                )}
                title="Order adjusted by exchange and portfolio limits"
              />
            </>
          ) : a.execution.rejected ? (
            <>
              <Badge kind="bad">order rejected</Badge> {a.execution.rejected}
            </>
          ) : (
            <span className="muted">No order (price {fmtPrice(a.execution.price)}).</span>
          )}
        </div>
      )}
      {a.portfolio && (
        <div className="small muted">
          Simulated book after: equity {fmtUsd(a.portfolio.equity)}, cash {fmtUsd(a.portfolio.cash)}.{' '}
          <Link to="/portfolio">Portfolio →</Link>
        </div>
      )}
    </Panel>
  );
}

function Totals({ a }: { a: AnalysisDto }) {
  const c = a.cost;
  return (
    <Panel title="Cost of this decision">
      <div className="stats tight">
        <Stat label="LLM calls" value={fmtInt(c.calls)} sub={`${fmtInt(c.cacheHits)} cache hits`} />
        <Stat
          label="Tokens"
          value={fmtInt(c.tokensIn + c.tokensOut)}
          sub={`${fmtInt(c.tokensIn)} in / ${fmtInt(c.tokensOut)} out`}
        />
        <Stat
          label="Cost"
          value={fmtCost(c.costUsd)}
          sub={a.provider === 'offline' ? 'offline: no charge' : undefined}
        />
        <Stat label="Latency" value={fmtMs(c.latencyMs)} sub="sum over agents" />
      </div>
    </Panel>
  );
}

function DecisionChart({ a }: { a: AnalysisDto }) {
  const latest = useApi(`latest:${a.symbol}:${a.timeframe}:${CHART_CANDLES}`, (api, signal) =>
    api.latest(a.symbol, { timeframe: a.timeframe, limit: CHART_CANDLES }, signal),
  );
  const decisionMs = Date.parse(a.decisionTime);
  const markers = useMemo<ChartMarker[]>(() => {
    const trade = a.execution?.trade;
    if (trade && trade.status === 'filled')
      return [
        {
          time: Date.parse(trade.executedAt),
          side: trade.side,
          text: trade.side,
        },
      ];
    return a.final ? [{ time: decisionMs, side: a.final.action, text: a.final.action }] : [];
  }, [a, decisionMs]);
  const series = useMemo<ChartSeries[]>(
    () => (latest.data ? [{ kind: 'candles', data: latest.data.candles }] : []),
    [latest.data],
  );
  const first = latest.data?.candles[0]?.time;
  return (
    <Panel title={`${a.symbol} · ${a.timeframe} · the decision on the chart`}>
      <Async value={latest} label="Loading candles…">
        {() => (
          <>
            <TimeChart
              series={series}
              markers={markers}
              height={300}
              ariaLabel={`${a.symbol} price with the decision marked`}
            />
            {first !== undefined && decisionMs < first && (
              <div className="muted small">
                The decision ({fmtTime(a.decisionTime)}) is older than the latest {CHART_CANDLES} candles
                shown, so it is not marked.
              </div>
            )}
          </>
        )}
      </Async>
    </Panel>
  );
}

function CostTable({ a }: { a: AnalysisDto }) {
  const rows = AGENT_NAMES.map((n) => ({ name: n, r: a.agents[n] }));
  return (
    <Panel title="Tokens, cost and latency per agent">
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Agent</th>
              <th>Status</th>
              <th>Tier</th>
              <th>Model</th>
              <th className="num">Tokens in</th>
              <th className="num">Tokens out</th>
              <th className="num">Cost</th>
              <th className="num">Latency</th>
              <th>Cache</th>
              <th>Prompt</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(({ name, r }) => (
              <tr key={name}>
                <td>{AGENT_LABEL[name]}</td>
                <td>{r ? <StatusBadge status={r.status} /> : <span className="muted">not run</span>}</td>
                <td>{r?.tier ?? '—'}</td>
                <td
                  className="mono small nowrap"
                  title={r?.provider === 'offline' ? OFFLINE_LABEL : undefined}
                >
                  {r ? (r.provider === 'offline' ? OFFLINE_SHORT : r.model) : '—'}
                </td>
                <td className="num">{fmtInt(r?.tokensIn)}</td>
                <td className="num">{fmtInt(r?.tokensOut)}</td>
                <td className="num">{fmtCost(r?.costUsd)}</td>
                <td className="num">{fmtMs(r?.latencyMs)}</td>
                <td>{r?.cacheHit ? 'hit' : r ? 'miss' : '—'}</td>
                <td className="mono small">{r?.promptVersion ?? '—'}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th colSpan={4}>Total ({fmtInt(a.cost.calls)} calls)</th>
              <td className="num">{fmtInt(a.cost.tokensIn)}</td>
              <td className="num">{fmtInt(a.cost.tokensOut)}</td>
              <td className="num">{fmtCost(a.cost.costUsd)}</td>
              <td className="num">{fmtMs(a.cost.latencyMs)}</td>
              <td>{fmtInt(a.cost.cacheHits)} hits</td>
              <td />
            </tr>
          </tfoot>
        </table>
      </div>
    </Panel>
  );
}
