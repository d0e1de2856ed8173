/** History of analyses, newest first, each opening its full record. */
import { Link } from 'react-router-dom';
import { OFFLINE_LABEL } from '../components/AgentCard';
import { Paged } from '../components/Paged';
import { ActionTag, DataTable, Panel, StatusBadge } from '../components/ui';
import { fmtCost, fmtInt, fmtTime } from '../format';

const PAGE_SIZE = 25;

export default function AnalysesList() {
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Analyses</h1>
        <Link to="/" className="btn small">
          Run a new analysis
        </Link>
      </div>
      <Panel>
        <Paged
          name="analyses"
          load={(api, cursor, signal) => api.analyses({ limit: PAGE_SIZE, cursor }, signal)}
          label="Loading analyses…"
          empty={
            <>
              No analyses yet. Run one from the <Link to="/">dashboard</Link>.
            </>
          }
        >
          {(items) => (
            <DataTable
              testId="analyses-table"
              head={[
                'Decision time',
                'Symbol',
                'Mode',
                'Status',
                'Action',
                { num: 'Size' },
                { num: 'Tokens' },
                { num: 'Cost' },
                'Provider',
              ]}
            >
              {items.map((a) => (
                <tr key={a.id}>
                  <td>
                    <Link to={`/analyses/${a.id}`}>{fmtTime(a.decisionTime)}</Link>
                  </td>
                  <td className="mono">
                    {a.symbol} <span className="muted">{a.timeframe}</span>
                  </td>
                  <td>{a.mode.replace('_', ' ')}</td>
                  <td>
                    <StatusBadge status={a.status} />
                  </td>
                  <td>
                    <ActionTag action={a.final?.action} />
                    {a.final?.gated && <span className="muted small"> gated</span>}
                  </td>
                  <td className="num">
                    {a.final && a.final.action !== 'HOLD' ? `${a.final.sizePct}%` : '—'}
                  </td>
                  <td className="num">{fmtInt(a.cost.tokensIn + a.cost.tokensOut)}</td>
                  <td className="num">{fmtCost(a.cost.costUsd)}</td>
                  <td className="small">{a.provider === 'offline' ? OFFLINE_LABEL : 'OpenAI-compatible'}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </Paged>
      </Panel>
    </div>
  );
}
