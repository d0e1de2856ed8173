/**
 * The Lambda observability adapter (Powertools Logger and Metrics), run as on Lambda but offline: what
 * it writes to stdout is what CloudWatch would ingest. Metrics: one embedded-metric-format line per core
 * event, under the namespace, with the event's dimensions. Logger: JSON lines through the AppLogger
 * interface, with the correlation id of the invocation (API Gateway's request id, or the Step Functions
 * execution id of a task payload) and the cold-start flag.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { METRIC } from '../../shared/observability/metrics';
import { correlationIdOf, observed, powertoolsAppLogger, powertoolsMetrics } from './observability';

// As Lambda sets it for an on-demand environment (Powertools reads it when the module loads).
vi.hoisted(() => {
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
});

// biome-ignore lint/suspicious/noExplicitAny: EMF and log lines are untyped JSON, read by shape here.
type Json = any;

let lines: Json[];
beforeEach(() => {
  lines = [];
  // Info lines and EMF go to stdout, warnings and errors to stderr: CloudWatch reads both.
  const capture = (chunk: unknown) => {
    for (const l of String(chunk).split('\n')) if (l.trim().startsWith('{')) lines.push(JSON.parse(l));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterEach(() => {
  vi.restoreAllMocks();
});

const context = {
  functionName: 'TradingFirm-Api-AgentSteps',
  functionVersion: '$LATEST',
  memoryLimitInMB: '512',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:111122223333:function:TradingFirm-Api-AgentSteps',
  awsRequestId: 'lambda-req-1',
};

describe('powertoolsMetrics', () => {
  it('writes one EMF line per model call: namespace, agent and model dimensions, tokens, USD, latency', () => {
    powertoolsMetrics('Firm/Test').modelCall({
      agent: 'trader',
      model: 'gpt-4.1',
      status: 'ok',
      tokensIn: 1200,
      tokensOut: 300,
      costUsd: 0.0048,
      latencyMs: 850,
      cacheHit: false,
    });
    expect(lines).toHaveLength(1);
    const emf = lines[0];
    const directive = emf._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe('Firm/Test');
    expect(directive.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'agent', 'model']));
    expect(directive.Metrics.map((m: Json) => m.Name)).toEqual(
      expect.arrayContaining([
        METRIC.modelCalls,
        METRIC.tokensIn,
        METRIC.tokensOut,
        METRIC.costUsd,
        METRIC.modelLatency,
      ]),
    );
    expect(emf).toMatchObject({
      agent: 'trader',
      model: 'gpt-4.1',
      service: 'agent-trading-firm',
      [METRIC.modelCalls]: 1,
      [METRIC.modelErrors]: 0,
      [METRIC.tokensIn]: 1200,
      [METRIC.tokensOut]: 300,
      [METRIC.costUsd]: 0.0048,
      [METRIC.modelLatency]: 850,
    });
  });

  it('decisions by status and class, budget refusals, backtest and study durations', () => {
    const m = powertoolsMetrics('Firm/Test');
    m.decisionFinished({ status: 'failed', decisionClass: 'failed', mode: 'live' });
    m.budgetRefused({ agent: 'researcher', model: 'gpt-4.1' });
    m.backtestFinished({ status: 'succeeded', durationMs: 61_000, decisions: 50 });
    m.studyFinished({ status: 'failed', durationMs: 5_000, cells: 4 });
    expect(lines.map((l) => l._aws.CloudWatchMetrics[0].Metrics[0].Name)).toEqual([
      METRIC.decisions,
      METRIC.budgetRefusals,
      METRIC.backtestDuration,
      METRIC.studyDuration,
    ]);
    expect(lines[0]).toMatchObject({
      status: 'failed',
      class: 'failed',
      mode: 'live',
      [METRIC.decisions]: 1,
    });
    expect(lines[1]).toMatchObject({ agent: 'researcher', [METRIC.budgetRefusals]: 1 });
    expect(lines[2]).toMatchObject({ status: 'succeeded', [METRIC.backtestDuration]: 61_000 });
    expect(lines[2]._aws.CloudWatchMetrics[0].Metrics[0].Unit).toBe('Milliseconds');
  });
});

describe('observed handlers and the Powertools logger', () => {
  it('takes the correlation id from API Gateway, else from the task payload', () => {
    expect(correlationIdOf({ requestContext: { requestId: 'apigw-1' } })).toBe('apigw-1');
    expect(correlationIdOf({ step: 'runTrader', executionId: 'arn:aws:states:x:execution:m:e1' })).toBe(
      'arn:aws:states:x:execution:m:e1',
    );
    expect(correlationIdOf({})).toBeUndefined();
  });

  it('logs JSON with the correlation id, the Lambda context and the cold-start flag; a ColdStart metric once', async () => {
    const log = powertoolsAppLogger().child({ group: 'analysis' });
    const handler = observed(async (event: { requestContext?: { requestId: string } }) => {
      log.info({ status: 200, ms: 12 }, 'request');
      return event.requestContext?.requestId;
    }, 'Firm/Test');
    expect(await handler({ requestContext: { requestId: 'apigw-req-7' } }, context)).toBe('apigw-req-7');
    const first = lines.filter((l) => l.message === 'request');
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      level: 'INFO',
      message: 'request',
      service: 'agent-trading-firm',
      correlation_id: 'apigw-req-7',
      function_name: context.functionName,
      function_request_id: 'lambda-req-1',
      cold_start: true,
      group: 'analysis',
      status: 200,
      ms: 12,
    });
    expect(
      lines.filter((l) => l._aws?.CloudWatchMetrics?.[0]?.Metrics?.[0]?.Name === 'ColdStart'),
    ).toHaveLength(1);

    lines.length = 0;
    const task = observed(async (_event: { executionId: string }) =>
      log.warn({ step: 'finalizeDecision' }, 'x'),
    );
    await task({ executionId: 'arn:aws:states:eu-west-1:1:execution:Analysis:e-2' }, context);
    const second = lines.find((l) => l.message === 'x');
    expect(second).toMatchObject({
      level: 'WARN',
      correlation_id: 'arn:aws:states:eu-west-1:1:execution:Analysis:e-2',
      cold_start: false,
    });
    expect(lines.some((l) => l._aws)).toBe(false); // no second ColdStart metric
  });
});
