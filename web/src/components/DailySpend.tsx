/**
 * The last N UTC days of model spend as a stacked bar chart by agent (dollars, or tokens when nothing
 * was billed, as with the offline provider), with the dollar budget drawn as a line when one is set,
 * and the same figures as a table for screen readers and for reading exact values.
 */
import { useState } from 'react';
import type { DailyCostsDto } from '../../../shared/api/contract';
import { fmtCost, fmtInt, fmtMs } from '../format';
import { DataTable, Empty } from './ui';

/** One colour per agent, in a fixed order (the six agents; others cycle). */
const AGENT_COLORS: Record<string, string> = {
  technical: '#4ea1ff',
  sentiment: '#2ec4a0',
  tokenomics: '#b48cff',
  researcher: '#f0b429',
  trader: '#ff8a65',
  risk: '#ff6b6b',
};
const FALLBACK_COLORS = ['#6cb6ff', '#93a1b3', '#e3e9f1'];
export const agentColor = (agent: string, i: number) =>
  AGENT_COLORS[agent] ?? FALLBACK_COLORS[i % FALLBACK_COLORS.length]!;

type Metric = 'usd' | 'tokens';

export function DailySpendChart({ d }: { d: DailyCostsDto }) {
  const billed = d.series.some((s) => s.costUsd > 0);
  const [metric, setMetric] = useState<Metric>(billed || d.usdBudget !== null ? 'usd' : 'tokens');
  const value = (a: { costUsd: number; tokensIn: number; tokensOut: number }) =>
    metric === 'usd' ? a.costUsd : a.tokensIn + a.tokensOut;
  const totals = d.series.map((s) => s.byAgent.reduce((n, a) => n + value(a), 0));
  const budgets = d.series.map((s) => (metric === 'usd' ? s.usdBudget : null));
  const max = Math.max(...totals, ...budgets.map((b) => b ?? 0), metric === 'usd' ? 1e-6 : 1);
  const fmt = (x: number) => (metric === 'usd' ? fmtCost(x) : fmtInt(x));
  const active = d.series.filter((s) => s.calls > 0 || s.byAgent.length > 0);
  return (
    <div data-testid="daily-spend">
      <div className="budget-legend small">
        <span>
          <label>
            Show{' '}
            <select value={metric} onChange={(e) => setMetric(e.target.value as Metric)} aria-label="Metric">
              <option value="usd">dollars</option>
              <option value="tokens">tokens</option>
            </select>
          </label>
        </span>
        {d.agents.map((a, i) => (
          <span key={a}>
            <span className="swatch" style={{ background: agentColor(a, i) }} /> {a}
          </span>
        ))}
        {metric === 'usd' && d.usdBudget !== null && (
          <span>
            <span className="swatch budget-line-swatch" /> dollar budget ({fmtCost(d.usdBudget)} a day)
          </span>
        )}
        <span className="num">peak {fmt(Math.max(...totals, 0))} a day</span>
      </div>
      <div
        className="daily-chart"
        role="img"
        aria-label={`${metric === 'usd' ? 'Dollars' : 'Tokens'} per UTC day by agent, last ${d.days} days`}
      >
        {d.series.map((s, i) => (
          <div key={s.day} className="daily-col" title={`${s.day}: ${fmt(totals[i]!)}`}>
            <div className="daily-stack">
              {budgets[i] !== null && budgets[i] !== undefined && (
                <div className="daily-budget" style={{ bottom: `${(budgets[i]! / max) * 100}%` }} />
              )}
              {s.byAgent.map((a) => (
                <div
                  key={a.agent}
                  className="daily-seg"
                  style={{
                    height: `${(value(a) / max) * 100}%`,
                    background: agentColor(a.agent, d.agents.indexOf(a.agent)),
                  }}
                />
              ))}
            </div>
            <div className="daily-label small muted">
              {i % 5 === 0 || i === d.series.length - 1 ? s.day.slice(5) : ''}
            </div>
          </div>
        ))}
      </div>
      {active.length === 0 ? (
        <Empty>No model calls in the last {d.days} days.</Empty>
      ) : (
        <details>
          <summary className="small">Per day and agent (calls, tokens, dollars, latency, errors)</summary>
          <DataTable
            testId="daily-table"
            head={[
              'Day',
              'Agent',
              { num: 'Calls' },
              { num: 'Tokens in' },
              { num: 'Tokens out' },
              { num: 'Cost' },
              { num: 'Mean latency' },
              { num: 'p95 latency' },
              { num: 'Errors' },
              { num: 'Abstained' },
              { num: 'Cache hits' },
              { num: 'Refused' },
            ]}
          >
            {active.flatMap((s) =>
              s.byAgent.map((a) => (
                <tr key={`${s.day}:${a.agent}`}>
                  <td className="nowrap">{s.day}</td>
                  <td>{a.agent}</td>
                  <td className="num">{fmtInt(a.calls)}</td>
                  <td className="num">{fmtInt(a.tokensIn)}</td>
                  <td className="num">{fmtInt(a.tokensOut)}</td>
                  <td className="num">{fmtCost(a.costUsd)}</td>
                  <td className="num">{a.latencyMeanMs === null ? '—' : fmtMs(a.latencyMeanMs)}</td>
                  <td className="num">{a.latencyP95Ms === null ? '—' : fmtMs(a.latencyP95Ms)}</td>
                  <td className="num">{fmtInt(a.errors)}</td>
                  <td className="num">{fmtInt(a.abstentions)}</td>
                  <td className="num">{fmtInt(a.cacheHits)}</td>
                  <td className="num">{fmtInt(a.refused)}</td>
                </tr>
              )),
            )}
          </DataTable>
        </details>
      )}
    </div>
  );
}
