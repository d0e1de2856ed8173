/**
 * What the agents cost today (UTC day): tokens (and dollars, when DAILY_USD_BUDGET is set) against the
 * daily budgets, by agent and by model, what the response cache saved, the last 30 days as a chart by
 * agent, and the dated price table the USD figures come from.
 */
import type { CostsDto } from '../../../shared/api/contract';
import { useApi } from '../api/use-api';
import { OFFLINE_LABEL } from '../components/AgentCard';
import { DailySpendChart } from '../components/DailySpend';
import { Async, Badge, DataTable, Empty, Panel, Stat } from '../components/ui';
import { fmtCost, fmtDate, fmtInt, fmtUsd } from '../format';

const DAILY_DAYS = 30;

export default function CostsView() {
  const costs = useApi('costs', (api, signal) => api.costs(signal));
  const daily = useApi(`costs-daily:${DAILY_DAYS}`, (api, signal) => api.dailyCosts(DAILY_DAYS, signal));
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Costs</h1>
        <button type="button" className="btn small ghost" onClick={costs.reload}>
          Refresh
        </button>
      </div>
      <Async value={costs} label="Loading costs…">
        {(c) => <CostsBody c={c} />}
      </Async>
      <Panel title={`Last ${DAILY_DAYS} days by agent (UTC)`}>
        <Async value={daily} label="Loading daily spend…">
          {(d) => <DailySpendChart d={d} />}
        </Async>
      </Panel>
    </div>
  );
}

function UsdBudget({ u }: { u: NonNullable<CostsDto['usdBudget']> }) {
  const usedPct = u.usd > 0 ? Math.min(100, (u.used / u.usd) * 100) : 0;
  const reservedPct = u.usd > 0 ? Math.min(100 - usedPct, (u.reserved / u.usd) * 100) : 0;
  return (
    <Panel title="Daily dollar budget" testId="usd-budget">
      {/* biome-ignore lint/a11y/useSemanticElements: two stacked segments (spent, reserved) that <meter> cannot draw */}
      <div
        className="budget-bar"
        role="meter"
        aria-label="Dollars spent today"
        aria-valuemin={0}
        aria-valuemax={u.usd}
        aria-valuenow={u.used}
      >
        <div className="budget-used" style={{ width: `${usedPct}%` }} />
        <div className="budget-reserved" style={{ width: `${reservedPct}%` }} />
      </div>
      <div className="budget-legend small">
        <span>
          <span className="swatch used" /> spent {fmtCost(u.used)}
        </span>
        <span>
          <span className="swatch reserved" /> reserved at worst-case prices {fmtCost(u.reserved)}
        </span>
        <span>remaining {fmtCost(u.remaining)}</span>
        <span className="num">
          {usedPct.toFixed(1)}% of {fmtUsd(u.usd)}
        </span>
      </div>
    </Panel>
  );
}

function CostsBody({ c }: { c: CostsDto }) {
  const b = c.budget;
  const usedPct = b.tokens > 0 ? Math.min(100, (b.used / b.tokens) * 100) : 0;
  const reservedPct = b.tokens > 0 ? Math.min(100 - usedPct, (b.reserved / b.tokens) * 100) : 0;
  return (
    <>
      <div className="subhead">
        <span>UTC day {c.day}</span>
        {c.provider === 'offline' ? (
          <Badge kind="warn">{OFFLINE_LABEL}: tokens are what the prompts would use; no charge</Badge>
        ) : (
          <Badge kind="info">OpenAI-compatible provider</Badge>
        )}
      </div>
      <Panel title="Daily token budget" testId="budget">
        {/* biome-ignore lint/a11y/useSemanticElements: two stacked segments (used, reserved) that <meter> cannot draw */}
        <div
          className="budget-bar"
          role="meter"
          aria-label="Tokens used today"
          aria-valuemin={0}
          aria-valuemax={b.tokens}
          aria-valuenow={b.used}
        >
          <div className="budget-used" style={{ width: `${usedPct}%` }} />
          <div className="budget-reserved" style={{ width: `${reservedPct}%` }} />
        </div>
        <div className="budget-legend small">
          <span>
            <span className="swatch used" /> used {fmtInt(b.used)}
          </span>
          <span>
            <span className="swatch reserved" /> reserved by calls in flight {fmtInt(b.reserved)}
          </span>
          <span>remaining {fmtInt(b.remaining)}</span>
          <span className="num">
            {usedPct.toFixed(1)}% of {fmtInt(b.tokens)}
          </span>
        </div>
        {c.provider === 'offline' && (
          <div className="muted small">
            The offline rules provider calls no model, so it does not draw on the budget; the tables below
            still count the tokens its prompts would use.
          </div>
        )}
        {b.refusedCalls > 0 && (
          <div className="notice warn small">
            {fmtInt(b.refusedCalls)} call(s) refused today because the budget was spent (shown as "budget
            exceeded" on their analyses).
          </div>
        )}
      </Panel>
      {c.usdBudget && <UsdBudget u={c.usdBudget} />}
      <div className="stats">
        <Stat label="Spend today" value={fmtCost(c.costUsd)} />
        <Stat label="Calls" value={fmtInt(c.byAgent.reduce((s, a) => s + a.calls, 0))} />
        <Stat
          label="Cache hits"
          value={fmtInt(c.cache.hits)}
          sub={`${fmtInt(c.cache.tokensSaved)} tokens saved`}
        />
        <Stat
          label="Cache saved"
          value={fmtCost(c.cache.usdSaved)}
          tone={c.cache.usdSaved > 0 ? 'up' : 'flat'}
        />
      </div>
      <div className="split">
        <Panel title="By agent">
          {c.byAgent.length === 0 ? (
            <Empty>No calls today.</Empty>
          ) : (
            <DataTable
              testId="costs-by-agent"
              head={[
                'Agent',
                'Tier',
                'Model',
                { num: 'Calls' },
                { num: 'Cached' },
                { num: 'Tokens in' },
                { num: 'Tokens out' },
                { num: 'Cost' },
              ]}
            >
              {c.byAgent.map((a) => (
                <tr key={`${a.agent}:${a.model}`}>
                  <td>{a.agent}</td>
                  <td>{a.tier}</td>
                  <td className="mono small">{a.model}</td>
                  <td className="num">{fmtInt(a.calls)}</td>
                  <td className="num">{fmtInt(a.cacheHits)}</td>
                  <td className="num">{fmtInt(a.tokensIn)}</td>
                  <td className="num">{fmtInt(a.tokensOut)}</td>
                  <td className="num">{fmtCost(a.costUsd)}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </Panel>
        <Panel title="By model">
          {c.byModel.length === 0 ? (
            <Empty>No calls today.</Empty>
          ) : (
            <DataTable
              head={['Model', { num: 'Calls' }, { num: 'Tokens in' }, { num: 'Tokens out' }, { num: 'Cost' }]}
            >
              {c.byModel.map((m) => (
                <tr key={m.model}>
                  <td className="mono small">{m.model}</td>
                  <td className="num">{fmtInt(m.calls)}</td>
                  <td className="num">{fmtInt(m.tokensIn)}</td>
                  <td className="num">{fmtInt(m.tokensOut)}</td>
                  <td className="num">{fmtCost(m.costUsd)}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </Panel>
      </div>
      <Panel title="Price table">
        {c.prices.length === 0 ? (
          <Empty>No prices configured.</Empty>
        ) : (
          <DataTable
            testId="price-table"
            head={['Model', { num: 'Input per 1M tokens' }, { num: 'Output per 1M tokens' }, 'Prices as of']}
          >
            {c.prices.map((p) => (
              <tr key={p.model}>
                <td className="mono small">{p.model}</td>
                <td className="num">{fmtUsd(p.inputPerMTok)}</td>
                <td className="num">{fmtUsd(p.outputPerMTok)}</td>
                <td>{fmtDate(p.asOf)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Panel>
    </>
  );
}
