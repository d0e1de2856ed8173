/** Hard-limit clamps: every one is recorded with its rule and reason, and shown, never silent. */
import type { z } from 'zod';
import type { clampSchema } from '../../../shared/api/contract';

type Clamp = z.infer<typeof clampSchema>;

/**
 * The contract's clamp carries no unit: sizing rules are in % of equity, order rules in the amount the
 * rule limits (USDT notional, base-asset quantity; the reason text names it). Only the sizing rules
 * get a % sign.
 */
const PERCENT_RULES = new Set(['MAX_POSITION_SIZE_PCT', 'RISK_MAY_ONLY_REDUCE']);

export function Clamps({ clamps, title }: { clamps: Clamp[]; title?: string }) {
  const show = (rule: string, x: number | null) =>
    x === null
      ? '—'
      : PERCENT_RULES.has(rule)
        ? `${x}%`
        : x.toLocaleString('en-US', { maximumFractionDigits: 8 });
  if (clamps.length === 0) return null;
  return (
    <div className="notice warn small" data-testid="clamps">
      <div className="notice-title">{title ?? 'Clamped by hard limits and exchange rules'}</div>
      <ul>
        {clamps.map((c, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: clamps are an ordered record
          <li key={i}>
            <span className="mono">{c.rule}</span>: requested {show(c.rule, c.requested)} → allowed{' '}
            {show(c.rule, c.allowed)}. {c.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}
