/**
 * Observability on Lambda, with Powertools for AWS Lambda (TypeScript) v2:
 * - Logger: structured JSON lines with the cold-start flag and the Lambda context (function name,
 *   request id), the X-Ray trace id, and a correlation id: API Gateway's request id for the API
 *   functions, the Step Functions execution id (every task's payload carries `executionId`) for the
 *   workflow tasks. The handlers log through `AppLogger` (functions/runtime/logger.ts), the interface the
 *   local host's pino logger also has; `powertoolsAppLogger` adapts Powertools' Logger to it, reading
 *   the per-invocation context at each line (children keep only their own keys).
 * - Metrics: the core's MetricsPort (shared/observability/metrics.ts) written as CloudWatch embedded
 *   metric format lines under METRICS_NAMESPACE, dimensions `service` plus the event's own (agent and
 *   model, status and class, ...); one EMF line per event, flushed at once (no end-of-invocation flush
 *   to forget), and a ColdStart metric per function.
 * - Tracer: a subsegment per invocation with the ColdStart and Service annotations, errors as metadata,
 *   and the AWS SDK clients (SSM, Secrets Manager, Step Functions, S3) captured with `traced()`. Outside
 *   Lambda (tests, the local host) Powertools turns tracing off by itself.
 * Nothing here fails the work it observes: a metric or trace that cannot be written is dropped.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { DEFAULT_METRICS_NAMESPACE, METRIC, type MetricsPort } from '../../shared/observability/metrics';
import type { AppLogger, LogFields } from '../runtime/logger';

/** The service name on every log line, metric and trace (POWERTOOLS_SERVICE_NAME, set per function). */
export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME ?? 'agent-trading-firm';

const LEVELS: Record<string, 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT'> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'CRITICAL',
  silent: 'SILENT',
};

/** The execution environment's Powertools Logger (level from LOG_LEVEL, as the local host's pino). */
export const logger = new Logger({
  serviceName: SERVICE_NAME,
  logLevel: LEVELS[process.env.LOG_LEVEL ?? 'info'] ?? 'INFO',
});

export const tracer = new Tracer({ serviceName: SERVICE_NAME });

/** An AWS SDK v3 client, captured by the Tracer (a subsegment per call) when tracing is on. */
export function traced<T>(client: T): T {
  return tracer.isTracingEnabled() ? tracer.captureAWSv3Client(client) : client;
}

/** Powertools' Logger behind the AppLogger interface (pino's call shape: fields first, message second). */
export function powertoolsAppLogger(root: Logger = logger, bindings: LogFields = {}): AppLogger {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (fields: LogFields, message = '') =>
      root[level](message, { ...bindings, ...fields });
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => powertoolsAppLogger(root, { ...bindings, ...more }),
  };
}

/** API Gateway's request id, else the Step Functions execution id a task payload carries. */
export function correlationIdOf(event: unknown): string | undefined {
  const e = (event ?? {}) as { requestContext?: { requestId?: unknown }; executionId?: unknown };
  const id = e.requestContext?.requestId ?? e.executionId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** The core's metrics as EMF lines under `namespace` (see the header). */
export function powertoolsMetrics(
  namespace: string = DEFAULT_METRICS_NAMESPACE,
  serviceName: string = SERVICE_NAME,
): MetricsPort {
  const emit = (dimensions: Record<string, string>, values: [string, Unit, number][]) => {
    try {
      const m = new Metrics({ namespace, serviceName });
      m.addDimensions(dimensions);
      for (const [name, unit, value] of values) m.addMetric(name, unit, value);
      m.publishStoredMetrics();
    } catch {
      // A metric that cannot be written is dropped; the work goes on.
    }
  };
  return {
    decisionFinished: (e) =>
      emit({ status: e.status, class: e.decisionClass ?? 'unknown', mode: e.mode }, [
        [METRIC.decisions, MetricUnit.Count, 1],
      ]),
    modelCall: (e) =>
      emit({ agent: e.agent, model: e.model }, [
        [METRIC.modelCalls, MetricUnit.Count, 1],
        [METRIC.modelErrors, MetricUnit.Count, e.status === 'error' ? 1 : 0],
        [METRIC.cacheHits, MetricUnit.Count, e.cacheHit ? 1 : 0],
        [METRIC.tokensIn, MetricUnit.Count, e.tokensIn],
        [METRIC.tokensOut, MetricUnit.Count, e.tokensOut],
        [METRIC.costUsd, MetricUnit.NoUnit, e.costUsd],
        [METRIC.modelLatency, MetricUnit.Milliseconds, e.latencyMs],
      ]),
    budgetRefused: (e) =>
      emit({ agent: e.agent, model: e.model }, [[METRIC.budgetRefusals, MetricUnit.Count, 1]]),
    backtestFinished: (e) =>
      emit({ status: e.status }, [[METRIC.backtestDuration, MetricUnit.Milliseconds, e.durationMs]]),
    studyFinished: (e) =>
      emit({ status: e.status }, [[METRIC.studyDuration, MetricUnit.Milliseconds, e.durationMs]]),
  };
}

let coldStart = true;

/**
 * Wrap a Lambda handler: per invocation, the Logger gets the Lambda context (cold start included) and
 * the correlation id, the Tracer a subsegment with the cold-start annotation, and the first invocation
 * of the environment a ColdStart metric.
 */
export function observed<E, R>(
  handler: (event: E, context?: Partial<Context>) => Promise<R>,
  namespace: string = process.env.METRICS_NAMESPACE ?? DEFAULT_METRICS_NAMESPACE,
): (event: E, context?: Partial<Context>) => Promise<R> {
  return async (event, context) => {
    const isColdStart = coldStart;
    coldStart = false;
    if (context?.awsRequestId || context?.functionName) logger.addContext(context as Context);
    logger.removeKeys(['correlation_id']);
    const correlationId = correlationIdOf(event);
    if (correlationId) logger.setCorrelationId(correlationId);
    if (isColdStart) {
      try {
        const m = new Metrics({ namespace, serviceName: SERVICE_NAME });
        m.addDimensions({ function_name: context?.functionName ?? SERVICE_NAME });
        m.addMetric('ColdStart', MetricUnit.Count, 1);
        m.publishStoredMetrics();
      } catch {
        // dropped, as any metric
      }
    }
    if (!tracer.isTracingEnabled()) return handler(event, context);
    const segment = tracer.getSegment();
    const sub = segment?.addNewSubsegment(`## ${process.env._HANDLER ?? 'handler'}`);
    if (sub) tracer.setSegment(sub);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    if (correlationId) tracer.putAnnotation('correlation_id', correlationId);
    try {
      return await handler(event, context);
    } catch (e) {
      tracer.addErrorAsMetadata(e as Error);
      throw e;
    } finally {
      sub?.close();
      if (segment) tracer.setSegment(segment);
    }
  };
}
