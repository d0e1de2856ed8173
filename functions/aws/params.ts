/**
 * Settings on AWS: read once per execution environment (at cold start) and cached, then validated by the
 * same `loadSettings` the laptop uses, so a bad parameter fails the same way with the same message.
 *
 * Sources, in order (later wins):
 * 1. the function's environment: only names and ARNs (PARAMS_PREFIX, DB_SECRET_ARN,
 *    LLM_API_KEY_SECRET_ARN, state machine ARNs) and non-secret knobs (LOG_LEVEL);
 * 2. SSM Parameter Store: the settings listed in param-names.ts, under PARAMS_PREFIX, named like the setting;
 * 3. Secrets Manager: the database credentials RDS generated (-> DATABASE_URL with TLS on) and the LLM
 *    key (-> LLM_API_KEY; while it still holds the LLM_KEY_UNSET placeholder, the offline provider runs).
 *
 * The SDK clients are passed in (a `send` is all this needs), so tests drive this with recorded calls
 * and no AWS account. Secret values never leave the returned Settings: nothing here logs them.
 */

import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, type GetParametersCommandOutput, SSMClient } from '@aws-sdk/client-ssm';
import { loadSettings, type Settings } from '../../shared/config/settings';
import { ENV, LLM_KEY_UNSET, SSM_SETTING_KEYS } from './param-names';

/** The one method of an AWS SDK v3 client this module uses. */
export interface SendsCommands {
  send(command: unknown): Promise<unknown>;
}

export interface AwsSettingsSources {
  env?: Record<string, string | undefined>;
  ssm?: SendsCommands;
  secrets?: SendsCommands;
}

/** The JSON RDS writes into its generated secret (fields we use). */
interface DbSecret {
  username: string;
  password: string;
  host: string;
  port: number | string;
  dbname: string;
}

const KNOWN_KEYS = new Set<string>(SSM_SETTING_KEYS);

export class AwsConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AwsConfigError';
  }
}

/** SSM's GetParameters takes at most 10 names per call. */
const SSM_BATCH = 10;

/**
 * Read the known settings under the prefix by name (GetParameters, batched), which is what the stacks
 * grant (read on each parameter, nothing on the path). A parameter that does not exist keeps its default.
 */
export async function readParameters(ssm: SendsCommands, prefix: string): Promise<Record<string, string>> {
  const base = prefix.replace(/\/$/, '');
  const out: Record<string, string> = {};
  for (let i = 0; i < SSM_SETTING_KEYS.length; i += SSM_BATCH) {
    const keys = SSM_SETTING_KEYS.slice(i, i + SSM_BATCH);
    const page = (await ssm.send(
      new GetParametersCommand({ Names: keys.map((k) => `${base}/${k}`), WithDecryption: true }),
    )) as GetParametersCommandOutput;
    for (const p of page.Parameters ?? []) {
      const key = p.Name?.slice(base.length + 1);
      if (key && KNOWN_KEYS.has(key) && p.Value !== undefined) out[key] = p.Value;
    }
  }
  return out;
}

async function secretString(secrets: SendsCommands, arn: string): Promise<string> {
  const res = (await secrets.send(new GetSecretValueCommand({ SecretId: arn }))) as { SecretString?: string };
  if (res.SecretString === undefined) throw new AwsConfigError(`secret ${arn} has no string value`);
  return res.SecretString;
}

/**
 * postgres://user:pass@host:port/db from the RDS secret; the names are escaped, TLS is on. Every field is
 * required, `dbname` included (the stack puts it in the secret): falling back to the server's default
 * database would run the migrations and the app against the wrong database without a word.
 */
export function databaseUrlFromSecret(json: string): string {
  let s: DbSecret;
  try {
    s = JSON.parse(json) as DbSecret;
  } catch {
    throw new AwsConfigError('the database secret is not JSON');
  }
  for (const field of ['username', 'password', 'host', 'port', 'dbname'] as const)
    if (s[field] === undefined || s[field] === '')
      throw new AwsConfigError(`the database secret has no ${field}`);
  return `postgres://${encodeURIComponent(s.username)}:${encodeURIComponent(s.password)}@${s.host}:${s.port}/${encodeURIComponent(s.dbname)}`;
}

export async function loadAwsSettings(sources: AwsSettingsSources = {}): Promise<Settings> {
  const env = sources.env ?? process.env;
  const merged: Record<string, string | undefined> = {};
  // The environment never supplies a secret, even if someone puts one there: the key and the database
  // URL come from Secrets Manager below, or not at all.
  for (const [k, v] of Object.entries(env))
    if (k !== 'LLM_API_KEY' && k !== 'DATABASE_URL' && k !== 'WRITE_KEY') merged[k] = v;

  const prefix = env[ENV.paramsPrefix];
  if (prefix) Object.assign(merged, await readParameters(sources.ssm ?? new SSMClient({}), prefix));

  const secrets = sources.secrets ?? (needsSecrets(env) ? new SecretsManagerClient({}) : undefined);
  const dbArn = env[ENV.dbSecretArn];
  const llmArn = env[ENV.llmKeySecretArn];
  const writeKeyArn = env[ENV.writeKeySecretArn];
  const [dbJson, llmKey, writeKey] = await Promise.all([
    dbArn && secrets ? secretString(secrets, dbArn) : undefined,
    llmArn && secrets ? secretString(secrets, llmArn) : undefined,
    writeKeyArn && secrets ? secretString(secrets, writeKeyArn) : undefined,
  ]);
  if (writeKey !== undefined) merged.WRITE_KEY = writeKey;
  if (dbJson !== undefined) {
    merged.DATABASE_URL = databaseUrlFromSecret(dbJson);
    merged.DATABASE_SSL = 'true';
  }
  if (llmKey !== undefined && llmKey.trim() !== '' && llmKey.trim() !== LLM_KEY_UNSET)
    merged.LLM_API_KEY = llmKey.trim();
  return loadSettings(merged);
}

function needsSecrets(env: Record<string, string | undefined>): boolean {
  return Boolean(env[ENV.dbSecretArn] || env[ENV.llmKeySecretArn] || env[ENV.writeKeySecretArn]);
}

let cached: Promise<Settings> | undefined;
/**
 * The settings of this execution environment: loaded on first use (cold start) and cached. A failed
 * load is not cached, so the next invocation tries again instead of failing forever.
 */
export function getAwsSettings(sources?: AwsSettingsSources): Promise<Settings> {
  if (!cached) {
    cached = loadAwsSettings(sources);
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}
