/**
 * The CDK app, synthesized offline (no AWS account, no credentials) with bundling off (`bundling=false`:
 * inline stubs instead of esbuild bundles, same logical ids), with the cdk-nag AwsSolutions gate on.
 *
 * What it proves: synth succeeds with ZERO unacknowledged nag findings and every acknowledgement has a
 * reason; the gate does fail on a new finding; least privilege holds on the templates (each state machine
 * invokes only its own functions, only the API's analysis/backtests functions start only their machine,
 * the database secret and the LLM key are readable only by the functions that need them, no `*` action,
 * `*` resources only for actions that have no resource scope); no secret value in any Lambda environment
 * (dynamic references included) or anywhere in the templates; the database secret names its database;
 * every route of shared/api/routes.ts on its path and function; the API served under /api by the site's
 * distribution (uncached, prefix stripped by a CloudFront Function executed here), no CORS, stacks
 * depending one way; NAT instance by default, NAT gateway by the context switch.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { webContentSecurityPolicy } from '../functions/api/security';
import { LLM_KEY_UNSET } from '../functions/aws/param-names';
import { resolveIntrinsics, synthesizeLocalDefinitions } from '../functions/local/stepfunctions';
import { API_ROUTES, ROUTE_GROUPS } from '../shared/api/routes';
import { DEFAULT_METRICS_NAMESPACE, METRIC } from '../shared/observability/metrics';
import { buildApp } from './app';
import { STAGE_NAME } from './stacks/api-stack';
import {
  API_PATH_PREFIX,
  RUNTIME_CONFIG_FILE,
  SPA_ROUTING_CODE,
  STRIP_API_PREFIX_CODE,
} from './stacks/web-stack';

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

/** A dashboard's body as JSON: its Fn::Join with every reference replaced by a placeholder. */
function dashboardOf(r: Json): { widgets: { properties: Json }[] } {
  const body = r.Properties.DashboardBody;
  const text =
    typeof body === 'string'
      ? body
      : (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'REF')).join('');
  return JSON.parse(text);
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

const KEY_LIKE = /(sk-[A-Za-z0-9_-]{10,}|postgres(ql)?:\/\/|password|[A-Za-z0-9+_=-]{40,})/i;
const FORBIDDEN_NAMES = ['LLM_API_KEY', 'DATABASE_URL', 'DB_PASSWORD'];
/** Only these (names and ARNs of other resources) may be references in a Lambda environment. */
const REFERENCE_ATTRIBUTES = new Set(['Arn', 'DomainName', 'DistributionDomainName', 'Name']);

/**
 * Every Lambda environment variable of a template that could carry a secret value: a secret's name,
 * a key-like literal, a CloudFormation dynamic reference (`{{resolve:secretsmanager:…}}` and
 * `{{resolve:ssm-secure:…}}` are literal text in the template, resolved to the VALUE at deploy time: what
 * `secret.secretValue.unsafeUnwrap()` produces), or a GetAtt of something other than a name or ARN.
 */
function environmentLeaks(t: Template): string[] {
  const leaks: string[] = [];
  for (const [id, fn] of Object.entries(functionsByPrefix(t)))
    for (const [name, value] of Object.entries(fn.env)) {
      const where = `${id} ${name}`;
      const text = JSON.stringify(value);
      if (FORBIDDEN_NAMES.includes(name)) leaks.push(`${where}: a secret's name`);
      if (/\{\{resolve:(secretsmanager|ssm-secure):/.test(text)) leaks.push(`${where}: dynamic reference`);
      if (typeof value === 'string') {
        if (KEY_LIKE.test(value)) leaks.push(`${where}: key-like literal`);
        continue;
      }
      // Otherwise a reference (Ref, GetAtt of a name or ARN, an import), possibly joined with literals.
      if (referenced(value).length === 0) leaks.push(`${where}: neither a literal nor a reference`);
      // Walk the intrinsics: literal parts of a join are checked like literals; names inside Ref,
      // GetAtt and ImportValue are logical ids and export names, not values.
      const walk = (v: unknown): void => {
        if (typeof v === 'string') {
          if (KEY_LIKE.test(v)) leaks.push(`${where}: key-like literal part`);
          return;
        }
        if (Array.isArray(v)) {
          v.forEach(walk);
          return;
        }
        if (!v || typeof v !== 'object') return;
        const o = v as Record<string, unknown>;
        const getAtt = o['Fn::GetAtt'];
        if (Array.isArray(getAtt) && !REFERENCE_ATTRIBUTES.has(String(getAtt[1])))
          leaks.push(`${where}: GetAtt ${getAtt.join('.')}`);
        const join = o['Fn::Join'];
        if (Array.isArray(join)) walk(join[1]);
      };
      walk(value);
    }
  return leaks;
}

describe('the Lambda environment leak check', () => {
  it('catches a secret VALUE passed into an environment, which references alone would not show', () => {
    const app = new App();
    const stack = new Stack(app, 'Probe');
    const secret = new secretsmanager.Secret(stack, 'Key');
    const fn = new lambda.Function(stack, 'Leaky', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      environment: {
        OPENAI_KEY: secret.secretValue.unsafeUnwrap(), // resolved to the key at deploy time
        SETTINGS_ARN: secret.secretArn, // fine: an ARN
      },
    });
    void fn;
    const template = app.synth().getStackArtifact(stack.artifactId).template as Template;
    const leaks = environmentLeaks(template);
    expect(leaks).toHaveLength(1);
    expect(leaks[0]).toMatch(/OPENAI_KEY: dynamic reference/);
  });
});

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

  it('has the operations dashboard: spend, calls, errors and latency per agent, in the metric namespace', () => {
    const dashboards = ofType(s.api, 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const dash = dashboardOf(dashboards[0]![1]);
    const titles = dash.widgets.map((w) => w.properties.title ?? w.properties.markdown);
    const searches = dash.widgets.flatMap((w) =>
      (w.properties.metrics ?? []).flat().flatMap((m: Json) => (m?.expression ? [m.expression] : [])),
    );
    const perAgent = (metric: string, stat: string) =>
      `SEARCH('{${DEFAULT_METRICS_NAMESPACE},agent,model,service} MetricName="${metric}"', '${stat}', 3600)`;
    expect(searches).toEqual(
      expect.arrayContaining([
        perAgent(METRIC.costUsd, 'Sum'),
        perAgent(METRIC.modelCalls, 'Sum'),
        perAgent(METRIC.modelErrors, 'Sum'),
        perAgent(METRIC.modelLatency, 'p95'),
        perAgent(METRIC.budgetRefusals, 'Sum'),
      ]),
    );
    for (const title of [
      'Spend per agent',
      'Model calls per agent',
      'Model errors',
      'Model latency per agent',
    ])
      expect(
        titles.some((t: string) => t.startsWith(title)),
        title,
      ).toBe(true);
    expect(titles[0]).toContain(`namespace **${DEFAULT_METRICS_NAMESPACE}**`);
    expect(Object.keys(s.api.Outputs ?? {})).toContain('DashboardName');
    // Every app function writes its metrics to that namespace, under one service name, tracing as configured.
    let functions = 0;
    for (const t of [s.api, s.data])
      for (const [id, fn] of ofType(t, 'AWS::Lambda::Function')) {
        const env = fn.Properties?.Environment?.Variables ?? {};
        if (!env.NODE_EXTRA_CA_CERTS) continue; // not an AppFunction (CDK's own custom resources)
        functions++;
        expect(env, id).toMatchObject({
          METRICS_NAMESPACE: DEFAULT_METRICS_NAMESPACE,
          POWERTOOLS_SERVICE_NAME: 'agent-trading-firm',
          POWERTOOLS_TRACE_ENABLED: 'false',
        });
      }
    // One per route group, the two workflow-step functions, and Migrate (data stack).
    expect(functions).toBe(ROUTE_GROUPS.length + 3);
  });

  it('-c metricsNamespace: the functions and the dashboard use the given namespace', () => {
    const other = synth({ metricsNamespace: 'Firm/Staging' }, false);
    const body = JSON.stringify(
      ofType(other.api, 'AWS::CloudWatch::Dashboard')[0]![1].Properties?.DashboardBody,
    );
    expect(body).toContain("SEARCH('{Firm/Staging,agent,model,service}");
    expect(body).not.toContain(DEFAULT_METRICS_NAMESPACE);
    const envs = ofType(other.api, 'AWS::Lambda::Function').map(
      ([, f]) => f.Properties?.Environment?.Variables,
    );
    expect(envs.filter((e) => e?.METRICS_NAMESPACE === 'Firm/Staging')).toHaveLength(ROUTE_GROUPS.length + 2);
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
    expect(invokes('WorkflowsLearning')).toEqual([fns.BacktestSteps!.id]);
  });

  it('only the analysis, backtests and learning API functions start executions, each only its own machine', () => {
    const [analysis, backtest, learning] = [
      'WorkflowsAnalysis',
      'WorkflowsBacktest',
      'WorkflowsLearning',
    ].map((p) => ofType(s.api, 'AWS::StepFunctions::StateMachine').find(([id]) => id.startsWith(p))![0]);
    expect(granted(s.api, 'states:StartExecution', analysis!)).toEqual(['ApiAnalysis']);
    expect(granted(s.api, 'states:StartExecution', backtest!)).toEqual(['ApiBacktests']);
    expect(granted(s.api, 'states:StartExecution', learning!)).toEqual(['ApiLearning']);
    const anyStart = Object.keys(functionsByPrefix(s.api)).filter((name) =>
      statementsOfRole(s.api, functionsByPrefix(s.api)[name]!.role).some((st) =>
        asArray<string>(st.Action).some((a) => a.startsWith('states:')),
      ),
    );
    expect(anyStart.sort()).toEqual(['ApiAnalysis', 'ApiBacktests', 'ApiLearning']);
    // No schedule unless selfLearningSchedule is set.
    expect(ofType(s.api, 'AWS::Scheduler::Schedule')).toEqual([]);
  });

  it('the database secret and the LLM key are readable only by the functions that need them', () => {
    expect(granted(s.api, 'secretsmanager:GetSecretValue', 'DatabaseSecret')).toEqual(
      [
        'AgentSteps',
        'ApiAnalysis',
        'ApiBacktests',
        'ApiCosts',
        'ApiLearning',
        'ApiMarket',
        'ApiPortfolio',
        'ApiPrompts',
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
    for (const t of [s.data, s.api]) expect(environmentLeaks(t)).toEqual([]);
    const secrets = ofType(s.data, 'AWS::SecretsManager::Secret');
    const llm = secrets.find(([id]) => id.startsWith('LlmApiKey'))![1];
    expect(llm.Properties?.SecretString).toBe(LLM_KEY_UNSET);
    const db = secrets.find(([id]) => id.includes('DatabaseSecret'))![1];
    expect(db.Properties?.GenerateSecretString).toBeDefined(); // generated by Secrets Manager, never in the template
    expect(db.Properties?.SecretString).toBeUndefined();
    // RDS's secret attachment adds host, port and engine, not the database name: the secret must carry it,
    // or the functions would land in the server's default database (functions/aws/params.ts requires it).
    const dbName = ofType(s.data, 'AWS::RDS::DBInstance')[0]![1].Properties!.DBName;
    expect(JSON.parse(db.Properties?.GenerateSecretString.SecretStringTemplate)).toMatchObject({
      username: 'app',
      dbname: dbName,
    });
    for (const t of [s.data, s.web, s.api])
      expect(JSON.stringify(t)).not.toMatch(/sk-[A-Za-z0-9_-]{10,}|postgres:\/\//);
  });

  it('wires every API route, throttling and access logs, with no CORS (the site serves the API itself)', () => {
    const stage = ofType(s.api, 'AWS::ApiGateway::Stage')[0]![1].Properties!;
    expect(stage.MethodSettings[0]).toMatchObject({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    expect(stage.AccessLogSetting.DestinationArn).toBeDefined();
    const methods = ofType(s.api, 'AWS::ApiGateway::Method');
    // No preflight methods and no CORS_ORIGIN: a browser on another origin is refused by the browser.
    expect(methods.filter(([, m]) => m.Properties?.HttpMethod === 'OPTIONS')).toEqual([]);
    for (const fn of Object.values(functionsByPrefix(s.api)))
      expect(fn.env).not.toHaveProperty('CORS_ORIGIN');
    // Every route of shared/api/routes.ts, on the path it declares, integrated with its group's function.
    const resources = Object.fromEntries(ofType(s.api, 'AWS::ApiGateway::Resource'));
    const pathOf = (ref: Json): string => {
      if (ref['Fn::GetAtt']) return ''; // the API's root resource
      const r = resources[ref.Ref]!.Properties!;
      return `${pathOf(r.ParentId)}/${r.PathPart}`;
    };
    const fns = functionsByPrefix(s.api);
    const wired = methods.map(([, m]) => {
      const uri = JSON.stringify(m.Properties!.Integration.Uri);
      const fn = Object.entries(fns).find(([, f]) => uri.includes(`"${f.id}"`))?.[0];
      return `${m.Properties!.HttpMethod} ${pathOf(m.Properties!.ResourceId)} -> ${fn}`;
    });
    const group = (g: string) => `Api${g[0]!.toUpperCase()}${g.slice(1)}`;
    expect(wired.sort()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path} -> ${group(r.group)}`).sort());
  });

  it('serves the API under /api on the site origin: uncached, Host not forwarded, prefix stripped', () => {
    const dist = ofType(s.web, 'AWS::CloudFront::Distribution')[0]![1].Properties!.DistributionConfig;
    const api = dist.CacheBehaviors.find((b: Json) => b.PathPattern === `${API_PATH_PREFIX}/*`);
    expect(api).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      CachePolicyId: cloudfront.CachePolicy.CACHING_DISABLED.cachePolicyId,
      OriginRequestPolicyId:
        cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
    });
    expect(api.AllowedMethods).toEqual(expect.arrayContaining(['GET', 'POST']));
    const origin = dist.Origins.find((o: Json) => o.Id === api.TargetOriginId);
    expect(JSON.stringify(origin.DomainName)).toContain('TradingFirm-Api:ExportsOutputRefRestApi');
    // Evaluate the intrinsics with stand-ins for the imports: the origin path is the stage, /prod.
    const evaluate = (v: Json): Json => {
      if (typeof v === 'string') return v;
      if (v['Fn::Join']) return v['Fn::Join'][1].map(evaluate).join(v['Fn::Join'][0]);
      if (v['Fn::Split']) return evaluate(v['Fn::Split'][1]).split(v['Fn::Split'][0]);
      if (v['Fn::Select']) return evaluate(v['Fn::Select'][1])[v['Fn::Select'][0]];
      if (v['Fn::ImportValue']) return /DeploymentStage/.test(v['Fn::ImportValue']) ? STAGE_NAME : 'a1b2c3';
      if (v.Ref) return v.Ref === 'AWS::Region' ? 'eu-west-1' : 'amazonaws.com';
      throw new Error(`cannot evaluate ${JSON.stringify(v)}`);
    };
    expect(evaluate(origin.OriginPath)).toBe(`/${STAGE_NAME}`);
    expect(evaluate(origin.DomainName)).toBe('a1b2c3.execute-api.eu-west-1.amazonaws.com');
    // No distribution-wide error pages: they would turn the API's JSON 404s into index.html.
    expect(dist.CustomErrorResponses).toBeUndefined();
    // One way: Web imports from Api, Api imports nothing from Web.
    expect(JSON.stringify(s.api)).not.toContain('TradingFirm-Web:');
    // The page's runtime config is deployed with the app, by the Web stack itself.
    const deployments = ofType(s.web, 'Custom::CDKBucketDeployment');
    expect(deployments).toHaveLength(1);
    expect(deployments[0]![1].Properties?.SourceObjectKeys).toHaveLength(2);
    expect(ofType(s.api, 'Custom::CDKBucketDeployment')).toEqual([]);
  });

  it('runs the CloudFront Functions as intended (executed here, as CloudFront would)', () => {
    const run = (code: string, uri: string): string => {
      const handler = new Function(`${code}; return handler;`)() as (e: Json) => { uri: string };
      return handler({ request: { uri, method: 'GET', headers: {}, querystring: {} } }).uri;
    };
    expect(run(STRIP_API_PREFIX_CODE, '/api/health')).toBe('/health');
    expect(run(STRIP_API_PREFIX_CODE, '/api/analyses/0b6c7a52-4f7e-4d4e-9a51-3f4a2b1c0d9e')).toBe(
      '/analyses/0b6c7a52-4f7e-4d4e-9a51-3f4a2b1c0d9e',
    );
    expect(run(STRIP_API_PREFIX_CODE, '/api')).toBe('/');
    expect(run(STRIP_API_PREFIX_CODE, '/apis/x')).toBe('/apis/x');
    expect(run(SPA_ROUTING_CODE, '/backtests/0b6c7a52-4f7e-4d4e-9a51-3f4a2b1c0d9e')).toBe('/index.html');
    expect(run(SPA_ROUTING_CODE, '/')).toBe('/index.html');
    expect(run(SPA_ROUTING_CODE, '/assets/index-abc123.js')).toBe('/assets/index-abc123.js');
    expect(run(SPA_ROUTING_CODE, `/${RUNTIME_CONFIG_FILE}`)).toBe(`/${RUNTIME_CONFIG_FILE}`);
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
      ['WorkflowsLearning', 'learning'],
    ] as const) {
      const [, machine] = ofType(s.api, 'AWS::StepFunctions::StateMachine').find(([id]) =>
        id.startsWith(prefix),
      )!;
      const deployed = resolveIntrinsics(machine.Properties?.DefinitionString, byId);
      expect(normalize(deployed)).toBe(normalize(JSON.stringify(local[kind])));
    }
  });

  it('with selfLearningSchedule, a schedule starts the Learning machine with a role that may start only it (nag clean)', () => {
    const scheduled = synth({ selfLearningSchedule: 'cron(0 2 * * ? *)' });
    const [[, schedule]] = ofType(scheduled.api, 'AWS::Scheduler::Schedule') as [[string, Resource]];
    const learning = ofType(scheduled.api, 'AWS::StepFunctions::StateMachine').find(([id]) =>
      id.startsWith('WorkflowsLearning'),
    )![0];
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      Target: { Arn: { Ref: learning }, Input: '{}' },
    });
    const role = schedule.Properties!.Target.RoleArn['Fn::GetAtt'][0];
    const statements = statementsOfRole(scheduled.api, role);
    expect(statements.map((st) => [st.Action, st.Resource])).toEqual([
      ['states:StartExecution', { Ref: learning }],
    ]);
    expect(() => synth({ selfLearningSchedule: 'every night' }, false)).toThrow(/cron\(\.\.\.\) or rate/);
  });

  it('lets the backtest machine start only its own child executions, and stop or describe only its own', () => {
    const [id, machine] = ofType(s.api, 'AWS::StepFunctions::StateMachine').find(([i]) =>
      i.startsWith('WorkflowsBacktest'),
    )!;
    const statements = statementsOfRole(s.api, roleOf(machine, 'RoleArn')).filter((st) =>
      asArray<string>(st.Action).some((a) => a.startsWith('states:')),
    );
    expect(statements.length).toBeGreaterThan(0);
    for (const st of statements) {
      // Every states: grant names this machine (itself, or executions under its name), nothing else.
      const refs = [...new Set(referenced(st.Resource).filter((r) => !r.startsWith('AWS::')))];
      expect(refs, JSON.stringify(st.Action)).toEqual([id]);
      expect(asArray(st.Resource)).not.toContain('*');
    }
    const start = statements.filter((st) => asArray(st.Action).includes('states:StartExecution'));
    expect(start.map((st) => st.Resource)).toEqual([{ Ref: id }]);
  });

  it('deploys the local Study definition except the cell Map: Distributed over S3 items on AWS, inline locally', () => {
    const fns = functionsByPrefix(s.api);
    const byId = { [fns.AgentSteps!.id]: 'agentSteps', [fns.BacktestSteps!.id]: 'backtestSteps' };
    const machines = ofType(s.api, 'AWS::StepFunctions::StateMachine');
    // Refs to resolve: the machines (the nested Backtest) and the items bucket (stripped below).
    const machineIds = Object.fromEntries(
      [...machines, ...ofType(s.api, 'AWS::S3::Bucket')].map(([id]) => [id, 'stateMachine']),
    );
    const [, machine] = machines.find(([id]) => id.startsWith('WorkflowsStudy'))!;
    const deployed = JSON.parse(
      resolveIntrinsics(machine.Properties?.DefinitionString, byId, machineIds).replace(
        /arn:aws:lambda:[^"]+:function:(AgentSteps|BacktestSteps)\w*/g,
        'fn:$1',
      ),
    ) as { States: Record<string, Record<string, unknown>> };
    const local = JSON.parse(
      JSON.stringify(synthesizeLocalDefinitions(s.built.config.mapConcurrency).study).replace(
        /arn:aws:lambda:[^"]+:function:(AgentSteps|BacktestSteps)\w*/g,
        'fn:$1',
      ),
    ) as { States: Record<string, Record<string, unknown>> };
    const awsCells = deployed.States.Cells as Record<string, unknown> & {
      ItemProcessor: { ProcessorConfig: Record<string, unknown> };
      ItemReader: { Resource: string; Parameters: Record<string, unknown> };
    };
    expect(awsCells.ItemProcessor.ProcessorConfig).toEqual({
      Mode: 'DISTRIBUTED',
      ExecutionType: 'STANDARD',
    });
    expect(awsCells.ItemReader.Resource).toMatch(/states:::s3:getObject/);
    expect(awsCells.ItemReader.Parameters['Key.$']).toBe('$.plan.itemsKey');
    expect(awsCells).toHaveProperty('ResultWriter');
    // Strip what a Distributed Map adds and what the inline one has instead: the rest is identical.
    const strip = (def: { States: Record<string, Record<string, unknown>> }) => {
      const cells = { ...(def.States.Cells as Record<string, unknown>) };
      for (const k of ['ItemReader', 'ResultWriter', 'Label', 'ItemsPath']) delete cells[k];
      const proc = { ...(cells.ItemProcessor as Record<string, unknown>) };
      delete proc.ProcessorConfig;
      cells.ItemProcessor = proc;
      // The nested Backtest's ARN: the deployed machine's logical id vs the local stand-in's.
      return JSON.stringify({ ...def, States: { ...def.States, Cells: cells } }).replace(
        /stateMachine:[\w]+/g,
        'stateMachine:Backtest',
      );
    };
    expect(strip(deployed)).toBe(strip(local));
    expect(local.States.Cells?.ItemsPath).toBe('$.plan.items');
  });

  it('reaches the internet through a NAT instance by default', () => {
    expect(ofType(s.data, 'AWS::EC2::Instance')).toHaveLength(1);
    expect(ofType(s.data, 'AWS::EC2::NatGateway')).toHaveLength(0);
  });
});

describe('security headers and the write key', () => {
  let s: ReturnType<typeof synth>;
  beforeAll(() => {
    s = synth();
  });

  it('sends the web app CSP, nosniff, no-referrer, frame DENY and HSTS from CloudFront', () => {
    const policies = ofType(s.web, 'AWS::CloudFront::ResponseHeadersPolicy').map(
      ([id, r]) => [id, r.Properties!.ResponseHeadersPolicyConfig.SecurityHeadersConfig] as const,
    );
    expect(policies).toHaveLength(2);
    const dist = ofType(s.web, 'AWS::CloudFront::Distribution')[0]![1].Properties!.DistributionConfig;
    const byRef = (ref: Json) => policies.find(([id]) => id === ref.Ref)![1];
    const site = byRef(dist.DefaultCacheBehavior.ResponseHeadersPolicyId);
    const api = byRef(
      dist.CacheBehaviors.find((b: Json) => b.PathPattern === `${API_PATH_PREFIX}/*`).ResponseHeadersPolicyId,
    );
    expect(site.ContentSecurityPolicy).toEqual({
      ContentSecurityPolicy: webContentSecurityPolicy(),
      Override: true,
    });
    // The API keeps its own CSP (JSON runs nothing; /docs runs its script by hash).
    expect(api.ContentSecurityPolicy).toBeUndefined();
    for (const h of [site, api]) {
      expect(h.StrictTransportSecurity).toMatchObject({ IncludeSubdomains: true, Override: true });
      expect(h.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThanOrEqual(31_536_000);
      expect(h.ContentTypeOptions).toEqual({ Override: true });
      expect(h.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
      expect(h.ReferrerPolicy).toEqual({ ReferrerPolicy: 'no-referrer', Override: true });
    }
  });

  it("the /api function forwards the viewer's Host as X-Forwarded-Host, overwriting the viewer's", () => {
    const handler = new Function(`${STRIP_API_PREFIX_CODE}; return handler;`)() as (e: Json) => Json;
    const out = handler({
      request: {
        uri: '/api/analyze',
        headers: { host: { value: 'd111.cloudfront.net' }, 'x-forwarded-host': { value: 'evil.example' } },
      },
    });
    expect(out.uri).toBe('/analyze');
    expect(out.headers['x-forwarded-host']).toEqual({ value: 'd111.cloudfront.net' });
  });

  it('has no write key by default', () => {
    expect(ofType(s.api, 'AWS::SecretsManager::Secret')).toEqual([]);
    for (const fn of Object.values(functionsByPrefix(s.api)))
      expect(fn.env).not.toHaveProperty('WRITE_KEY_SECRET_ARN');
  });

  it('-c writeKey=true: a generated secret, readable only by the route groups with writes, nag clean', () => {
    const k = synth({ writeKey: true });
    const secrets = ofType(k.api, 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(1);
    const [secretId, secret] = secrets[0]!;
    expect(secret.Properties?.GenerateSecretString).toMatchObject({ PasswordLength: 40 });
    const fns = functionsByPrefix(k.api);
    const withArn = Object.entries(fns)
      .filter(([, f]) => 'WRITE_KEY_SECRET_ARN' in f.env)
      .map(([name]) => name)
      .sort();
    expect(withArn).toEqual(['ApiAnalysis', 'ApiBacktests', 'ApiLearning']);
    expect(granted(k.api, 'secretsmanager:GetSecretValue', secretId)).toEqual([
      'ApiAnalysis',
      'ApiBacktests',
      'ApiLearning',
    ]);
    expect(environmentLeaks(k.api)).toEqual([]);
    expect(Object.keys(k.api.Outputs ?? {})).toContain('WriteKeySecretArn');
  });
});

describe('CDK context for the decision Map', () => {
  it('refuses more than 40 decision points at once without enough reserved agent-steps concurrency', () => {
    expect(() => synth({ mapConcurrency: 100 }, false)).toThrow(
      /agentStepsReservedConcurrency \(at least 300\)/,
    );
    expect(() => synth({ mapConcurrency: 100, agentStepsReservedConcurrency: 200 }, false)).toThrow(
      /below 300/,
    );
  });

  it('reserves the agent-steps concurrency and raises the Map above the inline cap', () => {
    const { api } = synth({ mapConcurrency: 100, agentStepsReservedConcurrency: 300 }, false);
    const fns = functionsByPrefix(api);
    expect(api.Resources[fns.AgentSteps!.id]!.Properties?.ReservedConcurrentExecutions).toBe(300);
    const [, machine] = ofType(api, 'AWS::StepFunctions::StateMachine').find(([i]) =>
      i.startsWith('WorkflowsBacktest'),
    )!;
    const asl = JSON.parse(
      resolveIntrinsics(machine.Properties?.DefinitionString, {
        [fns.AgentSteps!.id]: 'a',
        [fns.BacktestSteps!.id]: 'b',
      }),
    );
    expect(asl.States['Decision points'].MaxConcurrency).toBe(100);
  });
});

describe('CDK app with -c natGateway=true', () => {
  it('uses a managed NAT gateway instead of the instance', () => {
    const { data } = synth({ natGateway: true }, false);
    expect(ofType(data, 'AWS::EC2::NatGateway')).toHaveLength(1);
    expect(ofType(data, 'AWS::EC2::Instance')).toHaveLength(0);
  });
});
