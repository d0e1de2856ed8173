/**
 * AppFunction: every Lambda of the product, with the defaults held ONCE here (after Powertools' function
 * construct), so a stack declares only what differs (entry, timeout, memory, a few env names).
 *
 * Defaults, decided once:
 * - Node.js 22 (LTS; Node 20 is end-of-life) on ARM_64 (Graviton: ~20% cheaper per GB-second);
 * - esbuild bundling through NodejsFunction (esbuild is a devDependency, so no Docker), ESM output
 *   with a `createRequire` banner because `pg` and a few dependencies still call `require`; minified,
 *   with source maps (NodejsFunction then sets NODE_OPTIONS=--enable-source-maps);
 * - the AWS SDK v3 is left out of the bundle (the runtime provides it); `pg-native` is left out because
 *   `pg` only loads it on request and it is not installed;
 * - the PGlite driver is left out: BOTH `@electric-sql/pglite` and `drizzle-orm/pglite`. shared/db/client.ts
 *   loads them by dynamic import only when no DATABASE_URL is set (never on AWS). Marking only the first
 *   external is not enough: esbuild inlines the dynamic `import('drizzle-orm/pglite')` and hoists that
 *   module's own `import … from '@electric-sql/pglite'` to a STATIC top-level import of the ESM bundle,
 *   which then fails to load on Lambda (ERR_MODULE_NOT_FOUND) before any handler runs. With the drizzle
 *   adapter external too, both stay lazy `import()` calls that Lambda never reaches
 *   (cdk/bundles.test.ts loads every real bundle with only the AWS SDK resolvable, as on Lambda);
 * - an explicit log group with a retention period (and removed with the stack), JSON log format;
 * - its own role with inline statements instead of AWS-managed policies: logs only into its own log
 *   group, and the network-interface actions Lambda needs in a VPC (those take no resource scope);
 * - private subnets with egress (the LLM API and Binance are on the internet, through the NAT);
 * - an error alarm per function;
 * - Powertools' settings: POWERTOOLS_SERVICE_NAME, METRICS_NAMESPACE, POWERTOOLS_TRACE_ENABLED (tracing);
 * - `copyMigrations`: the drizzle migrations folder copied next to the bundle, where
 *   shared/db/client.ts looks for it (`./migrations` beside the bundled file).
 *
 * With context `bundling=false` the function gets a tiny inline stub instead of a bundle: unit tests and
 * the local Step Functions runner synthesize in seconds that way. Logical ids are the same either way,
 * which is what the local runner relies on to map a Task's Lambda to its local handler.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** The repository root: entries are given relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** ESM bundles need `require` for the CommonJS dependencies esbuild inlines (pg, among others). */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __appCreateRequire } from 'node:module'; const require = __appCreateRequire(import.meta.url);";

/**
 * Bare imports left out of every bundle. `@aws-sdk/*`: provided by the nodejs22.x runtime. `pg-native`:
 * optional, not installed. The PGlite driver (both packages; see the header): the laptop's database.
 */
export const EXTERNAL_MODULES = ['@aws-sdk/*', 'pg-native', '@electric-sql/pglite', 'drizzle-orm/pglite'];

/** The migrations folder, copied beside the bundle where shared/db/client.ts looks (`./migrations`). */
export const MIGRATIONS_SOURCE = 'shared/db/migrations';
export const MIGRATIONS_IN_BUNDLE = 'migrations';

/**
 * The esbuild options of every function, held once: AppFunction passes them to NodejsFunction, and
 * cdk/bundles.test.ts builds the same bundles with them to load and run each one offline.
 */
export function lambdaBundling(o: { copyMigrations: boolean }): BundlingOptions {
  return {
    format: OutputFormat.ESM,
    target: 'node22',
    // (No `platform` here: in these options it is Docker's platform. NodejsFunction always passes
    // esbuild --platform=node.)
    mainFields: ['module', 'main'],
    banner: ESM_REQUIRE_BANNER,
    minify: true,
    sourceMap: true,
    externalModules: EXTERNAL_MODULES,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir: string, outputDir: string) =>
        o.copyMigrations
          ? [
              `cp -r "${path.join(inputDir, MIGRATIONS_SOURCE)}" "${path.join(outputDir, MIGRATIONS_IN_BUNDLE)}"`,
            ]
          : [],
    },
  };
}

const STUB_CODE =
  "exports.handler = async () => { throw new Error('bundling disabled: synthesized with -c bundling=false'); };";

export const RUNTIME = lambda.Runtime.NODEJS_22_X;
export const ARCHITECTURE = lambda.Architecture.ARM_64;
const DEFAULT_TIMEOUT = Duration.seconds(30);
const DEFAULT_MEMORY_MB = 512;
const ERROR_ALARM_PERIOD = Duration.minutes(5);

/** What every function of one stack shares: network, logs, tracing, the alarm topic. */
export interface AppFunctionDefaults {
  bundling: boolean;
  logRetention: logs.RetentionDays;
  tracing: boolean;
  vpc: ec2.IVpc;
  securityGroups: ec2.ISecurityGroup[];
  alarmTopic?: sns.ITopic;
  /** METRICS_NAMESPACE of every function (Powertools Metrics; the dashboard reads the same). */
  metricsNamespace: string;
}

/** Powertools' service name on every function's logs, metrics and traces. */
export const SERVICE_NAME = 'agent-trading-firm';

export interface AppFunctionProps {
  defaults: AppFunctionDefaults;
  /** Entry file relative to the repository root, e.g. functions/aws/api-health.ts. */
  entry: string;
  /** Exported handler name (default `handler`). */
  handler?: string;
  description: string;
  timeout?: Duration;
  memorySize?: number;
  /** Names and ARNs only: never a secret value (a test scans for that). */
  environment?: Record<string, string>;
  copyMigrations?: boolean;
  /** Default true. A function that reaches neither the database nor the internet stays out of the VPC. */
  inVpc?: boolean;
  /** Reserved concurrency (default none: the account's unreserved pool). */
  reservedConcurrentExecutions?: number;
}

export class AppFunction extends Construct {
  /** Entry file relative to the repository root (what gets bundled). */
  readonly entry: string;
  readonly copyMigrations: boolean;
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  readonly errorAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    super(scope, id);
    const { defaults } = props;
    this.entry = props.entry;
    this.copyMigrations = props.copyMigrations === true;
    const entry = path.join(REPO_ROOT, props.entry);
    if (!existsSync(entry)) throw new Error(`AppFunction ${id}: entry ${props.entry} does not exist`);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: defaults.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.logGroup = logGroup;
    const inVpc = props.inVpc ?? true;
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs ${id}`,
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    if (inVpc) {
      role.addToPolicy(
        new iam.PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }
    const common: lambda.FunctionOptions = {
      description: props.description,
      role,
      architecture: ARCHITECTURE,
      timeout: props.timeout ?? DEFAULT_TIMEOUT,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      environment: {
        ...(defaults.bundling ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        // The Lambda runtime ships RDS's CA bundle here; with it the database certificate is verified.
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        // Powertools (functions/aws/observability.ts): service name, metric namespace, tracing on or off.
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        METRICS_NAMESPACE: defaults.metricsNamespace,
        POWERTOOLS_TRACE_ENABLED: String(defaults.tracing),
        ...props.environment,
      },
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing: defaults.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      ...(inVpc
        ? {
            vpc: defaults.vpc,
            vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
            securityGroups: defaults.securityGroups,
          }
        : {}),
    };

    this.function = defaults.bundling
      ? new NodejsFunction(this, 'Function', {
          ...common,
          runtime: RUNTIME,
          entry,
          handler: props.handler ?? 'handler',
          projectRoot: REPO_ROOT,
          depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
          bundling: lambdaBundling({ copyMigrations: props.copyMigrations === true }),
        })
      : new lambda.Function(this, 'Function', {
          ...common,
          runtime: RUNTIME,
          handler: 'index.handler',
          code: lambda.Code.fromInline(STUB_CODE),
        });

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 is the LTS line the project targets (engines >=22); 24 is adopted with the toolchain.',
      },
      ...(inVpc || defaults.tracing
        ? [
            {
              id: 'AwsSolutions-IAM5[Resource::*]',
              reason:
                'EC2 network-interface actions (Lambda in a VPC) and X-Ray writes have no resource-level scope.',
            },
          ]
        : []),
    );

    this.errorAlarm = new cloudwatch.Alarm(this, 'Errors', {
      alarmDescription: `${props.description}: invocations ended in an error`,
      metric: this.function.metricErrors({ period: ERROR_ALARM_PERIOD, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (defaults.alarmTopic) this.errorAlarm.addAlarmAction(new cwActions.SnsAction(defaults.alarmTopic));
  }
}
