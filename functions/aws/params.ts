/**
 * Settings on AWS: read once per execution environment (at cold start) and cached, then validated by the
 * same `loadSettings` the laptop uses, so a bad parameter fails the same way with the same message.
 *
 * Sources, in order (later wins):
 * 1. the function's environment: only names and ARNs (PARAMS_PREFIX, DB_SECRET_ARN,
 *    LLM_API_KEY_SECRET_ARN, state machine ARNs) and non-secret knobs (LOG_LEVEL, METRICS_NAMESPACE);
 * 2. SSM Parameter Store: the settings listed in param-names.ts, under PARAMS_PREFIX, named like the setting;
 * 3. Secrets Manager: the database credentials RDS generated (-> DATABASE_URL with TLS on) and the LLM
 *    key (-> LLM_API_KEY; while it still holds the LLM_KEY_UNSET placeholder, the offline provider runs).
 *
 * The reads go through Powertools Parameters (`SSMProvider.getParametersByName`: GetParameters in
 * batches of 10 with decryption, missing names gathered instead of thrown; `SecretsProvider.get`), whose
 * cache holds each value PARAMS_MAX_AGE_S: a container rebuilt after a failed cold start does not read
 * again what it already has. The SDK clients are passed in (tests hand real clients whose `send` answers
 * like the service; on Lambda they are traced by Powertools Tracer). Secret values never leave the
 * returned Settings: nothing here logs them.
 */

import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { loadSettings, type Settings } from '../../shared/config/settings';
import { traced } from './observability';
import { ENV, LLM_KEY_UNSET, SSM_SETTING_KEYS } from './param-names';

export interface AwsSettingsSources {
  env?: Record<string, string | undefined>;
  ssm?: SSMClient;
  secrets?: SecretsManagerClient;
}

/** How long Powertools Parameters caches a value read (seconds). Settings are read once per cold start. */
export const PARAMS_MAX_AGE_S = 300;

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

/**
 * Read the known settings under the prefix by name (GetParameters in batches of 10, with decryption),
 * which is what the stacks grant (read on each parameter, nothing on the path). A parameter that does not
 * exist keeps its default.
 */
export async function readParameters(ssm: SSMProvider, prefix: string): Promise<Record<string, string>> {
  const base = prefix.replace(/\/$/, '');
  const names = Object.fromEntries(SSM_SETTING_KEYS.map((k) => [`${base}/${k}`, {}]));
  const values = (await ssm.getParametersByName(names, {
    decrypt: true,
    maxAge: PARAMS_MAX_AGE_S,
    throwOnError: false,
  })) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    const key = name.slice(base.length + 1);
    if (name.startsWith(`${base}/`) && KNOWN_KEYS.has(key) && typeof value === 'string') out[key] = value;
  }
  return out;
}

async function secretString(secrets: SecretsProvider, arn: string): Promise<string> {
  const value = await secrets.get(arn, { maxAge: PARAMS_MAX_AGE_S });
  if (typeof value !== 'string') throw new AwsConfigError(`secret ${arn} has no string value`);
  return value;
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
  if (prefix)
    Object.assign(
      merged,
      await readParameters(
        sources.ssm ? new SSMProvider({ awsSdkV3Client: sources.ssm }) : defaultSsm(),
        prefix,
      ),
    );

  const secrets = sources.secrets
    ? new SecretsProvider({ awsSdkV3Client: sources.secrets })
    : needsSecrets(env)
      ? defaultSecrets()
      : undefined;
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

// One provider (and so one cache) per execution environment, over traced SDK clients.
let ssmProvider: SSMProvider | undefined;
let secretsProvider: SecretsProvider | undefined;
function defaultSsm(): SSMProvider {
  ssmProvider ??= new SSMProvider({ awsSdkV3Client: traced(new SSMClient({})) });
  return ssmProvider;
}
function defaultSecrets(): SecretsProvider {
  secretsProvider ??= new SecretsProvider({ awsSdkV3Client: traced(new SecretsManagerClient({})) });
  return secretsProvider;
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
