/**
 * A backtest a stopped host left "running" must not stay running forever: the next host on that
 * (PGlite) data folder marks it failed with INTERRUPTED, keeping what was recorded.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLocalServer } from '../../functions/local/server';
import { loadSettings } from '../../shared/config/settings';
import { openDatabase } from '../../shared/db/client';
import { backtests } from '../../shared/db/schema';

describe('work left running by a stopped host', () => {
  it('is marked failed (INTERRUPTED) when the next host starts on the same data folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'interrupted-'));
    const first = await openDatabase({ dataDir: dir });
    await first.migrate();
    const [row] = await first.db
      .insert(backtests)
      .values({
        runId: 'bt-left-running',
        symbol: 'BTCUSDT',
        timeframe: '4h',
        startDate: new Date('2024-01-01T00:00:00Z'),
        endDate: new Date('2024-03-01T00:00:00Z'),
        maxDecisions: 10,
        decisionInterval: 6,
        status: 'running',
        progressDone: 4,
        progressTotal: 10,
        settings: {},
      })
      .returning({ id: backtests.id });
    await first.close();

    const host = await startLocalServer({
      settings: loadSettings({
        DATA_DIR: dir,
        LOG_LEVEL: 'silent',
        BINANCE_BASE_URL: 'http://127.0.0.1:9',
        SENTIMENT_SOURCES: 'static',
      }),
      port: 0,
    });
    try {
      const res = await fetch(`${host.url}/backtests/${row!.id}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        status: string;
        error: { code: string; message: string } | null;
        progress: { done: number };
      };
      expect(body.status).toBe('failed');
      expect(body.error?.code).toBe('INTERRUPTED');
      expect(body.error?.message).toMatch(/run it again/);
      expect(body.progress.done).toBe(4);
    } finally {
      await host.close();
    }
  });
});
