/**
 * One agent's part in a decision: its status (failure is a value and is shown as such, with why), its
 * structured output field by field, and what it cost (tokens, USD, latency, model tier).
 */
import type { ReactNode } from 'react';
import {
  AGENT_LABEL,
  AGENT_OUTPUT_SCHEMAS,
  type AgentName,
  type AgentResult,
  type AgentStatus,
} from '../../../shared/agents/schemas';
import { fmtCost, fmtInt, fmtMs, humanize } from '../format';
import { Badge, StatusBadge } from './ui';

/** What each non-ok status means, in the product's own terms (see shared/agents/schemas.ts). */
const STATUS_MEANING: Record<Exclude<AgentStatus, 'ok'>, string> = {
  abstained:
    'The answer stayed invalid after one repair attempt, so the agent abstained. No output is invented.',
  unavailable: 'This analyst failed (error, timeout or no data); the pipeline went on without it.',
  error: 'This step failed, so the decision is no trade.',
  budget_exceeded: 'The daily budget (tokens or dollars) refused this call. Nothing was sent to the model.',
  gated: "Not called: the researcher's confidence was under the threshold, so the decision is HOLD.",
  skipped: 'Not called, because an earlier step did not complete.',
};

export const OFFLINE_LABEL = 'Offline provider (rules, no model)';
/** For tight table cells; the full label is the cell's title. */
export const OFFLINE_SHORT = 'offline rules';

const POSITIVE = new Set(['bullish', 'rising', 'oversold', 'bull', 'low', 'BUY', 'APPROVE']);
const NEGATIVE = new Set(['bearish', 'falling', 'overbought', 'bear', 'high', 'SELL', 'REJECT']);

function valueTone(v: string): string {
  return POSITIVE.has(v) ? 'up' : NEGATIVE.has(v) ? 'down' : '';
}

/** Fields on a 0..1 scale shown as percent; fields already in percent get a % sign. */
const UNIT_FRACTION = new Set(['confidence', 'signal_strength']);

function formatNumberField(key: string, v: number): string {
  if (UNIT_FRACTION.has(key)) return `${(v * 100).toFixed(0)}%`;
  if (key.endsWith('_pct')) return `${v}%`;
  if (key === 'score') return (v > 0 ? '+' : '') + v.toFixed(2);
  return String(v);
}

/**
 * Fields in the order the agent's schema declares them (the database's JSON may reorder keys);
 * fields the schema does not know come last.
 */
export function OutputFields({
  output,
  order = [],
}: {
  output: Record<string, unknown>;
  order?: readonly string[];
}) {
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  const entries = Object.entries(output).sort(([a], [b]) => rank(a) - rank(b));
  // Prose (anything with a space) gets its own block; enums, numbers and nulls go in the compact grid.
  const isProse = (v: unknown): v is string => typeof v === 'string' && v.includes(' ');
  const scalars = entries.filter(([, v]) => !Array.isArray(v) && !isProse(v));
  const texts = entries.filter(([, v]) => isProse(v)) as [string, string][];
  const lists = entries.filter(([, v]) => Array.isArray(v)) as [string, unknown[]][];
  return (
    <div className="output">
      {scalars.length > 0 && (
        <dl className="kv">
          {scalars.map(([k, v]) => (
            <div key={k}>
              <dt>{humanize(k)}</dt>
              <dd className={typeof v === 'string' ? valueTone(v) : 'num'}>
                {v === null ? '—' : typeof v === 'number' ? formatNumberField(k, v) : String(v)}
              </dd>
            </div>
          ))}
        </dl>
      )}
      {texts.map(([k, v]) => (
        <div key={k} className="output-text">
          <div className="label">{humanize(k)}</div>
          <p>{v}</p>
        </div>
      ))}
      {lists.map(([k, items]) => (
        <div key={k} className="output-list">
          <div className="label">{humanize(k)}</div>
          {items.length === 0 ? (
            <div className="muted small">none</div>
          ) : (
            <ul>
              {items.map((item, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the model's list order is the identity
                <li key={i}>{String(item)}</li>
              ))}
            </ul>
          )}
        </div>
      ))}
    </div>
  );
}

export function AgentCard({
  name,
  result,
  extra,
}: {
  name: AgentName;
  result: AgentResult | null;
  /** Extra content under the output (the risk card shows the hard-limit clamps). */
  extra?: ReactNode;
}) {
  return (
    <article className="panel agent-card" data-testid={`agent-${name}`} aria-label={AGENT_LABEL[name]}>
      <header className="panel-head">
        <h3>{AGENT_LABEL[name]}</h3>
        {result ? <StatusBadge status={result.status} /> : <Badge kind="muted">Not run</Badge>}
      </header>
      {!result && <p className="muted small">This agent has no record for this decision (yet).</p>}
      {result && result.status !== 'ok' && (
        <div
          className={`notice ${result.status === 'gated' || result.status === 'skipped' ? 'info' : 'warn'} small`}
        >
          <div>{STATUS_MEANING[result.status]}</div>
          {result.reason && <div className="mono">Why: {result.reason}</div>}
        </div>
      )}
      {result?.output && (
        <OutputFields output={result.output} order={Object.keys(AGENT_OUTPUT_SCHEMAS[name].shape)} />
      )}
      {result?.status === 'ok' && result.repaired && (
        <div className="muted small">The first answer failed validation; this is the repaired answer.</div>
      )}
      {extra}
      {result && (
        <footer className="agent-meta small">
          <span title="Model tier">{result.tier} tier</span>
          <span className="mono" title="Model">
            {result.provider === 'offline' ? OFFLINE_LABEL : result.model}
          </span>
          <span className="num" title="Tokens in / out">
            {fmtInt(result.tokensIn)} in / {fmtInt(result.tokensOut)} out
          </span>
          <span className="num" title="Cost">
            {fmtCost(result.costUsd)}
          </span>
          <span className="num" title="Latency">
            {fmtMs(result.latencyMs)}
          </span>
          {result.cacheHit && <Badge kind="info">cache hit</Badge>}
          {result.retries > 0 && (
            <span title="Retries">
              {result.retries} retr{result.retries === 1 ? 'y' : 'ies'}
            </span>
          )}
        </footer>
      )}
    </article>
  );
}
