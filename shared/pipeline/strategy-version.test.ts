import { existsSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decisions } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { binanceDataFile, readBinanceCsv, realDataSuiteName } from '../indicators/testing';
import type { Candle } from '../market/types';
import { appendStrategyVersion, strategyInForce } from '../strategy/store';
import { runAnalysis } from './analysis';
import { offlineTestDeps } from './testing';

const FILE = binanceDataFile('BTCUSDT-1h.csv.gz');
const NOW = Date.parse('2025-06-01T00:00:00Z');
const step = {
  symbol: 'BTCUSDT',
  timeframe: '1h',
  mode: 'backtest_step' as const,
  timestamp: '2024-03-01T00:00:00Z',
};

describe.skipIf(!existsSync(FILE))(
  realDataSuiteName('decisions under a strategy version', 'BTCUSDT-1h.csv.gz'),
  () => {
    let btc: Candle[] = [];
    beforeAll(() => {
      btc = readBinanceCsv(FILE);
    });
    describe.each(testDrivers())('on %s', (driver) => {
      const t = useTestDatabase(driver);
      beforeEach(() => t.reset());
      const deps = () => offlineTestDeps({ db: t.db, candles: { BTCUSDT: { '1h': btc } }, now: NOW });

      it('records the version in force and gates on its researcherMinConfidence', async () => {
        const d = deps();
        const first = await runAnalysis(d, step);
        const base = await strategyInForce(t.db, { settings: d.settings });
        const [row1] = await t.db.select().from(decisions).where(eq(decisions.id, first.id));
        expect(row1!.strategyVersionId).toBe(base.id);
        expect(first.agents.trader?.status).not.toBe('gated');
        const confidence = (first.agents.researcher!.output as { confidence: number }).confidence;

        // A change above the researcher's confidence: the next decision holds without calling the trader.
        const raised = Math.min(0.9, Math.ceil((confidence + 0.01) * 100) / 100);
        expect(raised).toBeGreaterThan(confidence);
        const v2 = await appendStrategyVersion(t.db, {
          base,
          parameter: 'researcherMinConfidence',
          value: raised,
          appliedBy: 'person',
          adjustmentId: null,
          reason: 'test',
          effectiveAt: NOW,
        });
        const second = await runAnalysis(d, step);
        const [row2] = await t.db.select().from(decisions).where(eq(decisions.id, second.id));
        expect(row2!.strategyVersionId).toBe(v2.id);
        expect(second.agents.trader).toMatchObject({ status: 'gated' });
        expect(second.agents.trader?.reason).toMatch(/strategy version 2/);
      });
    });
  },
);
