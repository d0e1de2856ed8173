/**
 * The API driving the real workflows through the local host:
 * - 20 concurrent live analyses through the local state machine, trading on one portfolio: afterwards
 *   the book's invariants hold (cash >= 0, quantities >= 0, the ledger rebuilds the book exactly).
 * - a backtest on the team's real candles through the local backtest state machine, whose stored
 *   metrics equal the pure simulator's on the same recorded decisions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../shared/backtest';
import { TIMEFRAME_MS } from '../../shared/market/types';
import { loadBacktestDecisions, toMetricsRecord, toTimedDecisions } from '../../shared/pipeline/backtest';
import { auditRun, LIVE_RUN_ID, loadBook } from '../../shared/portfolio/repository';
import { HAS_DATA, type Harness, pollUntil, SKIP_REASON, startHarness } from './harness';

const CONCURRENT_ANALYSES = 20;

describe.skipIf(!HAS_DATA)(`workflows through the API ${HAS_DATA ? '' : SKIP_REASON}`, () => {
  let h: Harness;
  beforeAll(async () => {
    // A live decision's bar: the clock sits at the end of the data. A 1h timeframe with the 4h candles
    // absent would fail, so the live analyses use 4h.
    h = await startHarness({ workflows: 'stepfunctions' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it(`${CONCURRENT_ANALYSES} concurrent live analyses trade on one book and keep its invariants`, async () => {
    const symbols = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT'];
    const replies = await Promise.all(
      Array.from({ length: CONCURRENT_ANALYSES }, (_, k) =>
        h.post('/analyze', { symbol: symbols[k % symbols.length], timeframe: '4h' }),
      ),
    );
    const final = await Promise.all(
      replies.map(async (r) => {
        expect([200, 202]).toContain(r.status);
        if (r.status === 200) return r.body;
        return pollUntil(h, r.body.poll, (b) => !['pending', 'running'].includes(b.status));
      }),
    );
    for (const a of final) {
      expect(['completed', 'no_trade']).toContain(a.status);
      expect(a.mode).toBe('live');
    }
    const db = h.server.container.db;
    const book = await loadBook(db, LIVE_RUN_ID);
    expect(book.cash.gte(0)).toBe(true);
    for (const p of Object.values(book.positions)) expect(p.quantity.gte(0)).toBe(true);
    expect(await auditRun(db, LIVE_RUN_ID)).toEqual([]);
    const trades = await h.get('/trades?limit=200');
    const filled = trades.body.items.filter((t: { status: string }) => t.status === 'filled');
    const withTrade = final.filter((a) => a.execution?.trade?.status === 'filled');
    expect(filled.length).toBe(withTrade.length);
    // The offline rules buy ETH at this bar: the book really traded under concurrency.
    expect(withTrade.length).toBeGreaterThan(0);
    const portfolio = await h.get('/portfolio');
    expect(portfolio.body.cash).toBeGreaterThanOrEqual(0);
    expect(portfolio.body.cash).toBeCloseTo(Number(book.cash.toFixed()), 6);
  });

  it('a backtest through the local state machine stores the pure simulator metrics for its decisions', async () => {
    const r = await h.post('/backtest', {
      symbol: 'ETHUSDT',
      start_date: '2024-02-01',
      end_date: '2024-03-15',
      timeframe: '4h',
      max_decisions: 30,
      decision_interval: 2,
    });
    expect(r.status).toBe(202);
    const b = await pollUntil(
      h,
      r.body.poll,
      (x) => x.status === 'succeeded' || x.status === 'failed',
      120_000,
    );
    expect(b.error).toBeNull();
    expect(b.status).toBe('succeeded');
    expect(b.progress).toEqual({ done: 30, total: 30 });

    // The same decisions through the pure simulator, on the same candles, with the same settings.
    const deps = h.server.container.deps;
    const rows = await loadBacktestDecisions(deps, b.id);
    expect(rows).toHaveLength(30);
    const tf = TIMEFRAME_MS['4h'];
    const first = rows[0]?.decisionTime as number;
    const { candles } = await deps.candles.getCandles({
      symbol: 'ETHUSDT',
      timeframe: '4h',
      startMs: first - tf,
      endMs: Date.parse('2024-03-15T00:00:00Z'),
    });
    const expected = simulate({
      candles,
      timeframe: '4h',
      decisions: toTimedDecisions(rows),
      settings: {
        symbol: 'ETHUSDT',
        initialCash: h.settings.INITIAL_CASH,
        feeBps: h.settings.FEE_BPS,
        slippageBps: h.settings.SLIPPAGE_BPS,
        limits: {
          maxPositionPct: h.settings.MAX_POSITION_SIZE_PCT,
          maxTotalExposurePct: h.settings.MAX_TOTAL_EXPOSURE_PCT,
        },
        fillAt: 'next_open',
        // nothing after end_date: the last close inside the range is the final mark
        endTime: Date.parse('2024-03-15T00:00:00Z'),
      },
    });
    expect(b.result.metrics).toEqual(toMetricsRecord(expected));
    expect(b.result.trades.filter((t: { status: string }) => t.status === 'filled')).toHaveLength(
      expected.fills.length,
    );
    expect(await auditRun(h.server.container.db, b.id)).toEqual([]);
  });
});
