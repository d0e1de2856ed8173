/**
 * The largest backtest the API accepts (BACKTEST_DECISIONS_CEILING = 2,000 decision points), run
 * locally through the SAME backtest state machine that deploys (its decision points a Distributed Map,
 * every one a child execution run by the local Map Run runner), offline provider, PGlite. Then a rerun
 * of the same request, which the response cache answers at $0. It checks: every decision point
 * decided, the ledger invariants of the simulator hold on the stored result, the stored result is the
 * pure simulator's over the recorded decisions, and the rerun equals the first run.
 *
 * Slow (minutes: 2,000 agent chains twice, ~9 tasks each), so it runs with TEST_LARGE=1 only; without it
 * the skipped test's name says so. Figures go to stdout.
 */
import Dec from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { createLocalWorkflows } from '../../functions/local/stepfunctions';
import { BACKTEST_DECISIONS_CEILING } from '../../shared/backtest/limits';
import { agentLogs } from '../../shared/db/schema';
import { useTestDatabase } from '../../shared/db/testing';
import { WARMUP_BARS } from '../../shared/indicators/compute';
import { klineToCandle } from '../../shared/market/kline';
import { createBacktest, getBacktest, simulateRecorded } from '../../shared/pipeline/backtest';
import { SNAPSHOT_EXTRA_BARS } from '../../shared/pipeline/steps';
import { offlineTestDeps } from '../../shared/pipeline/testing';
import { generateKlines } from '../helpers/binance-server';

const LARGE = process.env.TEST_LARGE === '1';
const TF_MS = 4 * 3_600_000;
const DATA_START = Date.parse('2022-01-01T00:00:00Z');
/** Every decision point needs the indicators' warm-up and the snapshot's extra bars before it. */
const WARMUP = WARMUP_BARS + SNAPSHOT_EXTRA_BARS + 10;
const BARS = WARMUP + BACKTEST_DECISIONS_CEILING + 50;
const candles = generateKlines({
  timeframe: '4h',
  start: DATA_START,
  count: BARS,
  startPrice: 42_000,
  seed: 11,
}).map(klineToCandle);
const barTime = (i: number) => DATA_START + i * TF_MS;

describe('a 2,000-decision backtest through the local state machine', () => {
  const t = useTestDatabase('pglite');

  it.skipIf(!LARGE)(
    `completes, keeps the ledger invariants and equals its rerun from the cache${LARGE ? '' : ' (set TEST_LARGE=1: minutes long)'}`,
    async () => {
      const deps = offlineTestDeps({
        db: t.db,
        candles: { BTCUSDT: { '4h': candles } },
        now: barTime(BARS) + 1,
        env: { LLM_CACHE: 'true' },
      });
      const w = createLocalWorkflows({ deps, mapConcurrency: 10, retryDelayMs: 0 });
      const request = {
        symbol: 'BTCUSDT',
        start_date: new Date(barTime(WARMUP)).toISOString(),
        end_date: new Date(barTime(WARMUP + BACKTEST_DECISIONS_CEILING + 10)).toISOString(),
        timeframe: '4h',
        max_decisions: BACKTEST_DECISIONS_CEILING,
        decision_interval: 1,
      };
      const run = async () => {
        const started = Date.now();
        const { backtestId } = await createBacktest(deps, request);
        const exec = await w.awaitExecution((await w.startBacktest({ backtestId })).executionId);
        return { backtestId, exec, seconds: (Date.now() - started) / 1000 };
      };
      try {
        const first = await run();
        const callsAfterFirst = (await t.db.select({ id: agentLogs.id }).from(agentLogs)).length;
        const second = await run();
        for (const r of [first, second]) {
          expect(r.exec.error).toBeUndefined();
          expect(r.exec.status).toBe('SUCCEEDED');
          expect(r.exec.children).toMatchObject({ succeeded: BACKTEST_DECISIONS_CEILING, failed: 0 });
        }
        const [a, b] = [
          await getBacktest(deps, first.backtestId),
          await getBacktest(deps, second.backtestId),
        ];
        expect(a.status).toBe('succeeded');
        expect(a.progress).toEqual({ done: BACKTEST_DECISIONS_CEILING, total: BACKTEST_DECISIONS_CEILING });
        expect(a.result?.decisions).toHaveLength(BACKTEST_DECISIONS_CEILING);
        expect(a.result!.trades.length).toBeGreaterThan(0);

        // The simulator's ledger invariants on what was stored: cash never negative, equity = cash +
        // position at the last mark, realized + unrealized - fees = equity - initial cash.
        const replay = await simulateRecorded(deps, first.backtestId);
        const r = replay.result;
        expect(new Dec(r.finalBook.cash).gte(0)).toBe(true);
        for (const f of r.fills) expect(new Dec(f.quantityAfter).gte(0)).toBe(true);
        const pos = r.finalBook.positions.find((p) => p.symbol === 'BTCUSDT');
        const qty = new Dec(pos?.quantity ?? 0);
        const mark = new Dec(r.equityCurve.at(-1)!.equity)
          .minus(r.finalBook.cash)
          .div(qty.isZero() ? 1 : qty);
        const equity = new Dec(r.finalBook.cash).plus(qty.times(mark));
        const unrealized = qty.times(mark).minus(pos?.costBasis ?? 0);
        expect(
          new Dec(r.finalBook.realizedPnl)
            .plus(unrealized)
            .minus(r.finalBook.feesPaid)
            .minus(equity.minus(r.finalBook.initialCash))
            .abs()
            .lt(1e-6),
        ).toBe(true);

        // The rerun: same decisions, trades and metrics; its calls all answered by the cache ($0).
        const strip = (x: typeof a) => ({
          decisions: x.result?.decisions.map((d) => ({
            t: d.decisionTime,
            status: d.status,
            action: d.action,
            size: d.sizePct,
          })),
          trades: x.result?.trades.map(({ id: _i, runId: _r, decisionId: _d, ...rest }) => rest),
          metrics: x.result?.metrics,
        });
        expect(strip(b)).toEqual(strip(a));
        const secondCalls = await t.db
          .select({ cacheHit: agentLogs.cacheHit, costUsd: agentLogs.costUsd, at: agentLogs.timestamp })
          .from(agentLogs);
        const rerunCalls = secondCalls.slice(callsAfterFirst);
        console.log(
          JSON.stringify({
            decisions: BACKTEST_DECISIONS_CEILING,
            firstRunSeconds: first.seconds,
            rerunSeconds: second.seconds,
            trades: a.result!.trades.length,
            parentHistoryEvents: first.exec.historyEvents,
            maxChildHistoryEvents: first.exec.children.maxHistoryEvents,
            maxPayloadBytes: first.exec.maxPayloadBytes,
            rerunLoggedCalls: rerunCalls.length,
            rerunUsd: rerunCalls.reduce((n, c) => n + Number(c.costUsd), 0),
          }),
        );
        for (const c of rerunCalls) expect(Number(c.costUsd)).toBe(0);
        expect(first.exec.maxPayloadBytes).toBeLessThan(256 * 1024);
      } finally {
        await w.close();
      }
    },
    3_600_000,
  );
});
