/**
 * The simulated live book: positions, cash, equity, returns, fees, the equity curve and the trade
 * history (cursor-paginated).
 */
import { useMemo } from 'react';
import { Link } from 'react-router-dom';
import type { PortfolioDto } from '../../../shared/api/contract';
import { useApi } from '../api/use-api';
import type { ChartSeries } from '../components/chart-types';
import { TimeChart } from '../components/charts';
import { OutcomesPanel } from '../components/Outcomes';
import { Paged } from '../components/Paged';
import { TradesTable } from '../components/TradesTable';
import { Async, DataTable, Empty, Panel, Stat } from '../components/ui';
import { fmtPct, fmtPrice, fmtQty, fmtTime, fmtUsd, fmtUsdSigned, tone } from '../format';

const TRADES_PAGE = 20;

export default function PortfolioView() {
  const portfolio = useApi('portfolio', (api, signal) => api.portfolio(signal));
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Portfolio</h1>
        <span className="muted small">Simulated live book — no real trading</span>
      </div>
      <Async value={portfolio} label="Loading portfolio…">
        {(p) => <Summary p={p} onRefresh={portfolio.reload} />}
      </Async>
      <EquityHistory />
      <TradeHistory />
      <OutcomesPanel />
    </div>
  );
}

function Summary({ p, onRefresh }: { p: PortfolioDto; onRefresh: () => void }) {
  return (
    <>
      <div className="stats" data-testid="portfolio-stats">
        <Stat
          label="Total equity"
          value={fmtUsd(p.equity)}
          testId="equity"
          sub={`started with ${fmtUsd(p.initialCash)}`}
        />
        <Stat label="Total return" value={fmtPct(p.totalReturnPct)} tone={tone(p.totalReturnPct)} />
        <Stat label="Cash" value={fmtUsd(p.cash)} sub={`positions ${fmtUsd(p.positionsValue)}`} />
        <Stat label="Realized PnL" value={fmtUsdSigned(p.realizedPnl)} tone={tone(p.realizedPnl)} />
        <Stat label="Unrealized PnL" value={fmtUsdSigned(p.unrealizedPnl)} tone={tone(p.unrealizedPnl)} />
        <Stat label="Fees paid" value={fmtUsd(p.feesPaid)} />
      </div>
      <Panel
        title="Open positions"
        actions={
          <>
            <span className="muted small">as of {fmtTime(p.asOf)}</span>
            <button type="button" className="btn small ghost" onClick={onRefresh}>
              Refresh
            </button>
          </>
        }
      >
        {p.pricesNote && <div className="notice warn small">{p.pricesNote}</div>}
        {p.positions.length === 0 ? (
          <Empty>
            No open positions. Run an analysis from the <Link to="/">dashboard</Link>; a BUY decision opens
            one.
          </Empty>
        ) : (
          <DataTable
            testId="positions-table"
            head={[
              'Symbol',
              { num: 'Quantity' },
              { num: 'Avg entry' },
              { num: 'Current price' },
              { num: 'Market value' },
              { num: 'Unrealized PnL' },
            ]}
          >
            {p.positions.map((pos) => (
              <tr key={pos.symbol}>
                <td className="mono">{pos.symbol}</td>
                <td className="num">{fmtQty(pos.quantity)}</td>
                <td className="num">{fmtPrice(pos.avgEntryPrice)}</td>
                <td className="num">{fmtPrice(pos.currentPrice)}</td>
                <td className="num">{fmtUsd(pos.marketValue)}</td>
                <td className={`num ${tone(pos.unrealizedPnl)}`}>{fmtUsdSigned(pos.unrealizedPnl)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Panel>
    </>
  );
}

function EquityHistory() {
  const history = useApi('portfolio-history', (api, signal) => api.portfolioHistory(signal));
  const series = useMemo<ChartSeries[]>(
    () =>
      history.data
        ? [
            {
              kind: 'area',
              color: '#34d399',
              title: 'Equity',
              format: 'usd',
              data: history.data.points.map((pt) => ({ time: Date.parse(pt.timestamp), value: pt.equity })),
            },
          ]
        : [],
    [history.data],
  );
  return (
    <Panel title="Equity over time">
      <Async value={history} label="Loading equity history…">
        {(h) =>
          h.points.length < 2 ? (
            <Empty>Not enough history yet: the curve appears after the book has been valued twice.</Empty>
          ) : (
            <TimeChart series={series} height={240} ariaLabel="Equity over time" />
          )
        }
      </Async>
    </Panel>
  );
}

function TradeHistory() {
  return (
    <Panel title="Trade history">
      <Paged
        name="trades"
        load={(api, cursor, signal) => api.trades({ limit: TRADES_PAGE, cursor }, signal)}
        label="Loading trades…"
        empty="No trades yet."
      >
        {(items) => <TradesTable trades={items} testId="trades-table" />}
      </Paged>
    </Panel>
  );
}
