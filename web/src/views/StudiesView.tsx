/**
 * Start a study and browse past ones. The form takes the POST /studies body as JSON (prefilled with an
 * example); the API answers 202 with the cell count and the pre-flight estimate, shown before the link
 * to the study's page. A too-large study is a 400 that says how large: shown as the API says it.
 */
import { type FormEvent, useId, useState } from 'react';
import { Link } from 'react-router-dom';
import { useApiClient } from '../api/context';
import { useApi } from '../api/use-api';
import { Async, DataTable, ErrorNotice, Panel, StatusBadge } from '../components/ui';
import { fmtCost, fmtInt, fmtTime } from '../format';

const EXAMPLE = {
  name: 'firm vs baselines',
  symbols: ['BTCUSDT', 'ETHUSDT'],
  windows: { start_date: '2025-01-01', end_date: '2025-07-01', window_days: 60, step_days: 60 },
  timeframe: '4h',
  max_decisions: 10,
  variants: [
    { label: 'plain', options: {} },
    { label: 'blind', options: { blind: true } },
  ],
  baselines: ['buy_and_hold', 'sma_crossover', 'random'],
  seed: 1,
};

type Accepted = Awaited<ReturnType<ReturnType<typeof useApiClient>['startStudy']>>;

export default function StudiesView() {
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Studies</h1>
        <span className="muted small">
          Many backtests as one experiment: does the firm beat simple baselines?
        </span>
      </div>
      <StudyForm />
      <StudyList />
    </div>
  );
}

function StudyForm() {
  const api = useApiClient();
  const id = useId();
  const [text, setText] = useState(JSON.stringify(EXAMPLE, null, 2));
  const [error, setError] = useState<Error | null>(null);
  const [accepted, setAccepted] = useState<Accepted | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setAccepted(null);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      setError(new Error(`The request is not JSON: ${(err as Error).message}`));
      return;
    }
    setBusy(true);
    try {
      setAccepted(await api.startStudy(body));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Panel title="New study">
      <form onSubmit={submit} className="stack">
        <label htmlFor={`${id}-req`}>Request (the POST /studies body)</label>
        <textarea
          id={`${id}-req`}
          rows={16}
          value={text}
          onChange={(e) => setText(e.target.value)}
          spellCheck={false}
          style={{ fontFamily: 'monospace', width: '100%' }}
        />
        <div>
          <button type="submit" disabled={busy}>
            {busy ? 'Starting…' : 'Start study'}
          </button>
        </div>
      </form>
      {error && <ErrorNotice error={error} />}
      {accepted && (
        <p data-testid="study-estimate">
          {fmtInt(accepted.cells)} cells ({fmtInt(accepted.variantCells)} backtests,{' '}
          {fmtInt(accepted.baselineCells)} baselines), {fmtInt(accepted.decisions)} decisions, estimate{' '}
          {fmtCost(accepted.estimate.costUsd)} ({accepted.estimate.provider}).{' '}
          <Link to={`/studies/${accepted.id}`}>Follow the study</Link>
        </p>
      )}
    </Panel>
  );
}

function StudyList() {
  const list = useApi('studies', (a, signal) => a.studies({ limit: 20 }, signal), { pollMs: () => 5000 });
  return (
    <Panel title="Studies">
      <Async value={list}>
        {(page) => (
          <DataTable head={['name', 'status', { num: 'cells' }, 'created']}>
            {page.items.map((s) => (
              <tr key={s.id}>
                <td>
                  <Link to={`/studies/${s.id}`}>{s.name}</Link>
                </td>
                <td>
                  <StatusBadge status={s.status} />
                </td>
                <td className="num">
                  {s.progress.done}/{s.progress.total}
                </td>
                <td>{fmtTime(s.createdAt)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Async>
    </Panel>
  );
}
