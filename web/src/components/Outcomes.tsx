/**
 * The firm's memory on the web: a book's trade outcomes (closed round trips, FIFO lots) with the
 * aggregates and the by-regime breakdown, on the Portfolio view (live book) and on each backtest.
 */
import { Link } from 'react-router-dom';
import type { OutcomeDto, OutcomesPageDto } from '../../../shared/api/contract';
import { useApi } from '../api/use-api';
import { fmtFraction, fmtPct, fmtPrice, fmtQty, fmtRatio, fmtTime, fmtUsdSigned, tone } from '../format';
import { Paged } from './Paged';
import { Async, DataTable, Panel } from './ui';

const PAGE = 20;
type Stats = OutcomesPageDto['aggregates'];
type Group = Stats['byRegime'];

const regimeOf = (o: OutcomeDto) =>
  (o.context as { regime?: { detector?: { regime?: string } | null } }).regime?.detector?.regime ?? '—';
const HOUR_MS = 3_600_000;

function Breakdown({ title, group, testId }: { title: string; group: Group; testId: string }) {
  return (
    <DataTable
      compact
      testId={testId}
      head={[
        title,
        { num: 'Outcomes' },
        { num: 'Win rate' },
        { num: 'Mean PnL' },
        { num: 'Payoff' },
        { num: 'PnL' },
      ]}
    >
      {Object.entries(group).map(([k, s]) => (
        <tr key={k}>
          <td className="mono">{k}</td>
          <td className="num">{s.count}</td>
          <td className="num">{fmtFraction(s.winRate, { signed: false })}</td>
          <td className={`num ${tone(s.meanPnlPct)}`}>{fmtPct(s.meanPnlPct, { signed: true })}</td>
          <td className="num">{fmtRatio(s.payoffRatio)}</td>
          <td className={`num ${tone(s.totalPnlUsdt)}`}>{fmtUsdSigned(s.totalPnlUsdt)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function Aggregates({ a }: { a: Stats }) {
  if (a.count === 0) return <p className="muted">No closed round trip yet.</p>;
  return (
    <>
      <p data-testid="outcome-summary">
        {a.count} outcome(s): win rate <strong>{fmtFraction(a.winRate, { signed: false })}</strong>, mean PnL{' '}
        <strong>{fmtPct(a.meanPnlPct, { signed: true })}</strong>, payoff ratio{' '}
        <strong>{fmtRatio(a.payoffRatio)}</strong>, total <strong>{fmtUsdSigned(a.totalPnlUsdt)}</strong>
      </p>
      <div className="split">
        <Breakdown title="Regime at entry" group={a.byRegime} testId="outcomes-by-regime" />
        <Breakdown title="Exit reason" group={a.byExitReason} testId="outcomes-by-exit" />
      </div>
      <Breakdown title="Researcher confidence" group={a.byConfidence} testId="outcomes-by-confidence" />
    </>
  );
}

function OutcomeRows({ items }: { items: OutcomeDto[] }) {
  return (
    <DataTable
      testId="outcomes-table"
      head={[
        'Closed',
        'Symbol',
        { num: 'Quantity' },
        { num: 'Entry' },
        { num: 'Exit' },
        { num: 'PnL' },
        { num: 'PnL %' },
        { num: 'Held' },
        'Exit reason',
        'Regime',
        'Entry decision',
      ]}
    >
      {items.map((o) => (
        <tr key={o.id}>
          <td className="time">{fmtTime(o.exitTime)}</td>
          <td className="mono">{o.symbol}</td>
          <td className="num">{fmtQty(o.quantity)}</td>
          <td className="num">{fmtPrice(o.entryPrice)}</td>
          <td className="num">{fmtPrice(o.exitPrice)}</td>
          <td className={`num ${tone(o.pnlUsdt)}`}>{fmtUsdSigned(o.pnlUsdt)}</td>
          <td className={`num ${tone(o.pnlPct)}`}>{fmtPct(o.pnlPct, { signed: true })}</td>
          <td className="num">{(o.holdingMs / HOUR_MS).toFixed(1)} h</td>
          <td>{o.exitReason.replace(/_/g, ' ')}</td>
          <td className="mono">{regimeOf(o)}</td>
          <td>
            {o.entryDecisionId ? (
              <Link to={`/analyses/${o.entryDecisionId}`}>agents →</Link>
            ) : (
              <span className="muted">—</span>
            )}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

/** `runId` absent: the live book. */
export function OutcomesPanel({ runId }: { runId?: string }) {
  const q = runId ? { run_id: runId } : {};
  const summary = useApi(`outcomes-aggregates:${runId ?? 'live'}`, (api, signal) =>
    api.outcomes({ ...q, limit: 1 }, signal),
  );
  return (
    <Panel title="Outcomes (closed round trips, FIFO lots)" testId="outcomes">
      <Async value={summary} label="Loading outcomes…">
        {(d) => <Aggregates a={d.aggregates} />}
      </Async>
      <Paged
        name={`outcomes:${runId ?? 'live'}`}
        load={(api, cursor, signal) => api.outcomes({ ...q, limit: PAGE, cursor }, signal)}
        label="Loading outcomes…"
        empty="No outcome yet: a round trip becomes one when a sale closes it."
      >
        {(items) => <OutcomeRows items={items} />}
      </Paged>
    </Panel>
  );
}
