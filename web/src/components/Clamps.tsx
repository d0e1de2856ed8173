/** Hard-limit clamps: every one is recorded with its rule and reason, and shown, never silent. */
import type { z } from 'zod';
import type { clampSchema } from '../../../shared/api/contract';

type Clamp = z.infer<typeof clampSchema>;

/**
 * `unit`: the final decision's clamps are sizes in % of equity; an order's clamps are amounts whose unit
 * the rule implies (USDT notional, base-asset quantity), so they are shown as plain numbers.
 */
export function Clamps({ clamps, unit, title }: { clamps: Clamp[]; unit?: '%'; title?: string }) {
  const show = (x: number | null) =>
    x === null ? '—' : unit === '%' ? `${x}%` : x.toLocaleString('en-US', { maximumFractionDigits: 8 });
  if (clamps.length === 0) return null;
  return (
    <div className="notice warn small" data-testid="clamps">
      <div className="notice-title">{title ?? 'Clamped by hard limits'}</div>
      <ul>
        {clamps.map((c, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: clamps are an ordered record
          <li key={i}>
            <span className="mono">{c.rule}</span>: requested {show(c.requested)} → allowed {show(c.allowed)}.{' '}
            {c.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}
