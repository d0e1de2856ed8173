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
import { ENV } from './param-names';
import { getAwsSettings } from './params';
import { createSfnWorkflowStarter } from './sfn-workflows';

const LAMBDA_POOL_SIZE = 1;

let container: Promise<Container> | undefined;
/** The execution environment's container (cached; a failed build is retried on the next invocation). */
export function getLambdaContainer(): Promise<Container> {
  if (!container) {
    container = getAwsSettings().then((settings) =>
      createContainer(settings, { maxConnections: LAMBDA_POOL_SIZE, skipMigrations: true }),
    );
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
  });
}

export interface LambdaWorld {
  settings: Settings;
  container: Container;
  workflows: WorkflowStarter;
  corsOrigin: string | undefined;
}

type Handler<E, R> = (event: E, context?: Partial<Context>) => Promise<R>;

/**
 * Wrap a handler factory into a Lambda handler: the world is built once (cold start), the factory runs
 * once, and every invocation reuses both.
 */
export function lambdaHandler<E, R>(build: (world: LambdaWorld) => Handler<E, R>): Handler<E, R> {
  let built: Promise<Handler<E, R>> | undefined;
  return async (event, context) => {
    if (!built) {
      built = getLambdaContainer().then((c) =>
        build({
          settings: c.settings,
          container: c,
          workflows: lambdaWorkflows(),
          corsOrigin: process.env[ENV.corsOrigin],
        }),
      );
      built.catch(() => {
        built = undefined;
      });
    }
    return (await built)(event, context);
  };
}
