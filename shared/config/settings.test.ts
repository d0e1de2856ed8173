import { describe, expect, it } from 'vitest';
import { ConfigError, loadSettings, selectedProvider } from './settings';

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
