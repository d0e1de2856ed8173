/**
 * The consensus vote of a decision made in consensus mode: each voter's vote and confidence, who did
 * not vote and why, the tally against MIN_AGREEMENT, and the outcome (the trader called, or HOLD with
 * reason no_consensus).
 */
import { AGENT_LABEL } from '../../../shared/agents/schemas';
import type { AnalysisDto } from '../../../shared/api/contract';
import { ActionTag, Badge, Panel, StatusBadge } from './ui';

export function ConsensusPanel({ a }: { a: Pick<AnalysisDto, 'decisionMode' | 'consensus'> }) {
  if (a.decisionMode !== 'consensus') return null;
  const c = a.consensus;
  return (
    <Panel title="Consensus vote" testId="consensus">
      {!c ? (
        <p className="muted">
          No vote was taken yet (the votes are counted once the researcher has answered).
        </p>
      ) : (
        <>
          <div className="final-line">
            {c.reached ? (
              <>
                <ActionTag action={c.agreed} /> <Badge kind="good">consensus reached</Badge>
              </>
            ) : (
              <Badge kind="warn">no consensus: trader and risk manager not called</Badge>
            )}
          </div>
          <p className="small">
            BUY {c.tally.BUY} · SELL {c.tally.SELL} · HOLD {c.tally.HOLD} — {c.voted} of {c.voters.length}{' '}
            voted; {c.minAgreement} must agree on BUY or SELL.
          </p>
          <table className="table">
            <thead>
              <tr>
                <th>Voter</th>
                <th>Vote</th>
                <th className="num">Confidence</th>
              </tr>
            </thead>
            <tbody>
              {c.votes.map((v) => (
                <tr key={v.voter}>
                  <td>{AGENT_LABEL[v.voter]}</td>
                  <td>
                    <ActionTag action={v.vote} />
                  </td>
                  <td className="num">{v.confidence.toFixed(2)}</td>
                </tr>
              ))}
              {c.absent.map((v) => (
                <tr key={v.voter}>
                  <td>{AGENT_LABEL[v.voter]}</td>
                  <td>
                    did not vote <StatusBadge status={v.status} />
                  </td>
                  <td className="num">—</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Panel>
  );
}
