/**
 * The Lambda host: one container per execution environment, built at cold start from the settings in
 * SSM and Secrets Manager (params.ts), with one `pg` connection (`max: 1`: an environment serves one
 * request at a time, and RDS connections are scarce on a small instance) and no migrations (the deploy's
 * Trigger ran them). Entry files stay one line long: they name a factory and get a handler.
 */
import type { Context } from 'aws-lambda';
import type { Settings } from '../../shared/config/settings';
import type { WorkflowStarter } from '../../shared/pipeline/ports';
import { type Container, createContainer } from '../runtime/container';
import type { AppLogger } from '../runtime/logger';
import { observed, powertoolsAppLogger, powertoolsMetrics } from './observability';
import { ENV } from './param-names';
import { getAwsSettings } from './params';
import { createSfnWorkflowStarter } from './sfn-workflows';

const LAMBDA_POOL_SIZE = 1;

/**
 * The one line a cold start logs: which database driver and which agent provider this environment runs,
 * and why the provider is offline when the LLM key secret still holds its placeholder. Names only: no
 * URL, no key, no password (the settings hold them; nothing here logs the settings).
 */
export function coldStartReport(
  c: { database: { driver: string }; llm: { provider: string }; settings: Settings },
  env: Record<string, string | undefined> = process.env,
): { fields: Record<string, unknown>; message: string } {
  const keyConfigured = Boolean(env[ENV.llmKeySecretArn]);
  const llmKey = !keyConfigured ? 'not granted' : c.settings.LLM_API_KEY ? 'set' : 'placeholder';
  const fields = { event: 'cold_start', db: c.database.driver, provider: c.llm.provider, llmKey };
  const message =
    c.llm.provider === 'offline' && llmKey === 'placeholder'
      ? `offline agent provider: the LLM key secret still holds the placeholder; set it with aws secretsmanager put-secret-value --secret-id ${env[ENV.llmKeySecretArn]}`
      : `container ready (db ${c.database.driver}, ${c.llm.provider} agent provider)`;
  return { fields, message };
}

let container: Promise<Container> | undefined;
/** The execution environment's container (cached; a failed build is retried on the next invocation). */
export function getLambdaContainer(): Promise<Container> {
  if (!container) {
    container = getAwsSettings().then(async (settings) => {
      const c = await createContainer(settings, {
        maxConnections: LAMBDA_POOL_SIZE,
        skipMigrations: true,
        metrics: powertoolsMetrics(settings.METRICS_NAMESPACE),
        // Every Map iteration is its own Lambda: breakers and Retry-After holds must be shared.
        upstreamState: 'database',
        readAhead: false,
      });
      const report = coldStartReport(c);
      powertoolsAppLogger().info(report.fields, report.message);
      return c;
    });
    container.catch(() => {
      container = undefined;
    });
  }
  return container;
}

/** The Step Functions starter, from the state machine ARNs in the environment (absent ones refuse). */
export function lambdaWorkflows(env: Record<string, string | undefined> = process.env): WorkflowStarter {
  return createSfnWorkflowStarter({
    analysisStateMachineArn: env[ENV.analysisStateMachineArn],
    backtestStateMachineArn: env[ENV.backtestStateMachineArn],
    studyStateMachineArn: env[ENV.studyStateMachineArn],
    learningStateMachineArn: env[ENV.learningStateMachineArn],
  });
}

export interface LambdaWorld {
  settings: Settings;
  container: Container;
  workflows: WorkflowStarter;
  corsOrigin: string | undefined;
  /** What every route group's HTTP layer gets: CORS origins and the write key (when deployed with one). */
  http: { corsOrigin: string | undefined; writeKey: string | undefined; logger: AppLogger };
}

type Handler<E, R> = (event: E, context?: Partial<Context>) => Promise<R>;

/**
 * Wrap a handler factory into a Lambda handler: the world is built once (cold start), the factory runs
 * once, and every invocation reuses both; each invocation is observed (logger context, correlation id,
 * trace subsegment; functions/aws/observability.ts).
 */
export function lambdaHandler<E, R>(build: (world: LambdaWorld) => Handler<E, R>): Handler<E, R> {
  let built: Promise<Handler<E, R>> | undefined;
  return observed(async (event: E, context?: Partial<Context>) => {
    if (!built) {
      built = getLambdaContainer().then((c) =>
        build({
          settings: c.settings,
          container: c,
          workflows: lambdaWorkflows(),
          corsOrigin: process.env[ENV.corsOrigin],
          http: {
            corsOrigin: process.env[ENV.corsOrigin],
            writeKey: c.settings.WRITE_KEY,
            logger: powertoolsAppLogger(),
          },
        }),
      );
      built.catch(() => {
        built = undefined;
      });
    }
    return (await built)(event, context);
  });
}
