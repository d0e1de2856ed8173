/** Hard-limit clamps: every one is recorded with its rule and reason, and shown, never silent. */
import type { z } from 'zod';
import type { clampSchema } from '../../../shared/api/contract';
import { fmtClampAmount } from '../format';

type Clamp = z.infer<typeof clampSchema>;

/** Amounts are shown in the clamp's own unit (% of equity, the quote asset, the base asset). */
export function Clamps({ clamps, title }: { clamps: Clamp[]; title?: string }) {
  if (clamps.length === 0) return null;
  return (
    <div className="notice warn small" data-testid="clamps">
      <div className="notice-title">{title ?? 'Clamped by hard limits and exchange rules'}</div>
      <ul>
        {clamps.map((c, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: clamps are an ordered record
          <li key={i}>
            <span className="mono">{c.rule}</span>: requested {fmtClampAmount(c.requested, c.unit)} → allowed{' '}
            {fmtClampAmount(c.allowed, c.unit)}. {c.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}
