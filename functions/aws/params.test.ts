/**
 * Settings on AWS, read from SSM and Secrets Manager at cold start through Powertools Parameters. The
 * SDK clients are real, with their `send` replaced by recorders (there is no AWS here): each answers like
 * the service and records the commands it got.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { LLM_KEY_UNSET, SSM_SETTING_KEYS } from './param-names';
import { databaseUrlFromSecret, loadAwsSettings } from './params';

const PREFIX = '/agent-trading-firm/settings';
const DB_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf';
const LLM_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:llm-AbCdEf';

const CLIENT = { region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

function ssmWith(values: Record<string, string>) {
  const calls: string[][] = [];
  return Object.assign(new SSMClient(CLIENT), {
    calls,
    async send(cmd: unknown) {
      expect(cmd).toBeInstanceOf(GetParametersCommand);
      const names = (cmd as GetParametersCommand).input.Names ?? [];
      expect(names.length).toBeLessThanOrEqual(10);
      calls.push(names);
      return {
        Parameters: names.filter((n) => n in values).map((n) => ({ Name: n, Value: values[n] })),
        InvalidParameters: names.filter((n) => !(n in values)),
      };
    },
  }) as SSMClient & { calls: string[][] };
}

function secretsWith(values: Record<string, string>) {
  const calls: string[] = [];
  return Object.assign(new SecretsManagerClient(CLIENT), {
    calls,
    async send(cmd: unknown) {
      expect(cmd).toBeInstanceOf(GetSecretValueCommand);
      const id = (cmd as GetSecretValueCommand).input.SecretId!;
      calls.push(id);
      if (!(id in values)) throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
      return { SecretString: values[id] };
    },
  }) as SecretsManagerClient & { calls: string[] };
}

const dbSecret = JSON.stringify({
  username: 'app',
  password: 'p@ss/w:rd',
  host: 'db.internal',
  port: 5432,
  dbname: 'trading',
});

describe('loadAwsSettings', () => {
  it('merges SSM settings and secrets into validated Settings, reading each known parameter by name', async () => {
    const ssm = ssmWith({ [`${PREFIX}/DAILY_TOKEN_BUDGET`]: '12345', [`${PREFIX}/STRONG_MODEL`]: 'gpt-x' });
    const secrets = secretsWith({ [DB_ARN]: dbSecret, [LLM_ARN]: 'sk-live-key' });
    const s = await loadAwsSettings({
      env: {
        PARAMS_PREFIX: PREFIX,
        DB_SECRET_ARN: DB_ARN,
        LLM_API_KEY_SECRET_ARN: LLM_ARN,
        LOG_LEVEL: 'warn',
      },
      ssm,
      secrets,
    });
    expect(s.DAILY_TOKEN_BUDGET).toBe(12345);
    expect(s.STRONG_MODEL).toBe('gpt-x');
    expect(s.CHEAP_MODEL).toBe('gpt-4.1-mini'); // not in SSM: the default
    expect(s.LOG_LEVEL).toBe('warn');
    expect(s.LLM_API_KEY).toBe('sk-live-key');
    expect(s.DATABASE_URL).toBe('postgres://app:p%40ss%2Fw%3Ard@db.internal:5432/trading');
    expect(s.DATABASE_SSL).toBe(true);
    expect(ssm.calls.flat().sort()).toEqual(SSM_SETTING_KEYS.map((k) => `${PREFIX}/${k}`).sort());
    expect(secrets.calls.sort()).toEqual([DB_ARN, LLM_ARN].sort());
  });

  it('runs the offline provider while the LLM secret holds the placeholder', async () => {
    const s = await loadAwsSettings({
      env: { LLM_API_KEY_SECRET_ARN: LLM_ARN },
      secrets: secretsWith({ [LLM_ARN]: LLM_KEY_UNSET }),
    });
    expect(s.LLM_API_KEY).toBeUndefined();
  });

  it('never takes a secret from the environment', async () => {
    const s = await loadAwsSettings({
      env: { LLM_API_KEY: 'sk-from-env', DATABASE_URL: 'postgres://x@y/z' },
    });
    expect(s.LLM_API_KEY).toBeUndefined();
    expect(s.DATABASE_URL).toBeUndefined();
  });

  it('fails with the setting named when a parameter is invalid', async () => {
    const ssm = ssmWith({ [`${PREFIX}/MAX_POSITION_SIZE_PCT`]: '250' });
    await expect(loadAwsSettings({ env: { PARAMS_PREFIX: PREFIX }, ssm })).rejects.toThrow(
      /MAX_POSITION_SIZE_PCT/,
    );
  });

  it('fails clearly when the database secret is incomplete', () => {
    expect(() => databaseUrlFromSecret(JSON.stringify({ username: 'a', host: 'h', port: 1 }))).toThrow(
      /password/,
    );
    expect(() => databaseUrlFromSecret('not json')).toThrow(/not JSON/);
    // RDS's attachment adds host, port and engine, not the database name: never guess `postgres`.
    const noDbName = { username: 'app', password: 'p', host: 'h', port: 5432, engine: 'postgres' };
    expect(() => databaseUrlFromSecret(JSON.stringify(noDbName))).toThrow(/dbname/);
  });
});
