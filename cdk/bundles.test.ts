/**
 * The REAL Lambda bundles, loaded and run the way the nodejs22.x runtime would, offline.
 *
 * Every AppFunction of the app is bundled with the very esbuild options AppFunction hands to
 * NodejsFunction (`lambdaBundling`, the migrations copy hook included) into a folder OUTSIDE the
 * repository, where the only resolvable packages are `@aws-sdk/*` (what the runtime provides). Then each
 * bundle is imported in its own Node process, as Lambda imports `index.mjs`.
 *
 * Always: no bundle statically imports anything but Node built-ins and the AWS SDK (a static import of
 * an external package fails the whole function at load, before any handler runs); each bundle loads and
 * exports `handler`; the migrate bundle carries its migrations folder; the docs function answers, and
 * logs through Powertools (JSON, correlation id, cold start, a ColdStart metric in the namespace); the
 * task dispatcher's errors keep the `name` Step Functions matches on after minification.
 *
 * With TEST_PG=1 (and `openssl` to make a throwaway certificate), end to end on the PostgreSQL server:
 * SSM, Secrets Manager and Step Functions are answered by a local server speaking their JSON protocols
 * (the real SDK inside the bundle, pointed at it by AWS_ENDPOINT_URL), the database is reached through a
 * TLS-only front that maps the RDS database name to a scratch database and refuses plaintext or another
 * database. It proves: settings and secrets read once per cold start; DATABASE_URL from the generated
 * secret's fields (dbname included); TLS on; one connection per execution environment; migrations found
 * and applied, idempotently; the placeholder LLM key logged as the offline provider; no password in logs.
 */
import { type ChildProcess, execFileSync, execSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { App, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as esbuild from 'esbuild';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PG_ENABLED } from '../shared/db/testing';
import { DEFAULT_METRICS_NAMESPACE } from '../shared/observability/metrics';
import { PROMPT_AGENTS } from '../shared/prompts/builtin';
import { buildApp } from './app';
import { AppFunction, lambdaBundling, MIGRATIONS_IN_BUNDLE, REPO_ROOT } from './constructs/app-function';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON, read by shape here.
type Json = any;

interface Bundle {
  name: string;
  dir: string;
  entry: string;
  copyMigrations: boolean;
  /** Environment variable names and literal values, from the synthesized template. */
  env: Record<string, Json>;
  staticExternals: string[];
}

const LOADER = `import { pathToFileURL } from 'node:url';
const [file, eventsJson] = process.argv.slice(2);
const out = { results: [] };
try {
  const mod = await import(pathToFileURL(file).href);
  out.handler = typeof mod.handler;
  for (const event of JSON.parse(eventsJson)) {
    try { out.results.push({ ok: true, value: await mod.handler(event, { awsRequestId: 'req-1' }) }); }
    catch (e) { out.results.push({ ok: false, errorType: e?.name, errorMessage: e?.message }); }
  }
} catch (e) { out.loadError = String(e?.message ?? e); }
// Exit only once the line is flushed: stdout to a pipe is asynchronous, and the OpenAPI document alone
// is past a pipe's buffer, so exiting at once cut the line short.
process.stdout.write('@@' + JSON.stringify(out) + '\\n', () => process.exit(0));
`;

interface Run {
  handler?: string;
  loadError?: string;
  results: { ok: boolean; value?: Json; errorType?: string; errorMessage?: string }[];
  stdout: string;
  stderr: string;
}

let root: string;
let bundles: Record<string, Bundle>;

function apiEvent(method: string, p: string, body?: unknown) {
  return {
    resource: p,
    path: p,
    httpMethod: method,
    headers: { 'content-type': 'application/json' },
    queryStringParameters: null,
    pathParameters: null,
    isBase64Encoded: false,
    body: body === undefined ? null : JSON.stringify(body),
    requestContext: { requestId: `apigw-${randomBytes(4).toString('hex')}`, stage: 'prod' },
  };
}

/** The function's literal environment from the template (Powertools' settings), as Lambda would set it. */
function lambdaEnvOf(b: Bundle): Record<string, string> {
  return Object.fromEntries(
    Object.entries(b.env).filter(
      (e): e is [string, string] => typeof e[1] === 'string' && e[0] !== 'NODE_EXTRA_CA_CERTS',
    ),
  );
}

/** The JSON lines a run printed (log lines and EMF metrics). */
function jsonLines(out: string): Json[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
}

/** Import one bundle in a fresh Node process (a cold start), invoke it with `events`, in order. */
function invoke(b: Bundle, events: unknown[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(
      process.execPath,
      [path.join(root, 'load.mjs'), path.join(b.dir, 'index.mjs'), JSON.stringify(events)],
      { cwd: b.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c) => {
      stdout += c;
    });
    child.stderr?.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', () => {
      const line = stdout.split('\n').find((l) => l.startsWith('@@'));
      if (!line) return reject(new Error(`no result from ${b.name}: ${stderr.slice(0, 2000)}`));
      try {
        resolve({ ...(JSON.parse(line.slice(2)) as Run), stdout, stderr });
      } catch (e) {
        reject(new Error(`unreadable result from ${b.name} (${line.length} chars): ${(e as Error).message}`));
      }
    });
  });
}

beforeAll(async () => {
  // The deployed functions, from the app itself (bundling off: templates only, in seconds).
  const app = new App({ context: { bundling: false } });
  const built = buildApp(app, { nag: false });
  const assembly = app.synth();
  const fns = app.node.findAll().filter((c): c is AppFunction => c instanceof AppFunction);

  root = mkdtempSync(path.join(tmpdir(), 'lambda-bundles-'));
  writeFileSync(path.join(root, 'load.mjs'), LOADER);
  // What the runtime provides: the AWS SDK v3, and nothing else.
  const sdk = path.join(REPO_ROOT, 'node_modules/@aws-sdk');
  mkdirSync(path.join(root, 'node_modules/@aws-sdk'), { recursive: true });
  for (const pkg of readdirSync(sdk))
    symlinkSync(path.join(sdk, pkg), path.join(root, 'node_modules/@aws-sdk', pkg), 'dir');

  bundles = {};
  await Promise.all(
    fns.map(async (fn) => {
      const stack = Stack.of(fn);
      const template = assembly.getStackArtifact(stack.artifactId).template;
      const logicalId = stack.getLogicalId(fn.function.node.defaultChild as CfnFunction);
      const name = fn.node.id;
      const dir = path.join(root, 'functions', name);
      mkdirSync(dir, { recursive: true });
      const b = lambdaBundling({ copyMigrations: fn.copyMigrations });
      const result = await esbuild.build({
        absWorkingDir: REPO_ROOT,
        entryPoints: [path.join(REPO_ROOT, fn.entry)],
        bundle: true,
        outfile: path.join(dir, 'index.mjs'),
        platform: 'node', // NodejsFunction always passes --platform=node
        format: b.format === OutputFormat.ESM ? 'esm' : 'cjs',
        target: b.target,
        mainFields: b.mainFields,
        banner: b.banner ? { js: b.banner } : undefined,
        minify: b.minify,
        sourcemap: b.sourceMap,
        external: b.externalModules,
        metafile: true,
        logLevel: 'silent',
      });
      for (const cmd of b.commandHooks?.afterBundling(REPO_ROOT, dir) ?? []) execSync(cmd);
      const staticExternals = Object.values(result.metafile.outputs)
        .flatMap((o) => o.imports)
        .filter((i) => i.external && i.kind === 'import-statement')
        .map((i) => i.path);
      bundles[name] = {
        name,
        dir,
        entry: fn.entry,
        copyMigrations: fn.copyMigrations,
        env: template.Resources[logicalId].Properties.Environment?.Variables ?? {},
        staticExternals: [...new Set(staticExternals)],
      };
    }),
  );
  expect(Object.keys(bundles).length).toBe(fns.length);
  void built;
  // Ten bundles built in parallel on a shared 2-core machine (Powertools made each a little larger).
}, 300_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('Lambda bundles (built with AppFunction’s esbuild options, loaded with only the AWS SDK)', () => {
  it('covers every function of the app: migrate, both task functions, every API route group', () => {
    expect(Object.keys(bundles).sort()).toEqual(
      [
        'AgentSteps',
        'ApiAnalysis',
        'ApiBacktests',
        'ApiCosts',
        'ApiDocs',
        'ApiLearning',
        'ApiMarket',
        'ApiPortfolio',
        'ApiPrompts',
        'BacktestSteps',
        'Migrate',
      ].sort(),
    );
  });

  it('statically imports nothing but Node built-ins and the AWS SDK (the PGlite driver stays lazy)', () => {
    for (const b of Object.values(bundles)) {
      const offenders = b.staticExternals.filter((p) => !p.startsWith('node:') && !p.startsWith('@aws-sdk/'));
      expect(offenders, `${b.name} (${b.entry})`).toEqual([]);
    }
  });

  it('loads every bundle in a fresh Node process and finds its handler', async () => {
    const runs = await Promise.all(
      Object.values(bundles).map(async (b) => [b.name, await invoke(b, [])] as const),
    );
    for (const [name, run] of runs) {
      expect(run.loadError, name).toBeUndefined();
      expect(run.handler, name).toBe('function');
    }
  });

  it('ships the migrations beside the migrate bundle, where shared/db/client.ts looks for them', () => {
    const journal = path.join(bundles.Migrate!.dir, MIGRATIONS_IN_BUNDLE, 'meta', '_journal.json');
    expect(existsSync(journal)).toBe(true);
    const entries = (JSON.parse(readFileSync(journal, 'utf8')) as { entries: { tag: string }[] }).entries;
    for (const e of entries)
      expect(existsSync(path.join(bundles.Migrate!.dir, MIGRATIONS_IN_BUNDLE, `${e.tag}.sql`))).toBe(true);
    // Only the migrate function carries them.
    expect(
      Object.values(bundles)
        .filter((b) => existsSync(path.join(b.dir, MIGRATIONS_IN_BUNDLE)))
        .map((b) => b.name),
    ).toEqual(['Migrate']);
  });

  it('answers from the docs bundle, which needs no AWS call and no database', async () => {
    const event = apiEvent('GET', '/openapi.json');
    // (A second invocation, of a missing route: the runner's one stdout line stays small.)
    const run = await invoke(bundles.ApiDocs!, [event, apiEvent('GET', '/nowhere')], {
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      ...lambdaEnvOf(bundles.ApiDocs!),
    });
    const res = run.results[0]!;
    expect(res.ok).toBe(true);
    expect(res.value.statusCode).toBe(200);
    expect(JSON.parse(res.value.body).openapi).toMatch(/^3\./);
    // Powertools inside the bundle: JSON access lines with the request id as correlation id, the
    // cold start flagged on the first invocation only, and a ColdStart metric in the stack's namespace.
    const lines = jsonLines(run.stdout);
    const access = lines.filter((l) => l.message === 'request');
    expect(access).toHaveLength(2);
    expect(access[0]).toMatchObject({
      level: 'INFO',
      service: 'agent-trading-firm',
      correlation_id: event.requestContext.requestId,
      cold_start: true,
      function_request_id: 'req-1',
      group: 'docs',
      status: 200,
    });
    expect(access[1]).toMatchObject({ cold_start: false, status: 404 });
    expect(access[1].correlation_id).not.toBe(event.requestContext.requestId);
    const coldStart = lines.find((l) => l._aws?.CloudWatchMetrics?.[0]?.Metrics?.[0]?.Name === 'ColdStart');
    expect(coldStart?._aws.CloudWatchMetrics[0].Namespace).toBe(DEFAULT_METRICS_NAMESPACE);
  });

  it('keeps the error names Step Functions matches on, minified (Lambda reports error.name as errorType)', async () => {
    const [agent, backtest] = await Promise.all([
      invoke(bundles.AgentSteps!, [{ step: 'runEverything' }]),
      invoke(bundles.BacktestSteps!, [{ step: 'runEverything' }]),
    ]);
    // The step is checked before the container (settings, database) is built, so no AWS is needed here.
    expect(agent.results[0]).toMatchObject({ ok: false, errorType: 'VALIDATION_ERROR' });
    expect(backtest.results[0]).toMatchObject({ ok: false, errorType: 'VALIDATION_ERROR' });
  });
});

// ---------- end to end: fake AWS endpoints + a TLS-only PostgreSQL front ----------

const HAS_OPENSSL = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const E2E = TEST_PG_ENABLED && HAS_OPENSSL;
const E2E_REASON = !TEST_PG_ENABLED
  ? 'set TEST_PG=1 (PostgreSQL at 127.0.0.1:5432)'
  : 'openssl is not installed (needed for a throwaway TLS certificate)';
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PASSWORD = 'Gen3rated.Pa55-word,with^odd=chars';
const PARAMS_OVERRIDE = { DAILY_TOKEN_BUDGET: '123456' };

describe.skipIf(!E2E)(`Lambda bundles end to end${E2E ? '' : ` (skipped: ${E2E_REASON})`}`, () => {
  const ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret';
  const DB_ARN = `${ARN}:db-AbCdEf`;
  const LLM_ARN = `${ARN}:llm-AbCdEf`;
  const scratch = `lsim_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const awsCalls: { target: string; input: Json }[] = [];
  const connections: { tls: boolean; database?: string; user?: string; refused?: string }[] = [];
  let aws: http.Server;
  let front: net.Server;
  let admin: pg.Client;
  let certDir = '';
  let dbSecretJson: string;
  let dbName: string;
  let params: Record<string, string>;

  /** Read a StartupMessage (int32 length first) from a stream that may split it. */
  const readStartup = (s: tls.TLSSocket) =>
    new Promise<Buffer>((resolve) => {
      let buf = Buffer.alloc(0);
      const onData = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (buf.length >= 4 && buf.length >= buf.readInt32BE(0)) {
          s.off('data', onData);
          resolve(buf);
        }
      };
      s.on('data', onData);
    });

  beforeAll(async () => {
    const app = new App({ context: { bundling: false } });
    const built = buildApp(app, { nag: false });
    const data = app.synth().getStackArtifact(built.data.artifactId).template;
    const resources = Object.values(data.Resources) as Json[];
    const gen = resources.find(
      (r) => r.Type === 'AWS::SecretsManager::Secret' && r.Properties.GenerateSecretString,
    ).Properties.GenerateSecretString;
    dbName = resources.find((r) => r.Type === 'AWS::RDS::DBInstance').Properties.DBName;
    params = Object.fromEntries(
      resources
        .filter((r) => r.Type === 'AWS::SSM::Parameter')
        .map((r) => [r.Properties.Name, r.Properties.Value]),
    );
    for (const [k, v] of Object.entries(PARAMS_OVERRIDE)) params[`${built.data.paramsPrefix}/${k}`] = v;

    certDir = path.join(root, 'tls');
    mkdirSync(certDir);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=db.test',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        path.join(certDir, 'key.pem'),
        '-out',
        path.join(certDir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(path.join(certDir, 'cert.pem'));
    const key = readFileSync(path.join(certDir, 'key.pem'));

    admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${scratch}`);

    front = net.createServer((sock) => {
      const conn: (typeof connections)[number] = { tls: false };
      connections.push(conn);
      sock.on('error', () => undefined);
      sock.once('data', async (first) => {
        if (!(first.length === 8 && first.readInt32BE(4) === 80877103)) {
          conn.refused = 'plaintext';
          sock.end();
          return;
        }
        sock.write('S');
        const secure = new tls.TLSSocket(sock, { isServer: true, cert, key });
        secure.on('error', () => undefined);
        conn.tls = true;
        const startup = await readStartup(secure);
        const parts = startup
          .subarray(8, startup.length - 1)
          .toString('utf8')
          .split('\0');
        const kv: Record<string, string> = {};
        for (let i = 0; i + 1 < parts.length; i += 2) kv[parts[i]!] = parts[i + 1]!;
        conn.database = kv.database;
        conn.user = kv.user;
        if (kv.database !== dbName) {
          conn.refused = `database ${kv.database}`;
          secure.end();
          return;
        }
        // The scratch database stands for RDS's; the server's trust auth stands for the password.
        kv.database = scratch;
        kv.user = new URL(ADMIN_URL).username || 'postgres';
        const body = Buffer.from(
          `${Object.entries(kv)
            .map(([k, v]) => `${k}\0${v}\0`)
            .join('')}\0`,
        );
        const head = Buffer.alloc(8);
        head.writeInt32BE(8 + body.length, 0);
        head.writeInt32BE(startup.readInt32BE(4), 4);
        const target = new URL(ADMIN_URL);
        const upstream = net.connect(Number(target.port || 5432), target.hostname, () => {
          upstream.write(Buffer.concat([head, body]));
          secure.pipe(upstream).pipe(secure);
        });
        upstream.on('error', () => secure.destroy());
      });
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const frontPort = (front.address() as net.AddressInfo).port;
    // What the generated secret holds once RDS's attachment has added the connection fields.
    dbSecretJson = JSON.stringify({
      ...JSON.parse(gen.SecretStringTemplate),
      [gen.GenerateStringKey]: PASSWORD,
      engine: 'postgres',
      host: '127.0.0.1',
      port: frontPort,
      dbInstanceIdentifier: 'tradingfirm-data-database',
    });

    aws = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => {
        raw += c;
      });
      req.on('end', () => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const input = raw ? JSON.parse(raw) : {};
        awsCalls.push({ target, input });
        const reply = (status: number, o: unknown) => {
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
          res.end(JSON.stringify(o));
        };
        if (target === 'AmazonSSM.GetParameters') {
          const names: string[] = input.Names ?? [];
          return reply(200, {
            Parameters: names
              .filter((n) => n in params)
              .map((n) => ({ Name: n, Value: params[n], Type: 'String' })),
            InvalidParameters: names.filter((n) => !(n in params)),
          });
        }
        if (target === 'secretsmanager.GetSecretValue') {
          const value = { [DB_ARN]: dbSecretJson, [LLM_ARN]: 'UNSET' }[input.SecretId as string];
          if (value === undefined) return reply(400, { __type: 'ResourceNotFoundException', message: 'no' });
          return reply(200, { ARN: input.SecretId, SecretString: value });
        }
        if (target === 'AWSStepFunctions.StartExecution')
          return reply(200, {
            executionArn: `${input.stateMachineArn}:${input.name}`,
            startDate: Date.now() / 1000,
          });
        reply(400, { __type: 'UnknownOperationException', message: target });
      });
    });
    await new Promise<void>((r) => aws.listen(0, '127.0.0.1', r));
  }, 60_000);

  afterAll(async () => {
    await new Promise((r) => aws?.close(r));
    await new Promise((r) => front?.close(r));
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
      await admin.end();
    }
  });

  /** The function's environment as deployed: its variable names from the template, fake ARNs as values. */
  function lambdaEnv(b: Bundle): Record<string, string> {
    // The template points NODE_EXTRA_CA_CERTS at the Lambda runtime's CA bundle (RDS's CAs); here the
    // throwaway CA of the TLS front stands in for it, so certificate verification is exercised for real.
    expect(b.env.NODE_EXTRA_CA_CERTS).toBe('/var/runtime/ca-cert.pem');
    const values: Record<string, string> = {
      DB_SECRET_ARN: DB_ARN,
      LLM_API_KEY_SECRET_ARN: LLM_ARN,
      CORS_ORIGIN: 'https://d111.cloudfront.net',
      ANALYSIS_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:111122223333:stateMachine:Analysis',
      BACKTEST_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:111122223333:stateMachine:Backtest',
    };
    const env: Record<string, string> = {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example',
      AWS_ENDPOINT_URL: `http://127.0.0.1:${(aws.address() as net.AddressInfo).port}`,
      // What Lambda sets in an on-demand environment (Powertools' cold-start flag reads it).
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    };
    for (const [k, v] of Object.entries(b.env)) {
      if (typeof v === 'string') env[k] = v;
      else if (values[k]) env[k] = values[k];
      else throw new Error(`${b.name}: no stand-in for ${k}`);
    }
    env.NODE_EXTRA_CA_CERTS = path.join(certDir, 'cert.pem');
    return env;
  }

  it('migrates over TLS into the database named in the secret, idempotently, one connection each', async () => {
    const migrate = bundles.Migrate!;
    const before = connections.length;
    const first = await invoke(
      migrate,
      [{ RequestType: 'Create' }, { RequestType: 'Update' }],
      lambdaEnv(migrate),
    );
    const second = await invoke(migrate, [{ RequestType: 'Update' }], lambdaEnv(migrate));
    for (const r of [...first.results, ...second.results])
      expect(r).toMatchObject({ ok: true, value: { migrated: true } });
    const made = connections.slice(before);
    expect(made.every((c) => c.tls && !c.refused && c.database === dbName && c.user === 'app')).toBe(true);
    expect(made).toHaveLength(3); // one per invocation (opened and closed by the handler)
    const journal = JSON.parse(
      readFileSync(path.join(migrate.dir, MIGRATIONS_IN_BUNDLE, 'meta', '_journal.json'), 'utf8'),
    );
    const scratchDb = new pg.Client({ connectionString: ADMIN_URL.replace(/\/[^/]*$/, `/${scratch}`) });
    await scratchDb.connect();
    try {
      const applied = await scratchDb.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
      expect(applied.rows[0].n).toBe(journal.entries.length);
      const tables = await scratchDb.query(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'decisions'",
      );
      expect(tables.rows[0].n).toBe(1);
      // The migration step registers the code's prompts too (each cold start does it again, idempotently).
      const prompts = await scratchDb.query(
        "SELECT count(*)::int AS n FROM agent_prompts WHERE origin = 'builtin'",
      );
      expect(prompts.rows[0].n).toBe(PROMPT_AGENTS.length);
    } finally {
      await scratchDb.end();
    }
    expect(`${first.stdout}${first.stderr}`).not.toContain(PASSWORD);
  });

  it('serves the API from SSM settings and the RDS secret, read once per cold start, over one TLS connection', async () => {
    const costs = bundles.ApiCosts!;
    const callsBefore = awsCalls.length;
    const connBefore = connections.length;
    const run = await invoke(costs, [apiEvent('GET', '/costs'), apiEvent('GET', '/costs')], lambdaEnv(costs));
    for (const r of run.results) expect(r.ok && r.value.statusCode).toBe(200);
    expect(JSON.parse(run.results[0]!.value.body).budget.tokens).toBe(
      Number(PARAMS_OVERRIDE.DAILY_TOKEN_BUDGET),
    );
    const calls = awsCalls.slice(callsBefore).map((c) => c.target);
    // 14 parameters in two GetParameters pages and one secret, for two requests: cached after the first.
    expect(calls).toEqual([
      'AmazonSSM.GetParameters',
      'AmazonSSM.GetParameters',
      'secretsmanager.GetSecretValue',
    ]);
    expect(connections.slice(connBefore)).toEqual([{ tls: true, database: dbName, user: 'app' }]);
    expect(`${run.stdout}${run.stderr}`).not.toContain(PASSWORD);
  });

  it('serves the prompt registry from its own function', async () => {
    const prompts = bundles.ApiPrompts!;
    const run = await invoke(
      prompts,
      [apiEvent('GET', '/prompts'), apiEvent('GET', '/prompts/trader')],
      lambdaEnv(prompts),
    );
    for (const r of run.results) expect(r.ok && r.value.statusCode).toBe(200);
    expect(JSON.parse(run.results[0]!.value.body).agents).toHaveLength(PROMPT_AGENTS.length);
    expect(JSON.parse(run.results[1]!.value.body).versions[0].origin).toBe('builtin');
  });

  it('runs the offline provider while the LLM key is the placeholder, and says so at cold start', async () => {
    const analysis = bundles.ApiAnalysis!;
    const run = await invoke(
      analysis,
      [apiEvent('POST', '/analyze', { symbol: 'BTCUSDT', timeframe: '1h', wait: false })],
      lambdaEnv(analysis),
    );
    expect(run.results[0]).toMatchObject({ ok: true, value: { statusCode: 202 } });
    const coldStart = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .find((l) => l.event === 'cold_start');
    // Powertools' Logger: the cold start's line carries the flag and API Gateway's request id.
    expect(coldStart).toMatchObject({
      provider: 'offline',
      llmKey: 'placeholder',
      db: 'pg',
      level: 'INFO',
      cold_start: true,
      correlation_id: expect.stringMatching(/^apigw-/),
    });
    expect(coldStart.message).toMatch(/placeholder/);
    const start = awsCalls.find((c) => c.target === 'AWSStepFunctions.StartExecution');
    expect(start?.input.stateMachineArn).toContain('stateMachine:Analysis');
    expect(`${run.stdout}${run.stderr}`).not.toContain(PASSWORD);
  });
});
