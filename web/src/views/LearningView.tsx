/**
 * The learning loop: start a cycle, read the cycles (their summary, the patterns with the trades behind
 * them, the proposals and their fate, the cost), review pending proposals (Approve / Reject; a stale one
 * is refused by the API with a 409, shown as it says), and the strategy version history: what each
 * version changed and why, who applied it, and its results since (closed trades whose entry ran under it).
 */
import { useState } from 'react';
import type { AdjustmentDto, CycleDto } from '../../../shared/api/learning';
import { useApiClient } from '../api/context';
import { useApi } from '../api/use-api';
import { Async, Badge, DataTable, Empty, ErrorNotice, Panel, StatusBadge } from '../components/ui';
import { fmtCost, fmtFraction, fmtInt, fmtPct, fmtTime } from '../format';

export default function LearningView() {
  const [generation, setGeneration] = useState(0);
  const changed = () => setGeneration((g) => g + 1);
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Learning</h1>
        <span className="muted small">
          Cycles read the closed trades, name what won and lost, and propose strategy changes. Only LOW-risk,
          HIGH-priority, confident changes apply themselves, and only with SELF_LEARNING_ENABLED; the rest
          wait for you here.
        </span>
      </div>
      <Proposals generation={generation} onChange={changed} />
      <Cycles generation={generation} onChange={changed} />
      <Versions generation={generation} />
    </div>
  );
}

export function changeText(a: Pick<AdjustmentDto, 'kind' | 'parameter' | 'agent' | 'oldValue' | 'newValue'>) {
  if (a.kind === 'lesson') return `lesson for the ${a.agent}: “${String(a.newValue)}”`;
  return `${a.parameter}: ${JSON.stringify(a.oldValue)} → ${JSON.stringify(a.newValue)}`;
}

function Proposals({ generation, onChange }: { generation: number; onChange: () => void }) {
  const api = useApiClient();
  const pending = useApi(`adjustments-pending-${generation}`, (a, signal) =>
    a.adjustments({ status: 'pending' }, signal),
  );
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const review = async (id: string, action: 'approve' | 'reject') => {
    setError(null);
    setBusy(id);
    try {
      await api.reviewAdjustment(id, action);
      onChange();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(null);
    }
  };
  return (
    <Panel title="Waiting for review" testId="learning-pending">
      {error && <ErrorNotice error={error} title="The review was refused" />}
      <Async value={pending}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No proposal waits for review.</Empty>
          ) : (
            <DataTable
              head={['change', { num: 'confidence' }, 'risk', 'priority', { num: 'evidence' }, 'why', '']}
            >
              {page.items.map((p) => (
                <tr key={p.id}>
                  <td>{changeText(p)}</td>
                  <td className="num">{fmtInt(p.confidence)}</td>
                  <td>{p.riskLevel}</td>
                  <td>{p.priority}</td>
                  <td className="num">{fmtInt(p.evidence)}</td>
                  <td className="small">
                    {p.reasoning}
                    {p.patterns.length > 0 && <div className="muted">rests on: {p.patterns.join(', ')}</div>}
                  </td>
                  <td>
                    <button type="button" disabled={busy !== null} onClick={() => review(p.id, 'approve')}>
                      Approve
                    </button>{' '}
                    <button type="button" disabled={busy !== null} onClick={() => review(p.id, 'reject')}>
                      Reject
                    </button>
                  </td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </Async>
    </Panel>
  );
}

function Cycles({ generation, onChange }: { generation: number; onChange: () => void }) {
  const api = useApiClient();
  const list = useApi(`learning-cycles-${generation}`, (a, signal) => a.learningCycles(signal), {
    pollMs: (v) => (v.items.some((c) => c.status === 'pending' || c.status === 'running') ? 1000 : null),
  });
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const start = async () => {
    setError(null);
    setBusy(true);
    try {
      const accepted = await api.startLearningCycle();
      setOpen(accepted.id);
      onChange();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Panel
      title="Cycles"
      testId="learning-cycles"
      actions={
        <button type="button" onClick={start} disabled={busy}>
          {busy ? 'Starting…' : 'Run a cycle now'}
        </button>
      }
    >
      {error && <ErrorNotice error={error} />}
      <Async value={list}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty>No learning cycle yet.</Empty>
          ) : (
            <DataTable head={['started', 'trigger', 'status', { num: 'trades read' }, { num: 'cost' }, '']}>
              {page.items.map((c) => (
                <tr key={c.id}>
                  <td>{fmtTime(c.createdAt)}</td>
                  <td>{c.trigger}</td>
                  <td>
                    <StatusBadge status={c.status} />
                    {c.error && <div className="small muted">{c.error.message}</div>}
                  </td>
                  <td className="num">{c.trades === null ? '—' : fmtInt(c.trades)}</td>
                  <td className="num">{fmtCost(c.cost.costUsd)}</td>
                  <td>
                    <button type="button" onClick={() => setOpen(open === c.id ? null : c.id)}>
                      {open === c.id ? 'Hide' : 'Details'}
                    </button>
                  </td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </Async>
      {open && <CycleDetail id={open} key={`${open}-${generation}`} />}
    </Panel>
  );
}

function CycleDetail({ id }: { id: string }) {
  const cycle = useApi(`learning-cycle-${id}`, (a, signal) => a.learningCycle(id, signal), {
    pollMs: (c) => (c.status === 'pending' || c.status === 'running' ? 1000 : null),
  });
  return (
    <div className="stack" data-testid="learning-cycle">
      <Async value={cycle}>{(c) => <CycleBody cycle={c} />}</Async>
    </div>
  );
}

function CycleBody({ cycle }: { cycle: CycleDto }) {
  const overall = (
    cycle.summary as { overall?: { winRate?: number | null; meanPnlPct?: number | null } } | null
  )?.overall;
  return (
    <>
      <h3>
        Cycle of {fmtTime(cycle.asOf)} <StatusBadge status={cycle.status} />
      </h3>
      <p className="small muted">
        Read the outcomes closed from {fmtTime(cycle.lookbackFrom)} to before {fmtTime(cycle.asOf)}:{' '}
        {cycle.trades === null ? 'not yet' : `${fmtInt(cycle.trades)} trades`}
        {overall
          ? `, win rate ${fmtFraction(overall.winRate ?? null, { signed: false })}, mean ${fmtPct(overall.meanPnlPct ?? null)}`
          : ''}
        . Tokens {fmtInt(cycle.cost.tokensIn)} in / {fmtInt(cycle.cost.tokensOut)} out,{' '}
        {fmtCost(cycle.cost.costUsd)}.
        {Object.values(cycle.agents).some((a) => a.provider === 'offline') && ' Agents: the offline rules.'}
      </p>
      <h4>Patterns</h4>
      {cycle.patterns.length === 0 ? (
        <Empty>No pattern.</Empty>
      ) : (
        <DataTable
          head={['pattern', 'bucket', { num: 'evidence' }, { num: 'win rate' }, { num: 'mean PnL' }, 'note']}
          compact
        >
          {cycle.patterns.map((p) => (
            <tr key={p.name}>
              <td>
                <Badge kind={p.kind === 'winning' ? 'good' : 'bad'}>{p.kind}</Badge> {p.name}
              </td>
              <td>
                {p.dimension} {p.bucket}
              </td>
              <td className="num">{fmtInt(p.evidence)} trades</td>
              <td className="num">{fmtFraction(p.win_rate, { signed: false })}</td>
              <td className="num">{fmtPct(p.mean_pnl_pct)}</td>
              <td className="small">{p.note}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <h4>Proposals</h4>
      {cycle.proposals.length === 0 ? (
        <Empty>No proposal.</Empty>
      ) : (
        <DataTable head={['change', 'status', { num: 'confidence' }, 'risk', 'priority', 'why']} compact>
          {cycle.proposals.map((p) => (
            <tr key={p.id}>
              <td>{changeText(p)}</td>
              <td>
                <StatusBadge status={p.status} />
              </td>
              <td className="num">{fmtInt(p.confidence)}</td>
              <td>{p.riskLevel}</td>
              <td>{p.priority}</td>
              <td className="small">{p.invalidReason ?? p.reasoning}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </>
  );
}

function Versions({ generation }: { generation: number }) {
  const versions = useApi(`strategy-versions-${generation}`, (a, signal) => a.strategyVersions(signal));
  return (
    <Panel title="Strategy versions" testId="strategy-versions">
      <Async value={versions}>
        {(page) => (
          <DataTable
            head={[
              'version',
              'in force from',
              'applied by',
              'change',
              'why',
              { num: 'trades since' },
              { num: 'win rate' },
              { num: 'mean PnL' },
            ]}
          >
            {[...page.items].reverse().map((v) => (
              <tr key={v.id}>
                <td>{v.seq}</td>
                <td>{fmtTime(v.effectiveAt)}</td>
                <td>{v.appliedBy}</td>
                <td>
                  {v.change
                    ? `${v.change.parameter}: ${JSON.stringify(v.change.from)} → ${JSON.stringify(v.change.to)}`
                    : '—'}
                </td>
                <td className="small">{v.reason ?? ''}</td>
                <td className="num">{fmtInt(v.results.trades)}</td>
                <td className="num">{fmtFraction(v.results.winRate, { signed: false })}</td>
                <td className="num">{fmtPct(v.results.meanPnlPct)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Async>
    </Panel>
  );
}
