/**
 * Api: the stateless half. API Gateway (REST) in front of one thin Lambda per route group, the two state
 * machines and the functions they invoke, the alarms, and the site's runtime config file.
 *
 * Decisions:
 * - Routes come from shared/api/routes.ts (API_ROUTES), the same table the OpenAPI document and the local
 *   host read, so an endpoint cannot exist in one and be missing from another. One function per group
 *   (market, analysis, portfolio, backtests, costs, prompts, docs): the group routes within itself.
 * - Throttling on the stage (rate and burst); JSON access logs with a retention. No CORS: the site
 *   reaches the API on its own origin, through the distribution's `/api/*` behaviour (web-stack.ts), so
 *   a browser on any other origin is refused by the same-origin policy. The Web stack depends on this
 *   one (it needs the API as an origin); this one knows nothing of the site.
 * - Least privilege, asserted by cdk/app.test.ts: the analysis API function may start only the analysis
 *   machine, the backtests API function only the backtest machine; each machine may invoke only its own
 *   functions; the database secret is readable only by functions that open the database (not docs); the
 *   LLM key only by the functions that may call the model.
 * - Environments hold names and ARNs only. Secrets and settings are read at cold start
 *   (functions/aws/params.ts).
 * - The API is open (no authorizer) by default: a personal simulator's read-mostly API. What can cost
 *   money, LLM calls, is bounded by the daily token budget enforced in the database, and by the
 *   throttling here. Writes from other sites' pages are refused by the shared write guard
 *   (functions/api/security.ts). With `-c writeKey=true` a generated Secrets Manager secret is the write
 *   key: the route groups that have a write route (from API_ROUTES) read it at cold start and require it
 *   in X-Write-Key (constant-time compare in the shared middleware, not an authorizer: one rule for
 *   both hosts, and no extra Lambda in front of every request). Reads stay public.
 */
import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { ENV } from '../../functions/aws/param-names';
import { API_ROUTES, ROUTE_GROUPS, type RouteGroup } from '../../shared/api/routes';
import type { AppConfig } from '../config';
import { AppFunction, type AppFunctionDefaults } from '../constructs/app-function';
import { OperationsDashboard } from '../constructs/operations-dashboard';
import { retention } from '../constructs/retention';
import { acknowledgeIamFindings } from '../nag';
import { Workflows } from '../workflows/workflows';
import type { NetworkDataStack } from './network-data-stack';

export interface ApiStackProps extends StackProps {
  config: AppConfig;
  data: NetworkDataStack;
}

export const STAGE_NAME = 'prod';
const THROTTLE_RATE_PER_SECOND = 10;
const THROTTLE_BURST = 20;
const AGENT_STEP_TIMEOUT = Duration.minutes(3);
const BACKTEST_STEP_TIMEOUT = Duration.minutes(10);
const API_FUNCTION_TIMEOUT = Duration.seconds(29); // API Gateway cuts a request at 29 s
const ALARM_PERIOD = Duration.minutes(5);
export const BUDGET_EXHAUSTED_METRIC = 'BudgetExhausted';

/** Which route groups open the database, and which may call the LLM (and so read its key). */
interface Needs {
  /** Reads the settings in SSM (every function that builds the container). */
  params: boolean;
  db: boolean;
  llm: boolean;
}
const GROUP_NEEDS: Record<RouteGroup, Needs & { description: string }> = {
  market: {
    params: true,
    db: true,
    llm: false,
    description: 'API: health, symbols, latest candles and indicators',
  },
  analysis: {
    params: true,
    db: true,
    llm: true,
    description: 'API: start an analysis, list and read analyses',
  },
  portfolio: { params: true, db: true, llm: false, description: 'API: portfolio, equity history, trades' },
  backtests: {
    params: true,
    db: true,
    llm: true,
    description: 'API: start a backtest (with its cost estimate), read backtests',
  },
  learning: {
    params: true,
    db: true,
    llm: false,
    description: 'API: learning cycles, proposed adjustments and their review, strategy versions',
  },
  costs: { params: true, db: true, llm: false, description: 'API: token budget and LLM spend' },
  prompts: {
    params: true,
    db: true,
    llm: false,
    description: 'API: the prompt registry (agents, versions with scores, texts)',
  },
  docs: { params: false, db: false, llm: false, description: 'API: OpenAPI document and docs page' },
};

export class ApiStack extends Stack {
  readonly api: apigw.RestApi;
  readonly apiUrl: string;
  readonly workflows: Workflows;
  readonly agentSteps: AppFunction;
  readonly backtestSteps: AppFunction;
  readonly routeFunctions: Record<RouteGroup, AppFunction>;
  readonly alarmTopic: sns.Topic;
  /** The nightly learning cycle (`selfLearningSchedule`), else undefined. */
  readonly learningSchedule: scheduler.CfnSchedule | undefined;
  /** The write key (`-c writeKey=true`), else undefined. */
  readonly writeKeySecret: secretsmanager.Secret | undefined;
  /** Spend, calls, errors and latency per agent (cdk/constructs/operations-dashboard.ts). */
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, data } = props;
    const logRetention = retention(config.logRetentionDays);

    this.alarmTopic = new sns.Topic(this, 'Alarms', {
      displayName: 'Agent trading firm alarms',
      enforceSSL: true,
    });
    if (config.alarmEmail) this.alarmTopic.addSubscription(new subs.EmailSubscription(config.alarmEmail));
    const alarmAction = new cwActions.SnsAction(this.alarmTopic);

    const defaults: AppFunctionDefaults = {
      bundling: config.bundling,
      logRetention,
      tracing: config.tracing,
      vpc: data.vpc,
      securityGroups: [data.functionsSecurityGroup],
      alarmTopic: this.alarmTopic,
      metricsNamespace: config.metricsNamespace,
    };
    const configEnv = (o: Needs): Record<string, string> => ({
      ...(o.params ? { [ENV.paramsPrefix]: data.paramsPrefix } : {}),
      ...(o.db ? { [ENV.dbSecretArn]: data.dbSecret.secretArn } : {}),
      ...(o.llm ? { [ENV.llmKeySecretArn]: data.llmKeySecret.secretArn } : {}),
    });
    const grantConfig = (fn: AppFunction, o: Needs) => {
      if (o.params) for (const p of data.parameters) p.grantRead(fn.function);
      if (o.db) data.dbSecret.grantRead(fn.function);
      if (o.llm) data.llmKeySecret.grantRead(fn.function);
    };

    // ---- workflows ----
    const stepNeeds: Needs = { params: true, db: true, llm: true };
    this.agentSteps = new AppFunction(this, 'AgentSteps', {
      defaults,
      entry: 'functions/aws/workflow-agent-steps.ts',
      description: 'Workflow tasks: snapshot, analysts, researcher, trader, risk, finalize, no-trade',
      timeout: AGENT_STEP_TIMEOUT,
      environment: configEnv(stepNeeds),
      // Bounds the decision points' fan-out (context agentStepsReservedConcurrency, see cdk/config.ts).
      ...(config.agentStepsReservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: config.agentStepsReservedConcurrency }
        : {}),
    });
    grantConfig(this.agentSteps, stepNeeds);
    this.backtestSteps = new AppFunction(this, 'BacktestSteps', {
      defaults,
      entry: 'functions/aws/workflow-backtest-steps.ts',
      description:
        'Workflow tasks: plan a backtest, start a decision point, simulate and persist, mark failed',
      timeout: BACKTEST_STEP_TIMEOUT,
      memorySize: 1024,
      environment: configEnv(stepNeeds),
    });
    grantConfig(this.backtestSteps, stepNeeds);

    // A study's cell items (written by its plan step) and its Map Run's results: small JSON, kept 30 days.
    const studyItems = new s3.Bucket(this, 'StudyItems', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
      lifecycleRules: [{ expiration: Duration.days(30) }],
    });
    Validations.of(studyItems).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Transient Map items and results written only by this stack; access logs would outgrow them.',
    });
    this.backtestSteps.function.addEnvironment(ENV.studyItemsBucket, studyItems.bucketName);
    studyItems.grantPut(this.backtestSteps.function, 'study-items/*');
    const studyItemsId = Stack.of(this).getLogicalId(studyItems.node.defaultChild as s3.CfnBucket);
    Validations.of(this.backtestSteps).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Action::s3:Abort*]',
        reason: 'grantPut: abort its own multipart uploads only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${studyItemsId}.Arn>/study-items/*]`,
        reason: 'The plan step writes one items file per study run under study-items/ of this bucket only.',
      },
    );

    this.workflows = new Workflows(this, 'Workflows', {
      agentSteps: this.agentSteps.function,
      backtestSteps: this.backtestSteps.function,
      agentTaskTimeout: AGENT_STEP_TIMEOUT,
      backtestTaskTimeout: BACKTEST_STEP_TIMEOUT,
      mapConcurrency: config.mapConcurrency,
      logRetention,
      tracing: config.tracing,
      studyCellItems: studyItems,
    });
    acknowledgeIamFindings(
      this.workflows.study,
      'Study machine: child executions of its own Distributed Map and nested executions of the Backtest machine (execution ids are only known at run time), and the items/results objects of its own bucket.',
    );

    // ---- API ----
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.RestApi(this, 'RestApi', {
      restApiName: `${Stack.of(this).stackName}-api`,
      description: 'Agent trading firm REST API',
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.DESTROY,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      deployOptions: {
        stageName: STAGE_NAME,
        throttlingRateLimit: THROTTLE_RATE_PER_SECOND,
        throttlingBurstLimit: THROTTLE_BURST,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: config.tracing,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
      },
    });
    new apigw.RequestValidator(this, 'RequestValidator', {
      restApi: this.api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.apiUrl = `https://${this.api.restApiId}.execute-api.${this.region}.${this.urlSuffix}/${STAGE_NAME}`;

    this.writeKeySecret = config.writeKey
      ? new secretsmanager.Secret(this, 'WriteKey', {
          description:
            'The write key: POST /analyze and POST /backtest need it in the X-Write-Key header. Read it with aws secretsmanager get-secret-value --secret-id <arn>.',
          generateSecretString: { passwordLength: 40, excludePunctuation: true },
          removalPolicy: RemovalPolicy.DESTROY,
        })
      : undefined;
    const writeGroups = new Set(API_ROUTES.filter((r) => r.method !== 'GET').map((r) => r.group));

    const routeFunctions = {} as Record<RouteGroup, AppFunction>;
    for (const group of ROUTE_GROUPS) {
      const needs = GROUP_NEEDS[group];
      const env: Record<string, string> = configEnv(needs);
      const needsWriteKey = this.writeKeySecret !== undefined && writeGroups.has(group);
      if (needsWriteKey && this.writeKeySecret) env[ENV.writeKeySecretArn] = this.writeKeySecret.secretArn;
      if (group === 'analysis') env[ENV.analysisStateMachineArn] = this.workflows.analysis.stateMachineArn;
      if (group === 'backtests') {
        env[ENV.backtestStateMachineArn] = this.workflows.backtest.stateMachineArn;
        env[ENV.studyStateMachineArn] = this.workflows.study.stateMachineArn;
      }
      if (group === 'learning') env[ENV.learningStateMachineArn] = this.workflows.learning.stateMachineArn;
      const fn = new AppFunction(this, `Api${group[0]!.toUpperCase()}${group.slice(1)}`, {
        defaults,
        entry: `functions/aws/api-${group}.ts`,
        description: needs.description,
        timeout: API_FUNCTION_TIMEOUT,
        environment: env,
        inVpc: needs.db || needs.llm,
      });
      grantConfig(fn, needs);
      if (needsWriteKey) this.writeKeySecret?.grantRead(fn.function);
      routeFunctions[group] = fn;
    }
    this.workflows.analysis.grantStartExecution(routeFunctions.analysis.function);
    this.workflows.backtest.grantStartExecution(routeFunctions.backtests.function);
    this.workflows.study.grantStartExecution(routeFunctions.backtests.function);
    this.workflows.learning.grantStartExecution(routeFunctions.learning.function);
    this.learningSchedule = config.selfLearningSchedule
      ? this.schedule(config.selfLearningSchedule)
      : undefined;
    this.routeFunctions = routeFunctions;

    const integrations = new Map<RouteGroup, apigw.LambdaIntegration>();
    for (const route of API_ROUTES) {
      let integration = integrations.get(route.group);
      if (!integration) {
        integration = new apigw.LambdaIntegration(routeFunctions[route.group].function, {
          allowTestInvoke: false,
        });
        integrations.set(route.group, integration);
      }
      this.api.root.resourceForPath(route.path).addMethod(route.method, integration);
    }

    this.alarms(alarmAction, config.metricsNamespace);
    this.dashboard = new OperationsDashboard(this, 'Operations', {
      namespace: config.metricsNamespace,
      functions: [this.agentSteps, this.backtestSteps, ...Object.values(routeFunctions)],
      stateMachines: [this.workflows.analysis, this.workflows.backtest, this.workflows.study],
    }).dashboard;
    new CfnOutput(this, 'DashboardName', {
      value: this.dashboard.dashboardName,
      description: `CloudWatch dashboard: spend, calls, errors and latency per agent (namespace ${config.metricsNamespace})`,
    });
    new CfnOutput(this, 'ApiUrl', {
      value: this.apiUrl,
      description: 'The REST API, direct (the site serves it under /api too): GET /health, /docs',
    });
    new CfnOutput(this, 'AnalysisStateMachineArn', { value: this.workflows.analysis.stateMachineArn });
    new CfnOutput(this, 'BacktestStateMachineArn', { value: this.workflows.backtest.stateMachineArn });
    new CfnOutput(this, 'StudyStateMachineArn', { value: this.workflows.study.stateMachineArn });
    new CfnOutput(this, 'LearningStateMachineArn', { value: this.workflows.learning.stateMachineArn });
    new CfnOutput(this, 'LlmApiKeySecretArn', {
      value: data.llmKeySecret.secretArn,
      description:
        'Set the LLM key: aws secretsmanager put-secret-value --secret-id <this> --secret-string <key>',
    });
    if (this.writeKeySecret)
      new CfnOutput(this, 'WriteKeySecretArn', {
        value: this.writeKeySecret.secretArn,
        description:
          'The write key for POST /analyze and /backtest: aws secretsmanager get-secret-value --secret-id <this> --query SecretString --output text',
      });
    new CfnOutput(this, 'SettingsPrefix', { value: Fn.join('', [data.paramsPrefix, '/']) });
    this.acknowledge();
  }

  /**
   * EventBridge Scheduler starts the Learning machine with `{}` (it opens a cycle on the live book). Its
   * role may start that one machine and nothing else.
   */
  private schedule(expression: string): scheduler.CfnSchedule {
    const role = new iam.Role(this, 'LearningScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'EventBridge Scheduler: start the Learning state machine (nightly cycle)',
    });
    this.workflows.learning.grantStartExecution(role);
    return new scheduler.CfnSchedule(this, 'LearningSchedule', {
      description: 'The nightly learning cycle on the live book (SELF_LEARNING_SCHEDULE)',
      scheduleExpression: expression,
      scheduleExpressionTimezone: 'UTC',
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.workflows.learning.stateMachineArn,
        roleArn: role.roleArn,
        input: JSON.stringify({}),
        retryPolicy: { maximumRetryAttempts: 2 },
      },
    });
  }

  private alarms(action: cwActions.SnsAction, namespace: string) {
    const alarm = (id: string, description: string, metric: cloudwatch.IMetric, threshold = 1) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      return a;
    };
    alarm(
      'Api5xx',
      'The API answered 5xx',
      this.api.metricServerError({ period: ALARM_PERIOD, statistic: 'Sum' }),
    );
    // REST APIs have no throttle metric of their own; Lambda's account-wide Throttles catches the API and
    // the workflows being cut off (a new account's concurrency limit can be as low as 10).
    alarm(
      'LambdaThrottles',
      'Lambda throttled invocations (account-wide)',
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'Throttles',
        period: ALARM_PERIOD,
        statistic: 'Sum',
      }),
    );
    for (const [name, sm] of [
      ['Analysis', this.workflows.analysis],
      ['Backtest', this.workflows.backtest],
      ['Learning', this.workflows.learning],
    ] as const) {
      alarm(
        `${name}Failed`,
        `${name} executions failed`,
        sm.metricFailed({ period: ALARM_PERIOD, statistic: 'Sum' }),
      );
      alarm(
        `${name}TimedOut`,
        `${name} executions timed out`,
        sm.metricTimedOut({ period: ALARM_PERIOD, statistic: 'Sum' }),
      );
    }
    // The daily token budget refusing calls is a value in the pipeline, not an error: a log metric catches it.
    for (const [id, fn] of [
      ['AgentSteps', this.agentSteps],
      ['Analysis', this.routeFunctions.analysis],
    ] as const) {
      new logs.MetricFilter(this, `${id}BudgetExhaustedFilter`, {
        logGroup: fn.logGroup,
        filterPattern: logs.FilterPattern.anyTerm('budget_exceeded', 'BUDGET_EXCEEDED'),
        metricNamespace: namespace,
        metricName: BUDGET_EXHAUSTED_METRIC,
        metricValue: '1',
      });
    }
    alarm(
      'BudgetExhausted',
      'The daily LLM token budget refused calls',
      new cloudwatch.Metric({
        namespace: namespace,
        metricName: BUDGET_EXHAUSTED_METRIC,
        period: ALARM_PERIOD,
        statistic: 'Sum',
      }),
    );
  }

  private acknowledge() {
    Validations.of(this.alarmTopic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notices carry no data; CloudWatch cannot publish to the AWS-managed SNS key, a CMK is $1/month.',
    });
    const cwRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cwRole)
      acknowledgeIamFindings(
        cwRole,
        'API Gateway account logging role: AmazonAPIGatewayPushToCloudWatchLogs is the documented policy for it.',
      );
    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG3',
        reason: 'WAF costs at least $5/month; stage throttling bounds abuse instead.',
      },
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Open API of a personal simulator; LLM spend is capped by the daily token budget in the database.',
      },
      { id: 'AwsSolutions-COG4', reason: 'No user accounts in this product; see AwsSolutions-APIG4.' },
    );
    if (this.writeKeySecret)
      Validations.of(this.writeKeySecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'A shared key typed into the web app once per session; rotating it would log every user out. Rotate it by hand with put-secret-value; functions read it at their next cold start.',
      });
  }
}
