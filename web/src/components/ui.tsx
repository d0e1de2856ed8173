/** Small building blocks shared by every view: loading, errors, stats, badges, pagination. */
import type { ReactNode } from 'react';
import type { AgentStatus } from '../../../shared/agents/schemas';
import { ApiError } from '../api/client';
import type { Loadable } from '../api/use-api';

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

/** An error as the user needs it: the API's message, its code, and what to do next. */
export function ErrorNotice({
  error,
  onRetry,
  title,
}: {
  error: Error;
  onRetry?: () => void;
  title?: string;
}) {
  const api = error instanceof ApiError ? error : null;
  return (
    <div className="notice error" role="alert">
      <div className="notice-title">{title ?? 'Request failed'}</div>
      <div>{error.message}</div>
      {api && (
        <div className="muted small">
          {api.hint}{' '}
          <span className="mono">
            ({api.code}
            {api.status ? `, HTTP ${api.status}` : ''})
          </span>
        </div>
      )}
      {api?.details && Object.keys(api.details).length > 0 && (
        <pre className="details mono small">{JSON.stringify(api.details, null, 2)}</pre>
      )}
      {onRetry && (
        <button type="button" className="btn small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/**
 * Renders a Loadable: spinner while loading, the error (with retry) on failure, the content when ok.
 * When a poll fails after data arrived, the stale data stays visible under the error.
 */
export function Async<T>({
  value,
  label,
  children,
}: {
  value: Loadable<T> & { reload: () => void };
  label?: string;
  children: (data: T) => ReactNode;
}) {
  if (value.state === 'loading') return <Spinner label={label} />;
  if (value.state === 'error')
    return (
      <>
        <ErrorNotice error={value.error} onRetry={value.reload} />
        {value.data !== undefined && children(value.data)}
      </>
    );
  return <>{children(value.data)}</>;
}

export function Stat({
  label,
  value,
  tone,
  sub,
  testId,
}: {
  label: string;
  value: ReactNode;
  tone?: 'up' | 'down' | 'flat';
  sub?: ReactNode;
  testId?: string;
}) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className={`stat-value num ${tone ?? ''}`}>{value}</div>
      {sub !== undefined && <div className="stat-sub muted">{sub}</div>}
    </div>
  );
}

export function Panel({
  title,
  actions,
  children,
  className,
  testId,
}: {
  title?: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <section className={`panel ${className ?? ''}`} data-testid={testId}>
      {(title || actions) && (
        <header className="panel-head">
          {title && <h2>{title}</h2>}
          {actions && <div className="panel-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

const AGENT_STATUS_TEXT: Record<AgentStatus, string> = {
  ok: 'OK',
  abstained: 'Abstained',
  unavailable: 'Unavailable',
  error: 'Error',
  budget_exceeded: 'Budget exceeded',
  gated: 'Gated',
  skipped: 'Skipped',
};

export function agentStatusText(s: AgentStatus): string {
  return AGENT_STATUS_TEXT[s];
}

/** A compact status label; the tone follows the meaning (ok good, refused/failed bad, skipped muted). */
export function Badge({
  kind,
  children,
}: {
  kind: 'good' | 'bad' | 'warn' | 'info' | 'muted';
  children: ReactNode;
}) {
  return <span className={`badge ${kind}`}>{children}</span>;
}

export function statusKind(status: string): 'good' | 'bad' | 'warn' | 'info' | 'muted' {
  switch (status) {
    case 'ok':
    case 'completed':
    case 'succeeded':
    case 'filled':
      return 'good';
    case 'failed':
    case 'error':
    case 'budget_exceeded':
    case 'rejected':
      return 'bad';
    case 'abstained':
    case 'unavailable':
    case 'no_trade':
    case 'gated':
      return 'warn';
    case 'pending':
    case 'running':
      return 'info';
    default:
      return 'muted';
  }
}

export function StatusBadge({ status }: { status: string }) {
  const text =
    status in AGENT_STATUS_TEXT ? AGENT_STATUS_TEXT[status as AgentStatus] : status.replace(/_/g, ' ');
  return <Badge kind={statusKind(status)}>{text}</Badge>;
}

export function ActionTag({ action }: { action: 'BUY' | 'SELL' | 'HOLD' | null | undefined }) {
  if (!action) return <span className="muted">—</span>;
  return <span className={`action ${action.toLowerCase()}`}>{action}</span>;
}

/** Cursor pagination: the API hands out `nextCursor`; the page keeps the trail to go back. */
export function Pager({
  page,
  hasNext,
  onPrev,
  onNext,
}: {
  page: number;
  hasNext: boolean;
  onPrev: () => void;
  onNext: () => void;
}) {
  return (
    <nav className="pager" aria-label="Pagination">
      <button type="button" className="btn small ghost" onClick={onPrev} disabled={page === 0}>
        ← Newer
      </button>
      <span className="muted small">Page {page + 1}</span>
      <button type="button" className="btn small ghost" onClick={onNext} disabled={!hasNext}>
        Older →
      </button>
    </nav>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty muted">{children}</div>;
}

/** A table's header cell: its text, or `{ num }` for a right-aligned column of numbers. */
export type Column = string | { num: string };

/** The scrollable table every list uses: header cells from `head`, body rows as children. */
export function DataTable({
  head,
  testId,
  compact,
  tall,
  children,
}: {
  head: readonly Column[];
  testId?: string;
  compact?: boolean;
  tall?: boolean;
  children: ReactNode;
}) {
  return (
    <div className={tall ? 'table-wrap tall' : 'table-wrap'}>
      <table className={compact ? 'table compact' : 'table'} data-testid={testId}>
        <thead>
          <tr>
            {head.map((c) =>
              typeof c === 'string' ? (
                <th key={c}>{c}</th>
              ) : (
                <th key={c.num} className="num">
                  {c.num}
                </th>
              ),
            )}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
