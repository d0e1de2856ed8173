/**
 * One study: progress per cell while it runs; then a heatmap of excess return over buy-and-hold (rows:
 * symbol and window, columns: variants and baselines), equity overlays per cell (strategy against
 * buy-and-hold), and the report table per sample group with its sentences. Flagged cells (failed
 * decisions) are marked and left out of the report's intervals.
 */
import { useParams } from 'react-router-dom';
import type { StudyDto } from '../../../shared/api/studies';
import { useApiClient } from '../api/context';
import { useApi } from '../api/use-api';
import { ActionButton } from '../components/ActionButton';
import { Async, DataTable, Panel, StatusBadge } from '../components/ui';
import { fmtCost, fmtDate, fmtFraction, fmtRatio } from '../format';

type Cell = StudyDto['cells'][number];

function heat(excess: number | null): string {
  if (excess === null) return 'transparent';
  const a = Math.min(1, Math.abs(excess) / 0.2);
  return excess >= 0 ? `rgba(22, 163, 74, ${0.15 + 0.6 * a})` : `rgba(220, 38, 38, ${0.15 + 0.6 * a})`;
}

function Spark({ curve }: { curve: Cell['curve'] }) {
  if (curve.length < 2) return null;
  const w = 120;
  const h = 36;
  const ys = curve.flatMap((p) => [p[1], p[2]]);
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  const x = (i: number) => (i / (curve.length - 1)) * w;
  const y = (v: number) => (hi === lo ? h / 2 : h - ((v - lo) / (hi - lo)) * h);
  const path = (k: 1 | 2) =>
    curve.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p[k]).toFixed(1)}`).join('');
  return (
    <svg width={w} height={h} role="img" aria-label="equity (solid) against buy-and-hold (dashed)">
      <path d={path(2)} fill="none" stroke="currentColor" strokeOpacity={0.5} strokeDasharray="3 2" />
      <path d={path(1)} fill="none" stroke="#2563eb" strokeWidth={1.5} />
    </svg>
  );
}

/** Rerun the failed and flagged cells (only their failed decisions), then report again. */
function ResumeStudy({ id, flagged, onResumed }: { id: string; flagged: number; onResumed: () => void }) {
  const api = useApiClient();
  return (
    <ActionButton
      label={`Resume: rerun the ${flagged} failed or flagged cell(s)`}
      busyLabel="Resuming…"
      testId="study-resume"
      run={() => api.resumeStudy(id)}
      onDone={onResumed}
    />
  );
}

export default function StudyView() {
  const { id = '' } = useParams();
  const api = useApiClient();
  const study = useApi(`study:${id}`, (a, signal) => a.study(id, signal), {
    pollMs: (s) => (s.status === 'succeeded' || s.status === 'failed' ? null : 3000),
  });
  return (
    <Async value={study}>
      {(s) => {
        const arms = [...new Set(s.cells.map((c) => c.label))];
        const rows = [
          ...new Set(s.cells.map((c) => `${c.symbol} ${fmtDate(c.windowStart)} – ${fmtDate(c.windowEnd)}`)),
        ];
        const at = (row: string, arm: string) =>
          s.cells.find(
            (c) =>
              `${c.symbol} ${fmtDate(c.windowStart)} – ${fmtDate(c.windowEnd)}` === row && c.label === arm,
          );
        return (
          <div className="stack">
            <div className="page-head">
              <h1>{s.name}</h1>
              <StatusBadge status={s.status} />
              <span className="muted small" data-testid="study-progress">
                {s.progress.done}/{s.progress.total} cells
              </span>
            </div>
            {s.error && <p className="bad">{`${s.error.code}: ${s.error.message}`}</p>}
            {(s.status === 'succeeded' || s.status === 'failed') && s.cells.some((c) => c.flagged) && (
              <ResumeStudy
                id={s.id}
                flagged={s.cells.filter((c) => c.flagged).length}
                onResumed={study.reload}
              />
            )}
            <Panel title="Excess return over buy-and-hold">
              <DataTable head={['cell', ...arms]} compact testId="study-heatmap">
                {rows.map((row) => (
                  <tr key={row}>
                    <td>{row}</td>
                    {arms.map((arm) => {
                      const c = at(row, arm);
                      return (
                        <td
                          key={arm}
                          className="num"
                          style={{ background: heat(c?.excess ?? null) }}
                          title={c?.flagged ? 'flagged: failed decisions, left out of the report' : undefined}
                        >
                          {c
                            ? c.status === 'succeeded'
                              ? fmtFraction(c.excess, { signed: true })
                              : c.status
                            : ''}
                          {c?.flagged ? ' ⚑' : ''}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </DataTable>
            </Panel>
            <Panel title="Equity against buy-and-hold">
              <DataTable head={['cell', ...arms]} compact>
                {rows.map((row) => (
                  <tr key={row}>
                    <td>{row}</td>
                    {arms.map((arm) => (
                      <td key={arm}>
                        <Spark curve={at(row, arm)?.curve ?? []} />
                      </td>
                    ))}
                  </tr>
                ))}
              </DataTable>
            </Panel>
            {s.report?.groups.map((g) => (
              <Panel key={g.sample} title={`Report: ${g.sample.replace(/_/g, ' ')}`}>
                <DataTable
                  testId="study-report"
                  head={[
                    'arm',
                    { num: 'cells' },
                    { num: 'mean excess' },
                    '95% CI',
                    { num: 'median' },
                    { num: 'beat B&H' },
                    { num: 'Sharpe' },
                    { num: 'PSR' },
                    { num: 'DSR' },
                    { num: 'fees' },
                    { num: 'LLM' },
                  ]}
                >
                  {g.arms.map((a) => (
                    <tr key={a.arm}>
                      <td>{a.arm}</td>
                      <td className="num">
                        {a.completeCells}/{a.cells}
                      </td>
                      <td className="num">{fmtFraction(a.meanExcess, { signed: true })}</td>
                      <td>
                        {a.ci95
                          ? `[${fmtFraction(a.ci95.meanLow, { signed: true })}, ${fmtFraction(a.ci95.meanHigh, { signed: true })}]`
                          : '–'}
                      </td>
                      <td className="num">{fmtFraction(a.medianExcess, { signed: true })}</td>
                      <td className="num">{fmtFraction(a.shareBeatingBuyAndHold, { signed: false })}</td>
                      <td className="num">{fmtRatio(a.sharpeAnnualized)}</td>
                      <td className="num">{fmtRatio(a.psr)}</td>
                      <td className="num">{fmtRatio(a.dsr)}</td>
                      <td className="num">{a.feesPaid.toFixed(2)}</td>
                      <td className="num">{fmtCost(a.llmUsd)}</td>
                    </tr>
                  ))}
                </DataTable>
                <ul>
                  {g.arms.map((a) => (
                    <li key={a.arm}>{a.sentence}</li>
                  ))}
                </ul>
              </Panel>
            ))}
            <p className="small">
              <a href={`${api.baseUrl}/studies/${encodeURIComponent(s.id)}/cells.csv`} download>
                Download the cells (CSV)
              </a>
            </p>
          </div>
        );
      }}
    </Async>
  );
}
