/**
 * The CDK app: three stacks, stateful apart from stateless, and the cdk-nag AwsSolutions gate.
 *
 *   <prefix>-Data  VPC, NAT, RDS PostgreSQL, migrations Trigger, LLM key secret, SSM settings
 *   <prefix>-Api   API Gateway + route functions, the two state machines and their task functions, alarms
 *   <prefix>-Web   S3 + CloudFront (OAC): the built web app, and the API under /api on the same origin
 *
 * Api depends on Data (database, secrets, settings); Web depends on Api (its origin for /api). One way
 * only, so no stack writes into another's resources.
 * Synth needs no AWS account or credentials: the stacks are environment-agnostic unless CDK_DEFAULT_*
 * is set, and nothing is looked up.
 *
 * cdk-nag (AwsSolutions) runs as a validation plugin on every synth, `npm run synth` included: any
 * finding that is not acknowledged (with its reason, next to the construct it concerns) fails synth.
 */
import { type App, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type AppConfig, readAppConfig } from './config';
import { acknowledgeFrameworkFindings } from './nag';
import { ApiStack } from './stacks/api-stack';
import { NetworkDataStack } from './stacks/network-data-stack';
import { WebStack } from './stacks/web-stack';

export const APP_NAME = 'agent-trading-firm';
export const STACK_PREFIX = 'TradingFirm';

export interface BuiltApp {
  app: App;
  config: AppConfig;
  data: NetworkDataStack;
  web: WebStack;
  api: ApiStack;
}

export interface BuildOptions {
  /** Run the cdk-nag AwsSolutions checks during synth (default true). */
  nag?: boolean;
  env?: Environment;
}

/** Cross-stack references stay "strong" (CloudFormation exports protect what another stack uses). */
const CROSS_STACK_REFERENCES_FLAG = '@aws-cdk/core:defaultCrossStackReferences';

export function buildApp(app: App, options: BuildOptions = {}): BuiltApp {
  if (app.node.tryGetContext(CROSS_STACK_REFERENCES_FLAG) === undefined)
    app.node.setContext(CROSS_STACK_REFERENCES_FLAG, 'strong');
  const config = readAppConfig(app.node);
  const env = options.env ?? {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION,
  };
  const data = new NetworkDataStack(app, `${STACK_PREFIX}-Data`, {
    env,
    config,
    paramsPrefix: `/${APP_NAME}/settings`,
    description: 'Agent trading firm: network, database, secrets and settings (stateful)',
  });
  const api = new ApiStack(app, `${STACK_PREFIX}-Api`, {
    env,
    config,
    data,
    description: 'Agent trading firm: REST API, workflows, alarms (stateless)',
  });
  const web = new WebStack(app, `${STACK_PREFIX}-Web`, {
    env,
    config,
    api: api.api,
    description: 'Agent trading firm: web app and its API on one CloudFront distribution',
  });
  Tags.of(app).add('app', APP_NAME);

  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    for (const stack of [data, web, api]) acknowledgeFrameworkFindings(stack);
  }
  return { app, config, data, web, api };
}
