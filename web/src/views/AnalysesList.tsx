/** History of analyses, newest first, each opening its full record. */
import { Link } from 'react-router-dom';
import { useApi } from '../api/use-api';
import { useCursorPages } from '../api/use-cursor-pages';
import { OFFLINE_LABEL } from '../components/AgentCard';
import { ActionTag, Async, Empty, Pager, Panel, StatusBadge } from '../components/ui';
import { fmtCost, fmtInt, fmtTime } from '../format';

const PAGE_SIZE = 25;

export default function AnalysesList() {
  const pages = useCursorPages();
  const list = useApi(`analyses:${pages.cursor}`, (api, signal) =>
    api.analyses({ limit: PAGE_SIZE, cursor: pages.cursor }, signal),
  );
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Analyses</h1>
        <Link to="/" className="btn small">
          Run a new analysis
        </Link>
      </div>
      <Panel>
        <Async value={list} label="Loading analyses…">
          {(data) =>
            data.items.length === 0 && pages.page === 0 ? (
              <Empty>
                No analyses yet. Run one from the <Link to="/">dashboard</Link>.
              </Empty>
            ) : (
              <>
                <div className="table-wrap">
                  <table className="table" data-testid="analyses-table">
                    <thead>
                      <tr>
                        <th>Decision time</th>
                        <th>Symbol</th>
                        <th>Mode</th>
                        <th>Status</th>
                        <th>Action</th>
                        <th className="num">Size</th>
                        <th className="num">Tokens</th>
                        <th className="num">Cost</th>
                        <th>Provider</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.items.map((a) => (
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
                          <td className="small">
                            {a.provider === 'offline' ? OFFLINE_LABEL : 'OpenAI-compatible'}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager
                  page={pages.page}
                  hasNext={!!data.nextCursor}
                  onPrev={pages.prev}
                  onNext={() => pages.next(data.nextCursor)}
                />
              </>
            )
          }
        </Async>
      </Panel>
    </div>
  );
}
