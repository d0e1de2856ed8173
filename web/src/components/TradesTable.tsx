/** A list of fills (and rejected orders), shared by the portfolio and backtest views. */
import { Link } from 'react-router-dom';
import type { TradeDto } from '../../../shared/api/contract';
import { fmtClampAmount, fmtPrice, fmtQty, fmtTime, fmtUsd, fmtUsdSigned, tone } from '../format';
import { DataTable, StatusBadge } from './ui';

export function TradesTable({ trades, testId }: { trades: TradeDto[]; testId?: string }) {
  return (
    <DataTable
      testId={testId}
      head={[
        'Time',
        'Symbol',
        'Side',
        'Status',
        { num: 'Quantity' },
        { num: 'Price' },
        { num: 'Notional' },
        { num: 'Fee' },
        { num: 'Realized PnL' },
        'Decision',
      ]}
    >
      {trades.map((t) => (
        <tr key={t.id} className={t.status === 'rejected' ? 'dim' : undefined}>
          <td className="time">{fmtTime(t.executedAt)}</td>
          <td className="mono">{t.symbol}</td>
          <td>
            <span className={`action ${t.side.toLowerCase()}`}>{t.side}</span>
          </td>
          <td>
            <StatusBadge status={t.status} />
            {t.clamps.length > 0 && (
              <span
                className="badge warn"
                title={t.clamps
                  .map(
                    (c) =>
                      `${c.rule}: ${fmtClampAmount(c.requested, c.unit)} → ${fmtClampAmount(c.allowed, c.unit)}. ${c.reason}`,
                  )
                  .join('\n')}
              >
                clamped
              </span>
            )}
            {t.reason && t.status === 'rejected' && <div className="muted small">{t.reason}</div>}
          </td>
          <td className="num">{fmtQty(t.quantity)}</td>
          <td className="num">{fmtPrice(t.price)}</td>
          <td className="num">{fmtUsd(t.notional)}</td>
          <td className="num" title={`${t.fee} ${t.feeAsset}`}>
            {fmtUsd(t.feeUsd)}
          </td>
          <td className={`num ${tone(t.realizedPnl)}`}>
            {t.side === 'SELL' ? fmtUsdSigned(t.realizedPnl) : '—'}
          </td>
          <td>
            {t.decisionId ? (
              <Link to={`/analyses/${t.decisionId}`}>agents →</Link>
            ) : (
              <span className="muted">—</span>
            )}
          </td>
        </tr>
      ))}
    </DataTable>
  );
}
