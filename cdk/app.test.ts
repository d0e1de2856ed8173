/**
 * The CDK app, synthesized offline (no AWS account, no credentials) with bundling off (`bundling=false`:
 * inline stubs instead of esbuild bundles, same logical ids), with the cdk-nag AwsSolutions gate on.
 *
 * What it proves: synth succeeds with ZERO unacknowledged nag findings and every acknowledgement has a
 * reason; the gate does fail on a new finding; least privilege holds on the templates (each state machine
 * invokes only its own functions, only the API's analysis/backtests functions start only their machine,
 * the database secret and the LLM key are readable only by the functions that need them, no `*` action,
 * `*` resources only for actions that have no resource scope); no secret value in Json Lambda environment
 * or anywhere in the templates; NAT instance by default, NAT gateway by the context switch.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { LLM_KEY_UNSET } from '../functions/aws/param-names';
import { resolveIntrinsics, synthesizeLocalDefinitions } from '../functions/local/stepfunctions';
import { API_ROUTES } from '../shared/api/routes';
import { buildApp } from './app';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON, read by shape here.
type Json = any;
type Resource = { Type: string; Properties?: Record<string, Json>; Metadata?: Record<string, Json> };
type Template = { Resources: Record<string, Resource>; Outputs?: Record<string, unknown> };

function synth(context: Record<string, unknown> = {}, nag = true) {
  const app = new App({ context: { bundling: false, ...context } });
  const built = buildApp(app, { nag });
  const assembly = app.synth();
  const template = (stack: Stack) => assembly.getStackArtifact(stack.artifactId).template as Template;
  return { app, built, data: template(built.data), web: template(built.web), api: template(built.api) };
}

const ofType = (t: Template, type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

/** Policy statements attached to a role (by the role's logical id). */
function statementsOfRole(t: Template, roleId: string): Json[] {
  return ofType(t, 'AWS::IAM::Policy')
    .filter(([, p]) => asArray(p.Properties?.Roles).some((r: Json) => r.Ref === roleId))
    .flatMap(([, p]) => p.Properties?.PolicyDocument.Statement as Json[]);
}

/** Logical id of the role a resource (function or state machine) runs as. */
function roleOf(r: Resource, key: 'Role' | 'RoleArn'): string {
  return r.Properties?.[key]['Fn::GetAtt'][0];
}

/** Every logical id a JSON fragment references (Ref / Fn::GetAtt), plus import names. */
function referenced(x: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.Ref === 'string') out.push(o.Ref);
      if (Array.isArray(o['Fn::GetAtt'])) out.push(o['Fn::GetAtt'][0] as string);
      if (typeof o['Fn::ImportValue'] === 'string') out.push(o['Fn::ImportValue']);
      Object.values(o).forEach(walk);
    }
  };
  walk(x);
  return out;
}

function functionsByPrefix(
  t: Template,
): Record<string, { id: string; role: string; env: Record<string, unknown> }> {
  const out: Record<string, { id: string; role: string; env: Record<string, unknown> }> = {};
  for (const [id, r] of ofType(t, 'AWS::Lambda::Function')) {
    const name = id.replace(/Function[0-9A-F]{8}$/, '');
    out[name] = { id, role: roleOf(r, 'Role'), env: r.Properties?.Environment?.Variables ?? {} };
  }
  return out;
}

/** The functions (by construct name) whose role may perform `action` on a resource referencing `needle`. */
function granted(t: Template, action: string, needle: string): string[] {
  const fns = functionsByPrefix(t);
  return Object.entries(fns)
    .filter(([, f]) =>
      statementsOfRole(t, f.role).some(
        (s) =>
          asArray<string>(s.Action).includes(action) &&
          referenced(s.Resource).some((ref) => ref.includes(needle)),
      ),
    )
    .map(([name]) => name)
    .sort();
}

describe('CDK app (bundling off, cdk-nag on)', () => {
  let s: ReturnType<typeof synth>;
  beforeAll(() => {
    s = synth();
  });

  it('synthesizes three stacks offline with zero unacknowledged cdk-nag findings', () => {
    expect(s.built.app.node.children.map((c) => c.node.id)).toEqual(
      expect.arrayContaining(['TradingFirm-Data', 'TradingFirm-Web', 'TradingFirm-Api']),
    );
    // app.synth() above would have thrown on Json unacknowledged finding; the outputs are there.
    expect(Object.keys(s.api.Outputs ?? {})).toContain('ApiUrl');
    expect(Object.keys(s.web.Outputs ?? {})).toContain('SiteUrl');
  });

  it('gives every acknowledgement a reason', () => {
    const acks: { id: string; reason: string }[] = [];
    for (const c of s.app.node.findAll())
      for (const m of c.node.metadata)
        if (m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          for (const [id, reason] of Object.entries(m.data as Record<string, string>))
            acks.push({ id, reason });
    expect(acks.length).toBeGreaterThan(10);
    for (const a of acks) expect(a.reason.trim().length, a.id).toBeGreaterThan(20);
  });

  it('the nag gate fails synth on a finding nobody acknowledged', () => {
    const app = new App();
    const stack = new Stack(app, 'Probe');
    new s3.Bucket(stack, 'Careless'); // no TLS enforcement, no access logs
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow();
  });

  it('each state machine may invoke only its own task functions', () => {
    const fns = functionsByPrefix(s.api);
    const machines = Object.fromEntries(
      ofType(s.api, 'AWS::StepFunctions::StateMachine').map(([id, r]) => [id.replace(/[0-9A-F]{8}$/, ''), r]),
    );
    const invokes = (machine: string) => {
      const statements = statementsOfRole(s.api, roleOf(machines[machine]!, 'RoleArn'));
      const lambdaStatements = statements.filter((st) =>
        asArray<string>(st.Action).some((a) => a.startsWith('lambda:')),
      );
      for (const st of lambdaStatements) expect(asArray(st.Action)).toEqual(['lambda:InvokeFunction']);
      return [...new Set(lambdaStatements.flatMap((st) => referenced(st.Resource)))].sort();
    };
    expect(invokes('WorkflowsAnalysis')).toEqual([fns.AgentSteps!.id]);
    expect(invokes('WorkflowsBacktest')).toEqual([fns.AgentSteps!.id, fns.BacktestSteps!.id].sort());
  });

  it('only the analysis and backtests API functions start executions, each only its own machine', () => {
    const [analysis, backtest] = ['WorkflowsAnalysis', 'WorkflowsBacktest'].map(
      (p) => ofType(s.api, 'AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith(p))![0],
    );
    expect(granted(s.api, 'states:StartExecution', analysis!)).toEqual(['ApiAnalysis']);
    expect(granted(s.api, 'states:StartExecution', backtest!)).toEqual(['ApiBacktests']);
    const anyStart = Object.keys(functionsByPrefix(s.api)).filter((name) =>
      statementsOfRole(s.api, functionsByPrefix(s.api)[name]!.role).some((st) =>
        asArray<string>(st.Action).some((a) => a.startsWith('states:')),
      ),
    );
    expect(anyStart.sort()).toEqual(['ApiAnalysis', 'ApiBacktests']);
  });

  it('the database secret and the LLM key are readable only by the functions that need them', () => {
    expect(granted(s.api, 'secretsmanager:GetSecretValue', 'DatabaseSecret')).toEqual(
      [
        'AgentSteps',
        'ApiAnalysis',
        'ApiBacktests',
        'ApiCosts',
        'ApiMarket',
        'ApiPortfolio',
        'BacktestSteps',
      ].sort(),
    );
    expect(granted(s.api, 'secretsmanager:GetSecretValue', 'LlmApiKey')).toEqual(
      ['AgentSteps', 'ApiAnalysis', 'ApiBacktests', 'BacktestSteps'].sort(),
    );
    expect(granted(s.data, 'secretsmanager:GetSecretValue', 'DatabaseSecret')).toEqual(['Migrate']);
    expect(granted(s.data, 'secretsmanager:GetSecretValue', 'LlmApiKey')).toEqual([]);
  });

  it('has no "*" action, and "*" resources only where the service allows no narrower scope', () => {
    const NO_RESOURCE_SCOPE =
      /^(ec2:(Create|Describe|Delete)NetworkInterfaces?|ec2:(Assign|Unassign)PrivateIpAddresses|ec2:DescribeSubnets|logs:(CreateLogDelivery|DeleteLogDelivery|DescribeLogGroups|DescribeResourcePolicies|GetLogDelivery|ListLogDeliveries|PutResourcePolicy|UpdateLogDelivery)|xray:Put\w+|cloudfront:(CreateInvalidation|GetInvalidation))$/;
    // CDK's own custom-resource providers (BucketDeployment, log retention) are acknowledged in cdk/nag.ts.
    const FRAMEWORK = /^(CustomCDKBucketDeployment|LogRetention|CustomS3AutoDeleteObjects)/;
    for (const t of [s.data, s.web, s.api])
      for (const [id, p] of ofType(t, 'AWS::IAM::Policy').filter(([pid]) => !FRAMEWORK.test(pid)))
        for (const st of p.Properties!.PolicyDocument.Statement as Json[]) {
          for (const a of asArray<string>(st.Action)) expect(a, id).not.toMatch(/^\*$|:\*$/);
          if (asArray(st.Resource).includes('*'))
            for (const a of asArray<string>(st.Action))
              expect(a, `${id} grants ${a} on *`).toMatch(NO_RESOURCE_SCOPE);
        }
  });

  it('keeps secret values out of every Lambda environment and every template', () => {
    const KEY_LIKE = /(sk-[A-Za-z0-9_-]{10,}|postgres(ql)?:\/\/|password|[A-Za-z0-9+_=-]{40,})/i;
    const FORBIDDEN_NAMES = ['LLM_API_KEY', 'DATABASE_URL', 'DB_PASSWORD'];
    for (const t of [s.data, s.api])
      for (const [id, fn] of Object.entries(functionsByPrefix(t))) {
        for (const [name, value] of Object.entries(fn.env)) {
          expect(FORBIDDEN_NAMES, `${id} ${name}`).not.toContain(name);
          // Literal values are names, prefixes and flags; everything else is a reference (Ref, GetAtt, import).
          if (typeof value === 'string') expect(value, `${id} ${name}`).not.toMatch(KEY_LIKE);
          else expect(referenced(value).length, `${id} ${name}`).toBeGreaterThan(0);
        }
      }
    const secrets = ofType(s.data, 'AWS::SecretsManager::Secret');
    const llm = secrets.find(([id]) => id.startsWith('LlmApiKey'))![1];
    expect(llm.Properties?.SecretString).toBe(LLM_KEY_UNSET);
    const db = secrets.find(([id]) => id.includes('DatabaseSecret'))![1];
    expect(db.Properties?.GenerateSecretString).toBeDefined(); // generated by Secrets Manager, never in the template
    expect(db.Properties?.SecretString).toBeUndefined();
    for (const t of [s.data, s.web, s.api])
      expect(JSON.stringify(t)).not.toMatch(/sk-[A-Za-z0-9_-]{10,}|postgres:\/\//);
  });

  it('wires the API routes, throttling, CORS for the site only, access logs and the site config', () => {
    const stage = ofType(s.api, 'AWS::ApiGateway::Stage')[0]![1].Properties!;
    expect(stage.MethodSettings[0]).toMatchObject({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    expect(stage.AccessLogSetting.DestinationArn).toBeDefined();
    const options = ofType(s.api, 'AWS::ApiGateway::Method').filter(
      ([, m]) => m.Properties?.HttpMethod === 'OPTIONS',
    );
    expect(options.length).toBeGreaterThan(0);
    for (const [, m] of options) {
      const origin =
        m.Properties!.Integration.IntegrationResponses[0].ResponseParameters[
          'method.response.header.Access-Control-Allow-Origin'
        ];
      expect(JSON.stringify(origin)).toContain('TradingFirm-Web:ExportsOutputFnGetAttSite');
    }
    const methods = ofType(s.api, 'AWS::ApiGateway::Method').filter(
      ([, m]) => m.Properties?.HttpMethod !== 'OPTIONS',
    );
    expect(methods).toHaveLength(API_ROUTES.length);
    const config = ofType(s.api, 'Custom::CDKBucketDeployment');
    expect(config).toHaveLength(1);
    expect(config[0]![1].Properties?.Prune).toBe(false);
  });

  it('applies migrations on deploy through a Trigger on the migrate function, after the database', () => {
    const trigger = ofType(s.data, 'Custom::Trigger')[0]![1] as Resource & { DependsOn?: string[] };
    const migrate = functionsByPrefix(s.data).Migrate!;
    expect(referenced(trigger.Properties?.HandlerArn).join(' ')).toContain('Migrate');
    expect(trigger.DependsOn?.some((d) => d.startsWith('Database'))).toBe(true);
    expect(migrate.env).toHaveProperty('DB_SECRET_ARN');
    const db = ofType(s.data, 'AWS::RDS::DBInstance')[0]![1].Properties!;
    expect(db).toMatchObject({
      StorageEncrypted: true,
      DBInstanceClass: 'db.t4g.micro',
      PubliclyAccessible: false,
    });
    expect(db.BackupRetentionPeriod).toBeGreaterThan(0);
  });

  it('deploys the very definitions the local runner executes (one definition, two hosts)', () => {
    const fns = functionsByPrefix(s.api);
    const byId = { [fns.AgentSteps!.id]: 'agentSteps', [fns.BacktestSteps!.id]: 'backtestSteps' };
    const local = synthesizeLocalDefinitions(s.built.config.mapConcurrency);
    const normalize = (asl: string) =>
      asl.replace(/arn:aws:lambda:[^"]+:function:(AgentSteps|BacktestSteps)\w*/g, 'fn:$1');
    for (const [prefix, kind] of [
      ['WorkflowsAnalysis', 'analysis'],
      ['WorkflowsBacktest', 'backtest'],
    ] as const) {
      const [, machine] = ofType(s.api, 'AWS::StepFunctions::StateMachine').find(([id]) =>
        id.startsWith(prefix),
      )!;
      const deployed = resolveIntrinsics(machine.Properties?.DefinitionString, byId);
      expect(normalize(deployed)).toBe(normalize(JSON.stringify(local[kind])));
    }
  });

  it('reaches the internet through a NAT instance by default', () => {
    expect(ofType(s.data, 'AWS::EC2::Instance')).toHaveLength(1);
    expect(ofType(s.data, 'AWS::EC2::NatGateway')).toHaveLength(0);
  });
});

describe('CDK app with -c natGateway=true', () => {
  it('uses a managed NAT gateway instead of the instance', () => {
    const { data } = synth({ natGateway: true }, false);
    expect(ofType(data, 'AWS::EC2::NatGateway')).toHaveLength(1);
    expect(ofType(data, 'AWS::EC2::Instance')).toHaveLength(0);
  });
});
