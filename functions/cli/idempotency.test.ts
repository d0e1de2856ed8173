/**
 * `--idempotency-key` on `cli analyze` and `cli backtest` (shared/idempotency, the HTTP header's store):
 * concurrent and later repeats of a live analysis with one key trade once and print the one analysis; a
 * repeated backtest starts one run; the same key with another request is exit 2 and changes nothing.
 * In-process CLI runs on one PGlite (PostgreSQL with TEST_PG=1), the offline provider, the local Binance
 * and sentiment servers with the team's real ETHUSDT 4h klines (the clock just after their last bar).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDrivers } from '../../shared/db/testing';
import { HAS_DATA, realKlines, SENTIMENT_FROM, SKIP_REASON, TEST_NOW } from '../../test/api/harness';
import { type BinanceServer, startBinanceServer } from '../../test/helpers/binance-server';
import {
  generateFng,
  generateFunding,
  type SentimentServer,
  startSentimentServer,
} from '../../test/helpers/sentiment-server';
import { runCli } from './main';

const DUPLICATES = 4;
/** The offline rules buy ETHUSDT at the live 4h bar at TEST_NOW (as test/api/idempotency.test.ts). */
const LIVE = ['analyze', 'ETHUSDT', '--timeframe', '4h', '--json'];

describe.skipIf(!HAS_DATA).each(testDrivers())(
  `cli --idempotency-key on %s ${HAS_DATA ? '' : SKIP_REASON}`,
  (driver) => {
    let database: Awaited<ReturnType<typeof createTestDatabase>>;
    let binance: BinanceServer;
    let sentiment: SentimentServer;
    const now = () => TEST_NOW;
    beforeAll(async () => {
      database = await createTestDatabase(driver);
      binance = await startBinanceServer({
        candles: { 'ETHUSDT:4h': await realKlines('ETHUSDT-4h.csv', '4h') },
        now,
      });
      sentiment = await startSentimentServer({
        fng: generateFng({
          startDay: SENTIMENT_FROM,
          days: Math.ceil((TEST_NOW - SENTIMENT_FROM) / 86_400_000) + 1,
        }),
        funding: {
          ETHUSDT: generateFunding({
            start: SENTIMENT_FROM,
            count: Math.ceil((TEST_NOW - SENTIMENT_FROM) / 28_800_000) + 3,
            seed: 12,
          }),
        },
        now,
      });
    });
    afterAll(async () => {
      await binance?.close();
      await sentiment?.close();
      await database?.drop();
    });

    const cli = async (...argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await runCli(
        argv,
        {
          env: {
            LLM_PROVIDER: 'offline',
            DATA_DIR: 'memory://',
            LOG_LEVEL: 'silent',
            BINANCE_BASE_URL: binance.url,
            FNG_BASE_URL: sentiment.url,
            BINANCE_FUTURES_BASE_URL: sentiment.url,
          },
          stdout: (t) => {
            stdout += t;
          },
          stderr: (t) => {
            stderr += t;
          },
        },
        { database, containerOverrides: { binanceFallbackUrl: null, binanceMaxRetries: 0, now } },
      );
      return { code, stdout, stderr };
    };
    const count = async (sql: string) =>
      Number(((await database.db.execute(sql)) as unknown as { rows: { n: number }[] }).rows[0]?.n);
    const filledTrades = () => count("SELECT count(*)::int AS n FROM trades WHERE status = 'filled'");

    it(`${DUPLICATES} concurrent runs of a live analysis with one key: one analysis, one trade`, async () => {
      const analysesBefore = await count('SELECT count(*)::int AS n FROM decisions');
      const tradesBefore = await filledTrades();
      const runs = await Promise.all(
        Array.from({ length: DUPLICATES }, () => cli(...LIVE, '--idempotency-key', `cli-live-${driver}`)),
      );
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      const ids = new Set(runs.map((r) => JSON.parse(r.stdout).id));
      expect(ids.size).toBe(1);
      expect(runs.filter((r) => /^replayed: /m.test(r.stderr))).toHaveLength(DUPLICATES - 1);
      const first = runs.find((r) => !/^replayed: /m.test(r.stderr))!;
      expect(JSON.parse(first.stdout).execution?.trade?.status).toBe('filled');
      expect(await filledTrades()).toBe(tradesBefore + 1);
      expect(await count('SELECT count(*)::int AS n FROM decisions')).toBe(analysesBefore + 1);

      // Later (the script was rerun): the same analysis, nothing traded.
      const later = await cli(...LIVE, '--idempotency-key', `cli-live-${driver}`);
      expect(later.code).toBe(0);
      expect(JSON.parse(later.stdout).id).toBe([...ids][0]);
      expect(await filledTrades()).toBe(tradesBefore + 1);
      // Without a key, each run is a new analysis.
      expect((await cli(...LIVE)).code).toBe(0);
      expect(await count('SELECT count(*)::int AS n FROM decisions')).toBe(analysesBefore + 2);
    });

    it('the same key with another request is exit 2 and changes nothing; a bad key is exit 2', async () => {
      const before = await count('SELECT count(*)::int AS n FROM decisions');
      const other = await cli(
        'analyze',
        'ETHUSDT',
        '--timeframe',
        '1d',
        '--idempotency-key',
        `cli-live-${driver}`,
      );
      expect(other.code).toBe(2);
      expect(other.stderr).toMatch(/error \[IDEMPOTENCY_KEY_REUSED\]/);
      const bad = await cli(...LIVE, '--idempotency-key', 'has space');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--idempotency-key must be 1 to 200 visible ASCII characters/);
      expect(await count('SELECT count(*)::int AS n FROM decisions')).toBe(before);
    });

    it('a repeated backtest with one key starts one run and prints it', async () => {
      const args = [
        'backtest',
        'ETHUSDT',
        '--start',
        '2025-06-01',
        '--end',
        '2025-06-03',
        '--timeframe',
        '4h',
        '--max-decisions',
        '2',
        '--json',
        '--idempotency-key',
        `cli-bt-${driver}`,
      ];
      const first = await cli(...args);
      expect(first.code, first.stderr).toBe(0);
      const again = await cli(...args);
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/^replayed: --idempotency-key was used by backtest /m);
      expect(again.stderr).not.toMatch(/estimate:/);
      expect(JSON.parse(again.stdout).id).toBe(JSON.parse(first.stdout).id);
      expect(JSON.parse(again.stdout).status).toBe('succeeded');
      expect(await count('SELECT count(*)::int AS n FROM backtests')).toBe(1);
    });
  },
);
