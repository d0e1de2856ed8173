/**
 * The prompt registry: every agent's prompt (its active version, the builtin one, the A/B test), one
 * agent's versions with their scores from the outcomes of the decisions that used them (the sample
 * size beside every rate), and a version's whole text. Read-only: versions are made by the learning loop
 * and by people (CLI `prompts add`).
 */
import { useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import type { AgentPromptsDto, PromptAgentDto, PromptVersionDto } from '../../../shared/api/prompts';
import { useApi } from '../api/use-api';
import { Async, Badge, DataTable, Empty, Panel } from '../components/ui';
import { fmtFraction, fmtInt, fmtPct, fmtTime, tone } from '../format';

const DEFAULT_AGENT = 'trader';

export default function PromptsView() {
  const { agent = DEFAULT_AGENT } = useParams();
  const agents = useApi('prompts', (api, signal) => api.prompts(signal));
  return (
    <div className="stack">
      <div className="page-head">
        <h1>Prompts</h1>
        <button type="button" className="btn small ghost" onClick={agents.reload}>
          Refresh
        </button>
      </div>
      <p className="muted small">
        Every prompt text an agent has had, versioned by a hash of the text. A decision records the version of
        each agent's prompt it used; a version's score counts the closed trades (outcomes) those decisions led
        to. Few outcomes say little: read the win rate with its sample size.
      </p>
      <Panel title="Agents">
        <Async value={agents} label="Loading agents…">
          {(a) => <AgentsTable agents={a.agents} selected={agent} />}
        </Async>
      </Panel>
      <AgentVersions key={agent} agent={agent} />
    </div>
  );
}

function AgentsTable({ agents, selected }: { agents: PromptAgentDto[]; selected: string }) {
  return (
    <DataTable
      head={['Agent', 'Active version', 'Builtin version', { num: 'Versions' }, 'A/B test']}
      testId="prompt-agents"
    >
      {agents.map((a) => (
        <tr key={a.agent} aria-current={a.agent === selected ? 'true' : undefined}>
          <td>
            <Link to={`/prompts/${a.agent}`}>{a.label}</Link>
            {!a.decisionAgent && <span className="muted small"> (learning loop)</span>}
          </td>
          <td className="mono">
            {a.activeVersion}
            {a.activeVersion !== a.builtinVersion && (
              <span className="muted small"> set by {a.activeSetBy}</span>
            )}
          </td>
          <td className="mono">{a.builtinVersion}</td>
          <td className="num">{fmtInt(a.versions)}</td>
          <td className="mono small">{a.abVersions.length ? a.abVersions.join(' vs ') : '—'}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function AgentVersions({ agent }: { agent: string }) {
  const versions = useApi(`prompts:${agent}`, (api, signal) => api.agentPrompts(agent, signal));
  const [shown, setShown] = useState<string | null>(null);
  return (
    <>
      <Async value={versions} label="Loading versions…">
        {(v) => <VersionsPanel v={v} shown={shown} onShow={setShown} />}
      </Async>
      {shown && <PromptText agent={agent} version={shown} />}
    </>
  );
}

function Score({ s }: { s: PromptVersionDto['scores']['all'] }) {
  if (s.count === 0) return <span className="muted">no outcomes yet</span>;
  return (
    <span>
      <span className="num">{fmtFraction(s.winRate, { signed: false, decimals: 1 })}</span> win,{' '}
      <span className={`num ${tone(s.meanPnlPct)}`}>{fmtPct(s.meanPnlPct)}</span> mean{' '}
      <span className="muted">(n = {fmtInt(s.count)})</span>
    </span>
  );
}

function VersionsPanel({
  v,
  shown,
  onShow,
}: {
  v: AgentPromptsDto;
  shown: string | null;
  onShow: (version: string) => void;
}) {
  return (
    <Panel title={`${v.agent.label}: prompt versions`} testId="prompt-versions">
      {v.versions.length === 0 ? (
        <Empty>No version registered.</Empty>
      ) : (
        <DataTable
          head={[
            'Version',
            'Origin',
            'Parent',
            'First seen',
            'In use',
            { num: 'Outcomes' },
            'Score (all books)',
            'Live',
            'Backtests',
            '',
          ]}
        >
          {v.versions.map((p) => (
            <tr key={p.version}>
              <td className="mono">
                {p.version}
                {p.label && <span className="muted small"> {p.label}</span>}
              </td>
              <td>
                <Badge kind={p.origin === 'builtin' ? 'muted' : p.origin === 'learning' ? 'info' : 'warn'}>
                  {p.origin}
                </Badge>
              </td>
              <td className="mono small">{p.parent ?? '—'}</td>
              <td className="small">{fmtTime(p.firstSeenAt)}</td>
              <td>
                {p.active && <Badge kind="good">active</Badge>} {p.inAbTest && <Badge kind="info">A/B</Badge>}
              </td>
              <td className="num">{fmtInt(p.scores.all.count)}</td>
              <td>
                <Score s={p.scores.all} />
              </td>
              <td className="small">
                <Score s={p.scores.live} />
              </td>
              <td className="small">
                <Score s={p.scores.backtest} />
              </td>
              <td>
                <button
                  type="button"
                  className="btn small ghost"
                  aria-pressed={shown === p.version}
                  onClick={() => onShow(p.version)}
                >
                  Text
                </button>
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </Panel>
  );
}

function PromptText({ agent, version }: { agent: string; version: string }) {
  const text = useApi(`prompt-text:${agent}:${version}`, (api, signal) =>
    api.promptText(agent, version, signal),
  );
  return (
    <Panel title={`Text of ${agent} ${version}`} testId="prompt-text">
      <Async value={text} label="Loading text…">
        {(t) => (
          <>
            <p className="muted small">
              {t.origin}
              {t.parent ? `, from ${t.parent}` : ''}
              {t.note ? ` (${t.note})` : ''}; {fmtInt(t.text.length)} characters. This is the whole system
              message the model reads; the agent's input follows as JSON.
            </p>
            <pre className="prompt-text">{t.text}</pre>
          </>
        )}
      </Async>
    </Panel>
  );
}
