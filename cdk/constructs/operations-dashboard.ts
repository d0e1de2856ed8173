/**
 * The operations dashboard: what the firm spends, how often its agents are called, what fails and how
 * long things take, per agent, from the metrics the core emits through Powertools Metrics
 * (shared/observability/metrics.ts for the names, functions/aws/observability.ts for the dimensions)
 * under the stack's metric namespace, plus each function's errors and duration.
 *
 * The agent metrics carry the dimensions service, agent and model; the models are settings read at run
 * time (SSM), so the per-agent graphs are CloudWatch SEARCH expressions over that dimension set rather
 * than metrics fixed at synth: a new model shows up without a deploy.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC } from '../../shared/observability/metrics';
import type { AppFunction } from './app-function';

const PERIOD = Duration.hours(1);
const WIDTH = 12;
const HEIGHT = 6;

export interface OperationsDashboardProps {
  namespace: string;
  functions: AppFunction[];
  stateMachines: sfn.StateMachine[];
}

export class OperationsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const ns = props.namespace;
    /** One line per agent (and model): a SEARCH over the agent metrics' dimension set. */
    const perAgent = (metric: string, stat: string, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${ns},agent,model,service} MetricName="${metric}"', '${stat}', ${PERIOD.toSeconds()})`,
        label,
        period: PERIOD,
        usingMetrics: {},
      });
    const graph = (title: string, left: cloudwatch.IMetric[], leftLabel?: string) =>
      new cloudwatch.GraphWidget({
        title,
        left,
        width: WIDTH,
        height: HEIGHT,
        ...(leftLabel ? { leftYAxis: { label: leftLabel, showUnits: false } } : {}),
      });
    const byStatus = (metric: string, dims: string, stat: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${ns},${dims}} MetricName="${metric}"', '${stat}', ${PERIOD.toSeconds()})`,
        label: metric,
        period: PERIOD,
        usingMetrics: {},
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-operations`,
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Agent trading firm: operations\nMetrics namespace **${ns}** (Powertools Metrics, embedded metric format; dimensions service, agent, model). Spend is the LLM cost in USD from the dated price table; latency is each agent call's wall time.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Spend per agent (USD per hour)', [perAgent(METRIC.costUsd, 'Sum', 'USD')], 'USD'),
      graph('Model calls per agent (per hour)', [perAgent(METRIC.modelCalls, 'Sum', 'calls')], 'calls'),
    );
    this.dashboard.addWidgets(
      graph(
        'Model errors and budget refusals per agent',
        [perAgent(METRIC.modelErrors, 'Sum', 'errors'), perAgent(METRIC.budgetRefusals, 'Sum', 'refusals')],
        'count',
      ),
      graph(
        'Model latency per agent (p95 and average, ms)',
        [perAgent(METRIC.modelLatency, 'p95', 'p95'), perAgent(METRIC.modelLatency, 'Average', 'avg')],
        'ms',
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Tokens per agent (in and out, per hour)',
        [perAgent(METRIC.tokensIn, 'Sum', 'in'), perAgent(METRIC.tokensOut, 'Sum', 'out')],
        'tokens',
      ),
      graph('Decisions by status and class', [
        byStatus(METRIC.decisions, 'class,mode,service,status', 'Sum'),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Backtest and study durations (ms)',
        [
          byStatus(METRIC.backtestDuration, 'service,status', 'Maximum'),
          byStatus(METRIC.studyDuration, 'service,status', 'Maximum'),
        ],
        'ms',
      ),
      graph(
        'Function errors',
        props.functions.map((f) =>
          f.function.metricErrors({ period: PERIOD, statistic: 'Sum', label: f.node.id }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Function duration (p95, ms)',
        props.functions.map((f) =>
          f.function.metricDuration({ period: PERIOD, statistic: 'p95', label: f.node.id }),
        ),
      ),
      graph(
        'Workflow executions failed',
        props.stateMachines.map((sm) =>
          sm.metricFailed({ period: PERIOD, statistic: 'Sum', label: sm.node.id }),
        ),
      ),
    );
  }
}
