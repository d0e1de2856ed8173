/**
 * NetworkData: the stateful half of the deployment, kept apart from the stateless API so that redeploying
 * or destroying the API never touches the data.
 *
 * - VPC over two AZs: public subnets (the NAT), private subnets with egress (every function: the LLM API
 *   and Binance are on the internet), isolated subnets (the database: no route out at all).
 * - Egress through a NAT instance by default (NatProvider.instanceV2, a t4g.nano: a few dollars a month),
 *   or a managed NAT gateway with `-c natGateway=true` (~$33/month plus data, no instance to look after).
 * - RDS for PostgreSQL on a small Graviton instance, encrypted, backed up, in the isolated subnets;
 *   credentials generated into Secrets Manager. Deletion protection is a context switch.
 * - Migrations run on every deploy that changes them, by a CDK Trigger invoking the migrate function after
 *   the database exists; a failed migration fails the deploy (and CloudFormation rolls back).
 * - Configuration that outlives the API: the LLM key secret (its value set by the user after deploy) and
 *   the SSM parameters (budget, models, risk limits), seeded with the defaults of shared/config/settings.ts.
 * - The functions' security group lives here too, so the database's ingress rule (from that group) is in
 *   the same stack as the database and the stacks do not depend on each other in a cycle.
 */
import { Duration, RemovalPolicy, SecretValue, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as triggers from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import { ENV, LLM_KEY_UNSET, SSM_SETTING_KEYS } from '../../functions/aws/param-names';
import { loadSettings } from '../../shared/config/settings';
import type { AppConfig } from '../config';
import { AppFunction, type AppFunctionDefaults } from '../constructs/app-function';
import { retention } from '../constructs/retention';

export interface NetworkDataStackProps extends StackProps {
  config: AppConfig;
  /** Prefix of the SSM parameters (`/<app>/settings`). */
  paramsPrefix: string;
}

const DB_NAME = 'trading';
const DB_USER = 'app';
const DB_STORAGE_GB = 20;
const DB_MAX_STORAGE_GB = 50;
const DB_BACKUP_DAYS = 7;
const MIGRATE_TIMEOUT = Duration.minutes(5);

export class NetworkDataStack extends Stack {
  readonly vpc: ec2.Vpc;
  readonly database: rds.DatabaseInstance;
  /** The secret the functions read (the attachment: it resolves once the instance exists). */
  readonly dbSecret: secretsmanager.ISecret;
  private readonly dbCredentials: rds.DatabaseSecret;
  readonly functionsSecurityGroup: ec2.SecurityGroup;
  readonly llmKeySecret: secretsmanager.Secret;
  readonly parameters: ssm.StringParameter[];
  readonly paramsPrefix: string;
  readonly migrate: AppFunction;

  constructor(scope: Construct, id: string, props: NetworkDataStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.paramsPrefix = props.paramsPrefix;

    const natInstance = config.natGateway
      ? undefined
      : ec2.NatProvider.instanceV2({
          instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
          machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
          defaultAllowedTraffic: ec2.NatTrafficDirection.OUTBOUND_ONLY,
        });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      natGatewayProvider: natInstance ?? ec2.NatProvider.gateway(),
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
    });
    if (natInstance) {
      // The NAT instance forwards what the private subnets send; nothing else may reach it.
      natInstance.connections.allowFrom(ec2.Peer.ipv4(this.vpc.vpcCidrBlock), ec2.Port.allTraffic());
    }
    // Rejected traffic only: enough to debug a security group, cheap to keep.
    this.vpc.addFlowLog('RejectedFlows', {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogs', {
          retention: retention(config.logRetentionDays),
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
    });

    this.functionsSecurityGroup = new ec2.SecurityGroup(this, 'FunctionsSecurityGroup', {
      vpc: this.vpc,
      description: 'Lambda functions of the trading firm (egress to the internet through the NAT)',
      allowAllOutbound: true,
    });

    this.dbCredentials = new rds.DatabaseSecret(this, 'DatabaseSecret', {
      username: DB_USER,
      dbname: DB_NAME,
    });
    this.database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
      instanceType: new ec2.InstanceType(config.dbInstanceType),
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      // The secret is made here rather than by fromGeneratedSecret so that it carries `dbname`: RDS's
      // secret attachment adds host, port and engine but not the database name, and without it the
      // functions would connect to the default `postgres` database instead of DB_NAME.
      credentials: rds.Credentials.fromSecret(this.dbCredentials),
      databaseName: DB_NAME,
      allocatedStorage: DB_STORAGE_GB,
      maxAllocatedStorage: DB_MAX_STORAGE_GB,
      storageType: rds.StorageType.GP3,
      storageEncrypted: true,
      multiAz: false,
      publiclyAccessible: false,
      backupRetention: Duration.days(DB_BACKUP_DAYS),
      deletionProtection: config.deletionProtection,
      removalPolicy: config.deletionProtection ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
      cloudwatchLogsExports: ['postgresql'],
      cloudwatchLogsRetention: retention(config.logRetentionDays),
      enablePerformanceInsights: false,
    });
    this.database.connections.allowDefaultPortFrom(this.functionsSecurityGroup, 'functions to PostgreSQL');
    this.dbSecret = this.database.secret!;

    this.llmKeySecret = new secretsmanager.Secret(this, 'LlmApiKey', {
      description: `LLM provider API key. Set it with: aws secretsmanager put-secret-value --secret-id <arn> --secret-string <key>. While it reads ${LLM_KEY_UNSET}, the offline provider runs.`,
      secretStringValue: SecretValue.unsafePlainText(LLM_KEY_UNSET),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const defaults = loadSettings({});
    this.parameters = SSM_SETTING_KEYS.map((key) => {
      const value = defaults[key];
      return new ssm.StringParameter(this, `Setting${key}`, {
        parameterName: `${this.paramsPrefix}/${key}`,
        stringValue: Array.isArray(value) ? value.join(',') : String(value),
        description: `Setting ${key} (see shared/config/settings.ts)`,
      });
    });

    const fnDefaults: AppFunctionDefaults = {
      bundling: config.bundling,
      logRetention: retention(config.logRetentionDays),
      tracing: config.tracing,
      vpc: this.vpc,
      securityGroups: [this.functionsSecurityGroup],
      metricsNamespace: config.metricsNamespace,
    };
    this.migrate = new AppFunction(this, 'Migrate', {
      defaults: fnDefaults,
      entry: 'functions/aws/migrate.ts',
      description: 'Applies the drizzle migrations to the database (run by a CDK Trigger on deploy)',
      timeout: MIGRATE_TIMEOUT,
      copyMigrations: true,
      environment: { [ENV.dbSecretArn]: this.dbSecret.secretArn },
    });
    this.dbSecret.grantRead(this.migrate.function);
    new triggers.Trigger(this, 'MigrateOnDeploy', {
      handler: this.migrate.function,
      executeAfter: [this.database],
      executeOnHandlerChange: true,
      timeout: MIGRATE_TIMEOUT,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
    });

    this.acknowledge();
  }

  private acknowledge() {
    Validations.of(this.database).acknowledge(
      {
        id: 'AwsSolutions-RDS3',
        reason: 'Single-AZ on purpose: a personal simulator; Multi-AZ doubles the cost.',
      },
      {
        id: 'AwsSolutions-RDS10',
        reason:
          'Deletion protection is a context switch (-c deletionProtection=true), off so cdk destroy cleans up.',
      },
      {
        id: 'AwsSolutions-RDS11',
        reason: 'Default port inside isolated subnets reachable only from the functions SG.',
      },
    );
    Validations.of(this.dbCredentials).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'Rotation needs a rotation Lambda with VPC access; the database is private. Rotate on demand.',
    });
    const nat = this.vpc.publicSubnets[0]?.node.tryFindChild('NatInstance');
    if (nat)
      Validations.of(nat).acknowledge(
        {
          id: 'AwsSolutions-EC26',
          reason: 'The NAT instance root volume holds no data (stateless forwarding).',
        },
        {
          id: 'AwsSolutions-EC28',
          reason: 'Detailed monitoring costs extra; basic metrics suffice for a NAT.',
        },
        {
          id: 'AwsSolutions-EC29',
          reason: 'A NAT instance is replaceable; termination protection would block destroy.',
        },
      );
    const natSg = this.vpc.node.tryFindChild('NatSecurityGroup');
    if (natSg)
      Validations.of(natSg).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          'Ingress only from the VPC CIDR (the private subnets it forwards for); nag cannot resolve the token.',
      });
    Validations.of(this.llmKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A third-party LLM API key cannot be rotated by Secrets Manager; the user rotates it at the provider.',
    });
  }
}
