/** The cold-start log line of the Lambda host: what it says, and that it names no secret. */
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../shared/config/settings';
import { coldStartReport } from './runtime';

const LLM_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:llm-AbCdEf';
const DB_URL = 'postgres://app:s3cret-pa55@db.internal:5432/trading';

describe('coldStartReport', () => {
  it('says the offline provider runs because the LLM key secret still holds the placeholder', () => {
    const settings = loadSettings({ DATABASE_URL: DB_URL });
    const r = coldStartReport(
      { database: { driver: 'pg' }, llm: { provider: 'offline' }, settings },
      { LLM_API_KEY_SECRET_ARN: LLM_ARN },
    );
    expect(r.fields).toEqual({ event: 'cold_start', db: 'pg', provider: 'offline', llmKey: 'placeholder' });
    expect(r.message).toMatch(/offline agent provider.*placeholder/);
    expect(r.message).toContain(LLM_ARN); // where to set it
  });

  it('reports a configured key without its value, and never the database URL', () => {
    const settings = loadSettings({ DATABASE_URL: DB_URL, LLM_API_KEY: 'sk-live-0123456789abcdef' });
    const r = coldStartReport(
      { database: { driver: 'pg' }, llm: { provider: 'openai' }, settings },
      { LLM_API_KEY_SECRET_ARN: LLM_ARN },
    );
    expect(r.fields.llmKey).toBe('set');
    const text = JSON.stringify(r);
    expect(text).not.toContain('sk-live');
    expect(text).not.toContain('s3cret');
    // A function that is not granted the key (market, costs...) says so instead of "placeholder".
    const market = coldStartReport(
      { database: { driver: 'pg' }, llm: { provider: 'offline' }, settings: loadSettings({}) },
      {},
    );
    expect(market.fields.llmKey).toBe('not granted');
  });
});
