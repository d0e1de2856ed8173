import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSettings, selectedProvider, settingsSchema } from './settings';

describe('loadSettings', () => {
  it('gives the documented defaults for an empty environment', () => {
    const s = loadSettings({});
    expect(s.PORT).toBe(3000);
    expect(s.INITIAL_CASH).toBe(10_000);
    expect(s.SYMBOLS).toEqual(['BTCUSDT', 'ETHUSDT', 'SOLUSDT']);
    expect(s.MAX_POSITION_SIZE_PCT).toBe(10);
    expect(selectedProvider(s)).toBe('offline');
  });

  it('names the setting that is wrong', () => {
    expect(() => loadSettings({ DAILY_TOKEN_BUDGET: '-5' })).toThrow(ConfigError);
    try {
      loadSettings({ DAILY_TOKEN_BUDGET: '-5', PORT: 'abc' });
    } catch (e) {
      const err = e as ConfigError;
      expect(err.issues.map((i) => i.setting).sort()).toEqual(['DAILY_TOKEN_BUDGET', 'PORT']);
      expect(err.message).toContain('DAILY_TOKEN_BUDGET');
    }
  });

  it('treats blank values as unset and selects the openai provider when a key is set', () => {
    const s = loadSettings({ PORT: '', LLM_API_KEY: 'sk-test', SYMBOLS: 'BTCUSDT, ETHUSDT' });
    expect(s.PORT).toBe(3000);
    expect(s.SYMBOLS).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(selectedProvider(s)).toBe('openai');
  });
});

describe('.env.example', () => {
  const text = readFileSync(fileURLToPath(new URL('../../.env.example', import.meta.url)), 'utf8');
  const env = Object.fromEntries(
    text
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

  it('lists every setting', () => {
    const missing = Object.keys(settingsSchema.shape).filter((k) => !(k in env));
    expect(missing).toEqual([]);
  });

  it('is itself a valid configuration', () => {
    expect(() => loadSettings(env)).not.toThrow();
  });
});

describe('consensus settings', () => {
  it('defaults to the pipeline with four voters and a quorum of two', () => {
    const s = loadSettings({});
    expect(s.DECISION_MODE).toBe('pipeline');
    expect(s.CONSENSUS_VOTERS).toEqual(['technical', 'sentiment', 'tokenomics', 'researcher']);
    expect(s.MIN_AGREEMENT).toBe(2);
  });

  it('refuses an unknown voter, naming CONSENSUS_VOTERS and the voter', () => {
    try {
      loadSettings({ CONSENSUS_VOTERS: 'technical,trader' });
      expect.unreachable();
    } catch (e) {
      const err = e as ConfigError;
      expect(err.issues.map((i) => i.setting)).toEqual(['CONSENSUS_VOTERS']);
      expect(err.message).toContain('"trader" is not a voter');
    }
  });

  it('refuses MIN_AGREEMENT above the number of voters, naming it', () => {
    try {
      loadSettings({ CONSENSUS_VOTERS: 'technical,sentiment', MIN_AGREEMENT: '3' });
      expect.unreachable();
    } catch (e) {
      const err = e as ConfigError;
      expect(err.issues.map((i) => i.setting)).toEqual(['MIN_AGREEMENT']);
      expect(err.message).toContain('at most the number of CONSENSUS_VOTERS (2)');
    }
    expect(() => loadSettings({ DECISION_MODE: 'vote' })).toThrow(/DECISION_MODE/);
  });
});
