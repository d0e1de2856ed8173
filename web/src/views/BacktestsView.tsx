/**
 * Start a backtest and browse past ones. The form validates with the contract's schema before sending;
 * the API answers 202 with a pre-flight cost estimate, shown here and carried to the run's page.
 */
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import type { CostEstimate } from '../../../shared/api/contract';
import { ApiError } from '../api/client';
import { useApiClient } from '../api/context';
import { useApi } from '../api/use-api';
import {
  type BacktestField,
  type BacktestFormValues,
  type FieldErrors,
  fieldErrorsFromApi,
  isoDay,
  validateBacktestForm,
} from '../backtest-form';
import { Paged } from '../components/Paged';
import { DataTable, ErrorNotice, Panel, StatusBadge } from '../components/ui';
import { fmtCost, fmtDate, fmtInt, fmtTime } from '../format';

const DAY_MS = 86_400_000;
const DEFAULT_RANGE_DAYS = 60;
const PAGE_SIZE = 20;

function defaults(symbol: string): BacktestFormValues {
  const today = Date.now();
  return {
    symbol,
    start_date: isoDay(today - (DEFAULT_RANGE_DAYS + 1) * DAY_MS),
    end_date: isoDay(today - DAY_MS),
    timeframe: '4h',
    max_decisions: '20',
    // Empty: the API spreads the decisions evenly over the range (see DECISION_INTERVAL_DESCRIPTION).
    decision_interval: '',
  };
}

export default function BacktestsView() {
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Backtests</h1>
        <span className="muted small">
          Decisions on past data, filled at the next bar's open, with fees and slippage
        </span>
      </div>
      <BacktestForm />
      <BacktestList />
    </div>
  );
}

function BacktestForm() {
  const api = useApiClient();
  const navigate = useNavigate();
  const symbols = useApi('symbols', (a, signal) => a.symbols(signal));
  const [values, setValues] = useState<BacktestFormValues | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [submitting, setSubmitting] = useState(false);
  const [apiError, setApiError] = useState<Error | null>(null);
  const [estimate, setEstimate] = useState<CostEstimate | null>(null);

  const firstSymbol = symbols.data?.symbols[0]?.symbol ?? 'BTCUSDT';
  const v = values ?? defaults(firstSymbol);
  const set = (field: BacktestField) => (e: { target: { value: string } }) => {
    setValues({ ...v, [field]: e.target.value });
    setErrors((prev) => ({ ...prev, [field]: undefined, form: undefined }));
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setApiError(null);
    const checked = validateBacktestForm(v);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setSubmitting(true);
    try {
      const accepted = await api.startBacktest(checked.request);
      setEstimate(accepted.estimate);
      navigate(`/backtests/${accepted.id}`, { state: { estimate: accepted.estimate } });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      if (error instanceof ApiError && error.code === 'VALIDATION_ERROR')
        setErrors(fieldErrorsFromApi(error.details));
      setApiError(error);
    } finally {
      setSubmitting(false);
    }
  };

  const timeframes = symbols.data?.timeframes ?? ['1h', '4h', '1d'];
  const errorCount = Object.values(errors).filter(Boolean).length;
  return (
    <Panel title="New backtest">
      <form className="form-grid" onSubmit={submit} noValidate data-testid="backtest-form">
        <Field label="Symbol" error={errors.symbol}>
          {(field) => (
            <select {...field} value={v.symbol} onChange={set('symbol')}>
              {(symbols.data?.symbols ?? [{ symbol: v.symbol }]).map((s) => (
                <option key={s.symbol} value={s.symbol}>
                  {s.symbol}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Start date (UTC)" error={errors.start_date}>
          {(field) => (
            <input
              {...field}
              name="start_date"
              type="date"
              value={v.start_date}
              onChange={set('start_date')}
            />
          )}
        </Field>
        <Field label="End date (UTC)" error={errors.end_date}>
          {(field) => (
            <input {...field} name="end_date" type="date" value={v.end_date} onChange={set('end_date')} />
          )}
        </Field>
        <Field label="Timeframe" error={errors.timeframe}>
          {(field) => (
            <select {...field} value={v.timeframe} onChange={set('timeframe')}>
              {timeframes.map((tf) => (
                <option key={tf} value={tf}>
                  {tf}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Max decisions" error={errors.max_decisions} hint="each one runs the six agents">
          {(field) => (
            <input
              {...field}
              name="max_decisions"
              inputMode="numeric"
              value={v.max_decisions}
              onChange={set('max_decisions')}
            />
          )}
        </Field>
        <Field
          label="Decision interval (candles)"
          error={errors.decision_interval}
          hint="empty: spread evenly, every max(1, ⌊bars in range ÷ max decisions⌋)"
        >
          {(field) => (
            <input
              {...field}
              name="decision_interval"
              inputMode="numeric"
              placeholder="auto (spread evenly)"
              value={v.decision_interval}
              onChange={set('decision_interval')}
            />
          )}
        </Field>
        <Field
          label="Decision mode"
          error={errors.decision_mode}
          hint="consensus: the analysts and researcher vote before the trader is called"
        >
          {(field) => (
            <select {...field} value={v.decision_mode ?? ''} onChange={set('decision_mode')}>
              <option value="">server default</option>
              <option value="pipeline">pipeline</option>
              <option value="consensus">consensus vote</option>
            </select>
          )}
        </Field>
        <div className="form-actions">
          <button type="submit" className="btn primary" disabled={submitting} data-testid="start-backtest">
            {submitting ? 'Starting…' : 'Start backtest'}
          </button>
          {errorCount > 0 && (
            <span className="field-error" role="alert" data-testid="form-errors">
              {errors.form ?? `Fix ${errorCount} field${errorCount > 1 ? 's' : ''} before starting.`}
            </span>
          )}
        </div>
      </form>
      {apiError && <ErrorNotice error={apiError} title="The backtest was not started" />}
      {estimate && <EstimateNote estimate={estimate} />}
    </Panel>
  );
}

interface FieldProps {
  id: string;
  'aria-describedby': string | undefined;
  'aria-invalid': boolean;
}

function Field({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error: string | undefined;
  hint?: string;
  /** Renders the control, spreading `field` (its id and ARIA links to the message) onto it. */
  children: (field: FieldProps) => ReactNode;
}) {
  const id = useId();
  const msgId = `${id}-msg`;
  return (
    <div className={`field ${error ? 'invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-describedby': error || hint ? msgId : undefined, 'aria-invalid': !!error })}
      {error ? (
        <span id={msgId} className="field-error">
          {error}
        </span>
      ) : hint ? (
        <span id={msgId} className="muted small">
          {hint}
        </span>
      ) : null}
    </div>
  );
}

export function EstimateNote({ estimate }: { estimate: CostEstimate }) {
  return (
    <div className="notice info small" data-testid="estimate">
      <div className="notice-title">Pre-flight estimate</div>
      <div>
        {fmtInt(estimate.decisions)} decisions × {estimate.callsPerDecision} calls ≈{' '}
        {fmtInt(estimate.tokensIn)} tokens in / {fmtInt(estimate.tokensOut)} out ≈{' '}
        <strong>{fmtCost(estimate.costUsd)}</strong>{' '}
        {estimate.provider === 'offline'
          ? '(offline provider: no charge)'
          : `(models ${estimate.models.cheap} / ${estimate.models.strong})`}
      </div>
      <div className="muted">{estimate.note}</div>
    </div>
  );
}

function BacktestList() {
  return (
    <Panel title="Past backtests">
      <Paged
        name="backtests"
        load={(api, cursor, signal) => api.backtests({ limit: PAGE_SIZE, cursor }, signal)}
        label="Loading backtests…"
        empty="No backtests yet. Start one above."
      >
        {(items) => (
          <DataTable
            testId="backtests-table"
            head={['Started', 'Symbol', 'Range', { num: 'Decisions' }, 'Status', { num: 'Estimate' }]}
          >
            {items.map((b) => (
              <tr key={b.id}>
                <td>
                  <Link to={`/backtests/${b.id}`}>{fmtTime(b.createdAt)}</Link>
                </td>
                <td className="mono">
                  {b.symbol} <span className="muted">{b.timeframe}</span>
                </td>
                <td>
                  {fmtDate(b.startDate)} → {fmtDate(b.endDate)}
                </td>
                <td className="num">
                  {fmtInt(b.progress.done)} / {fmtInt(b.progress.total)}
                </td>
                <td>
                  <StatusBadge status={b.status} />
                </td>
                <td className="num">{b.estimate ? fmtCost(b.estimate.costUsd) : '—'}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Paged>
    </Panel>
  );
}
