/**
 * The analysis pipeline as a stepper: analysts (in parallel) -> researcher -> trader -> risk manager ->
 * final decision. While a run is in flight the API gives no per-stage progress (it answers when done,
 * or 202 and a record to poll), so the stepper says so and animates as a whole instead of inventing
 * per-step progress. Once the analysis exists, each agent shows its real status.
 */
import { AGENT_LABEL, type AgentName, ANALYSTS } from '../../../shared/agents/schemas';
import type { AnalysisDto } from '../../../shared/api/contract';
import { agentStatusText, statusKind } from './ui';

const STAGES: { name: string; agents: AgentName[] }[] = [
  { name: 'Analysts', agents: [...ANALYSTS] },
  { name: 'Researcher', agents: ['researcher'] },
  { name: 'Trader', agents: ['trader'] },
  { name: 'Risk', agents: ['risk'] },
];

export function PipelineStepper({
  agents,
  running,
  final,
}: {
  agents?: AnalysisDto['agents'];
  running: boolean;
  final?: AnalysisDto['final'];
}) {
  return (
    <ol className={`pipeline ${running ? 'running' : ''}`} aria-label="Analysis pipeline" aria-busy={running}>
      {STAGES.map((stage) => (
        <li key={stage.name} className="pipeline-stage">
          <div className="pipeline-stage-name">{stage.name}</div>
          {stage.agents.map((a) => {
            const r = agents?.[a];
            const kind = r ? statusKind(r.status) : running ? 'info' : 'muted';
            return (
              <div key={a} className={`pipeline-agent ${kind}`} data-agent={a}>
                <span className="dot" aria-hidden="true" />
                <span>{AGENT_LABEL[a].replace(' analyst', '')}</span>
                <span className="pipeline-status">
                  {r ? agentStatusText(r.status) : running ? 'working…' : agents ? 'not run' : 'waiting'}
                </span>
              </div>
            );
          })}
        </li>
      ))}
      <li className="pipeline-stage">
        <div className="pipeline-stage-name">Decision</div>
        <div className={`pipeline-agent ${final ? 'good' : running ? 'info' : 'muted'}`}>
          <span className="dot" aria-hidden="true" />
          <span>
            {final ? `${final.action}${final.action === 'HOLD' ? '' : ` ${final.sizePct}%`}` : 'Final'}
          </span>
          <span className="pipeline-status">
            {final ? (final.gated ? 'gated' : 'decided') : running ? '…' : '—'}
          </span>
        </div>
      </li>
    </ol>
  );
}
