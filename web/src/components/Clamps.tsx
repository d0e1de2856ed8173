/** Hard-limit clamps: every one is recorded with its rule and reason, and shown, never silent. */
import type { z } from 'zod';
import type { clampSchema } from '../../../shared/api/contract';

type Clamp = z.infer<typeof clampSchema>;

function pct(x: number | null): string {
  return x === null ? '—' : `${x}%`;
}

export function Clamps({ clamps }: { clamps: Clamp[] }) {
  if (clamps.length === 0) return null;
  return (
    <div className="notice warn small" data-testid="clamps">
      <div className="notice-title">Clamped by hard limits</div>
      <ul>
        {clamps.map((c, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: clamps are an ordered record
          <li key={i}>
            <span className="mono">{c.rule}</span>: requested {pct(c.requested)} → allowed {pct(c.allowed)}.{' '}
            {c.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}
