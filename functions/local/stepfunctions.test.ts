/**
 * The synthesized state machines, executed locally (aws-local-stepfunctions), every Task mapped to its
 * real handler with the real core behind it: the offline agent provider, PGlite (and PostgreSQL with
 * TEST_PG=1), the real pipeline and backtest steps. Candles come from a seeded random walk served by an
 * in-memory candle source (an adapter of the real port), so the suite needs no network and no data files.
 *
 * Faults that cannot be caused otherwise (an analyst's provider failing, a rate limit, a researcher
 * crash) are injected by wrapping ONE step function; everything else is the real thing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countHistoryEvents } from '../../cdk/workflows/history';
import { backtests, decisions } from '../../shared/db/schema';
import { testDrivers, useTestDatabase } from '../../shared/db/testing';
import { LlmCallError } from '../../shared/llm/errors';
import { klineToCandle } from '../../shared/market/kline';
import type { AnalysisView } from '../../shared/pipeline/analysis';
import { createDecision, getAnalysis, runDecisionChain } from '../../shared/pipeline/analysis';
import { createBacktest, getBacktest, runBacktest, simulateRecorded } from '../../shared/pipeline/backtest';
import type { PipelineDeps } from '../../shared/pipeline/deps';
import { offlineTestDeps } from '../../shared/pipeline/testing';
import { AppError } from '../../shared/util/errors';
import { generateKlines } from '../../test/helpers/binance-server';
import { agentStepFns } from '../workflow/bindings';
import {
  createLocalWorkflows,
  definitionSourceFiles,
  type LocalDefinitions,
  type LocalWorkflows,
  loadLocalDefinitions,
  loadLocalWorkflows,
  synthesizeLocalDefinitions,
  taskStates,
} from './stepfunctions';

const TF_MS = 4 * 3_600_000;
const DATA_START = Date.parse('2024-01-01T00:00:00Z');
/** Enough bars for the indicators' warm-up (WARMUP_BARS) before every decision point. */
const BARS = 2_600;
const candles = generateKlines({
  timeframe: '4h',
  start: DATA_START,
  count: BARS,
  startPrice: 42_000,
  seed: 7,
}).map(klineToCandle);
const barTime = (i: number) => DATA_START + i * TF_MS;
const NOW = barTime(BARS) + 1;
/** Step Functions caps a state's input or output at 256 KiB; ours must stay far below. */
const SFN_PAYLOAD_LIMIT = 256 * 1024;
const PAYLOAD_BUDGET = 16 * 1024;
const statusesOf = (a: AnalysisView) =>
  Object.fromEntries(Object.entries(a.agents).map(([k, r]) => [k, r?.status ?? null]));

describe('synthesized definitions', () => {
  it('resolve to plain ASL whose every Task invokes one of the two task functions', () => {
    const defs = synthesizeLocalDefinitions(4);
    const text = JSON.stringify([defs.analysis, defs.backtest]);
    expect(text).not.toMatch(/Fn::|"Ref"|\$\{Token/);
    const mapState = Object.values(defs.backtest.States).find((s) => s.Type === 'Map') as {
      MaxConcurrency?: number;
    };
    expect(mapState.MaxConcurrency).toBe(4);
    for (const def of [defs.analysis, defs.backtest])
      for (const { state } of taskStates(def as never)) expect(String(state.Resource)).toMatch(/:function:/);
    expect(Object.values(defs.taskFunctions.analysis)).not.toContain('backtestSteps');
    expect(synthesizeLocalDefinitions(4)).toBe(defs); // cached: synthesis happens once per process
  }, 180_000); // the first synthesis loads aws-cdk-lib in this worker, slow on a loaded machine
});

describe('definitions cache', () => {
  const MAP_CONCURRENCY = 4;
  let dir: string;
  let cacheDir: string;
  let cdkFile: string;
  let synths: number;
  /** A counted stand-in for the synthesis: the real one's output, so what is cached is real ASL. */
  const synthesize = (mapConcurrency: number): LocalDefinitions => {
    synths++;
    return synthesizeLocalDefinitions(mapConcurrency);
  };
  const load = () =>
    loadLocalDefinitions({
      mapConcurrency: MAP_CONCURRENCY,
      cacheDir,
      sourceFiles: [cdkFile],
      versions: { 'aws-cdk-lib': 'test' },
      root: dir,
      synthesize,
    });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sfn-cache-test-'));
    cacheDir = path.join(dir, 'cache');
    cdkFile = path.join(dir, 'workflows.ts');
    writeFileSync(cdkFile, 'export const version = 1;');
    synths = 0;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a second start reads the cached definitions instead of synthesizing', async () => {
    const first = await load();
    expect(first.source).toBe('synth');
    const second = await load();
    expect(second.source).toBe('cache');
    expect(synths).toBe(1);
    expect(second.key).toBe(first.key);
    expect(second.definitions).toEqual(synthesizeLocalDefinitions(MAP_CONCURRENCY));
    // Written atomically: the one cache file, no temp file left behind.
    expect(readdirSync(cacheDir)).toEqual([`state-machines-${first.key}.json`]);
  });

  it('a changed source file, package version or Map concurrency is a new key', async () => {
    const first = await load();
    writeFileSync(cdkFile, 'export const version = 2;');
    const changed = await load();
    expect(changed.source).toBe('synth');
    expect(changed.key).not.toBe(first.key);
    expect(synths).toBe(2);
    const otherVersion = await loadLocalDefinitions({
      mapConcurrency: MAP_CONCURRENCY,
      cacheDir,
      sourceFiles: [cdkFile],
      versions: { 'aws-cdk-lib': 'other' },
      root: dir,
      synthesize,
    });
    expect(otherVersion.source).toBe('synth');
    const otherConcurrency = await loadLocalDefinitions({
      mapConcurrency: MAP_CONCURRENCY + 1,
      cacheDir,
      sourceFiles: [cdkFile],
      versions: { 'aws-cdk-lib': 'test' },
      root: dir,
      synthesize,
    });
    expect(otherConcurrency.source).toBe('synth');
    const map = Object.values(otherConcurrency.definitions.backtest.States).find((s) => s.Type === 'Map');
    expect((map as { MaxConcurrency?: number }).MaxConcurrency).toBe(MAP_CONCURRENCY + 1);
    expect(synths).toBe(4);
  });

  it.each([
    ['not JSON', () => '{"format":1,"key":'],
    ['the wrong shape', () => JSON.stringify({ format: 1, key: 'x', definitions: { analysis: {} } })],
    [
      'a Task without its function',
      (file: string) => {
        const cached = JSON.parse(readFileSync(file, 'utf8'));
        cached.definitions.taskFunctions.analysis = {};
        return JSON.stringify(cached);
      },
    ],
  ])('a cache file that is %s falls back to synthesis and is rewritten', async (_what, corrupt) => {
    const first = await load();
    const file = first.file as string;
    writeFileSync(file, corrupt(file));
    const warnings: string[] = [];
    const again = await loadLocalDefinitions({
      mapConcurrency: MAP_CONCURRENCY,
      cacheDir,
      sourceFiles: [cdkFile],
      versions: { 'aws-cdk-lib': 'test' },
      root: dir,
      synthesize,
      logger: { warn: (_o, msg) => warnings.push(msg) },
    });
    expect(again.source).toBe('synth');
    expect(synths).toBe(2);
    expect(warnings).toEqual([expect.stringContaining('malformed')]);
    expect((await load()).source).toBe('cache');
    expect(synths).toBe(2);
  });

  it('an unwritable cache folder still yields definitions', async () => {
    writeFileSync(path.join(dir, 'file'), '');
    const warnings: string[] = [];
    const loaded = await loadLocalDefinitions({
      mapConcurrency: MAP_CONCURRENCY,
      cacheDir: path.join(dir, 'file', 'cache'), // a folder under a file: mkdir fails
      sourceFiles: [cdkFile],
      versions: {},
      root: dir,
      synthesize,
      logger: { warn: (_o, msg) => warnings.push(msg) },
    });
    expect(loaded.source).toBe('synth');
    expect(loaded.definitions.analysis.StartAt).toBeTruthy();
    expect(warnings).toEqual([expect.stringContaining('not written')]);
  });

  it('by default covers every file under cdk/ and the step names', () => {
    const files = definitionSourceFiles().map((f) => path.relative(process.cwd(), f));
    expect(files).toEqual(
      expect.arrayContaining(['cdk/workflows/workflows.ts', 'cdk/workflows/agent-chain.ts']),
    );
    expect(files).toContain('functions/workflow/steps.ts');
    expect(files).toContain('functions/local/stepfunctions.ts');
  });

  it('a cache hit never loads aws-cdk-lib (checked in a fresh process)', async () => {
    const options = { mapConcurrency: MAP_CONCURRENCY, cacheDir };
    expect((await loadLocalDefinitions(options)).source).toBe('synth');
    const runtime = path.join(import.meta.dirname, 'stepfunctions-runtime.ts');
    const script = [
      "import { createRequire } from 'node:module';",
      `const { loadLocalDefinitions } = await import(${JSON.stringify(runtime)});`,
      `const r = await loadLocalDefinitions(${JSON.stringify(options)});`,
      'const loaded = Object.keys(createRequire(import.meta.url).cache);',
      "console.log(JSON.stringify({ source: r.source, cdk: loaded.filter((k) => k.includes('aws-cdk-lib')).length }));",
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
    });
    expect(JSON.parse(out.trim().split('\n').at(-1) as string)).toEqual({ source: 'cache', cdk: 0 });
  });

  it('loadLocalWorkflows runs from the cache with the real key', async () => {
    const options = {
      deps: async () => {
        throw new Error('no task runs in this test');
      },
      mapConcurrency: MAP_CONCURRENCY,
      cache: { cacheDir },
    };
    const first = await loadLocalWorkflows(options);
    const second = await loadLocalWorkflows(options);
    expect([first.definitionsSource, second.definitionsSource]).toEqual(['synth', 'cache']);
    expect(second.definitions).toEqual(synthesizeLocalDefinitions(MAP_CONCURRENCY));
  });
});

describe.each(testDrivers())('local state machines on %s', (driver) => {
  const t = useTestDatabase(driver);
  let deps: PipelineDeps;
  const started: LocalWorkflows[] = [];

  beforeAll(() => {
    deps = offlineTestDeps({ db: t.db, candles: { BTCUSDT: { '4h': candles } }, now: NOW });
  });
  beforeEach(() => t.reset());
  afterAll(async () => {
    for (const w of started) await w.close();
  });

  const workflows = (opts: Partial<Parameters<typeof createLocalWorkflows>[0]> = {}) => {
    const w = createLocalWorkflows({ deps, retryDelayMs: 0, ...opts });
    started.push(w);
    return w;
  };
  const newDecision = () =>
    createDecision(deps, {
      symbol: 'BTCUSDT',
      timeframe: '4h',
      mode: 'backtest_step',
      timestamp: new Date(barTime(2_100)).toISOString(),
      runId: 'scratch',
    });

  it('an analyst that fails is marked unavailable; the others answer and the decision completes', async () => {
    const w = workflows({
      steps: {
        agent: {
          runAnalyst: async (d, i) => {
            if (i.analyst === 'sentiment')
              throw new LlmCallError('LlmUpstreamError', 'provider answered 500');
            return agentStepFns.runAnalyst(d, i);
          },
        },
      },
    });
    const { decisionId } = await newDecision();
    const exec = await w.awaitExecution((await w.startAnalysis({ decisionId })).executionId);

    expect(exec.status).toBe('SUCCEEDED');
    expect(exec.output).toMatchObject({ snapshot: { ok: true } });
    expect(exec.caught['Sentiment analyst']).toBe(1);
    const a = await getAnalysis(deps, decisionId);
    expect(a.agents.sentiment?.status).toBe('unavailable');
    expect(a.agents.sentiment?.reason).toContain('provider answered 500');
    expect(a.agents.technical?.status).toBe('ok');
    expect(a.agents.researcher).not.toBeNull();
    expect(['completed', 'no_trade']).toContain(a.status);
    expect(a.final?.action).toMatch(/BUY|SELL|HOLD/);
    expect(exec.maxPayloadBytes).toBeLessThan(PAYLOAD_BUDGET);
  });

  it('consensus mode: without a quorum the Choice after the researcher finalizes HOLD; no trader, no risk', async () => {
    const consensusDeps = offlineTestDeps({
      db: t.db,
      candles: { BTCUSDT: { '4h': candles } },
      now: NOW,
      env: { DECISION_MODE: 'consensus', MIN_AGREEMENT: '3' },
    });
    let traderCalls = 0;
    const w = workflows({
      deps: consensusDeps,
      steps: {
        agent: {
          // two of the four voters cannot answer, so three agreeing votes are impossible
          runAnalyst: async (d, i) => {
            if (i.analyst !== 'technical')
              throw new LlmCallError('LlmUpstreamError', 'provider answered 500');
            return agentStepFns.runAnalyst(d, i);
          },
          runTrader: async (d, i) => {
            traderCalls++;
            return agentStepFns.runTrader(d, i);
          },
        },
      },
    });
    const { decisionId } = await createDecision(consensusDeps, {
      symbol: 'BTCUSDT',
      timeframe: '4h',
      mode: 'backtest_step',
      timestamp: new Date(barTime(2_100)).toISOString(),
    });
    const exec = await w.awaitExecution((await w.startAnalysis({ decisionId })).executionId);
    expect(exec.status).toBe('SUCCEEDED');
    expect(exec.output).toMatchObject({ researcher: { noConsensus: true, gated: false, failed: false } });
    expect(exec.output).not.toHaveProperty('trader');
    expect(traderCalls).toBe(0);
    const a = await getAnalysis(consensusDeps, decisionId);
    expect(a.decisionMode).toBe('consensus');
    expect(a.consensus).toMatchObject({ reached: false, voted: 2, minAgreement: 3 });
    expect(a.final).toMatchObject({ action: 'HOLD', gated: true });
    expect(a.final!.reason).toMatch(/^no_consensus: /);
    expect(statusesOf(a)).toMatchObject({ trader: 'gated', risk: 'gated' });
  });

  it('an analyst still rate-limited after the client retries is NOT retried again by the state machine', async () => {
    // The LLM client owns every retry of a model call (1 + LLM_MAX_RETRIES in all); a second layer here
    // multiplied the attempts. The analyst is caught and marked unavailable, the others go on.
    let calls = 0;
    const w = workflows({
      steps: {
        agent: {
          runAnalyst: async (d, i) => {
            if (i.analyst === 'technical' && ++calls <= 2)
              throw new LlmCallError('LlmRateLimited', '429 Too Many Requests');
            return agentStepFns.runAnalyst(d, i);
          },
        },
      },
    });
    const { decisionId } = await newDecision();
    const exec = await w.awaitExecution((await w.startAnalysis({ decisionId })).executionId);

    expect(exec.status).toBe('SUCCEEDED');
    expect(calls).toBe(1);
    expect(exec.retries['Technical analyst'] ?? 0).toBe(0);
    expect(exec.caught['Technical analyst']).toBe(1);
    const a = await getAnalysis(deps, decisionId);
    expect(a.agents.technical?.status).toBe('unavailable');
    expect(a.agents.sentiment?.status).not.toBe('unavailable');
  });

  it('a researcher failure ends the decision failed with the error recorded, not a failed execution', async () => {
    const w = workflows({
      steps: {
        agent: {
          runResearcher: async () => {
            throw new LlmCallError('LlmUpstreamError', 'researcher model is down');
          },
        },
      },
    });
    const { decisionId } = await newDecision();
    const exec = await w.awaitExecution((await w.startAnalysis({ decisionId })).executionId);

    expect(exec.status).toBe('SUCCEEDED');
    expect(exec.caught.Researcher).toBe(1);
    const a = await getAnalysis(deps, decisionId);
    // A failed decision, never a HOLD; recorded by the product's code, as the in-process runner records it.
    expect(a.status).toBe('failed');
    expect(a.decisionClass).toBe('failed');
    expect(a.final).toBeNull();
    expect(a.error).toEqual({ code: 'UPSTREAM_LLM', message: 'researcher model is down' });
    expect(a.agents.researcher).toMatchObject({ status: 'error' });
    expect(a.agents.trader).toBeNull();

    const { decisionId: inProcessId } = await newDecision();
    await runDecisionChain(
      {
        ...deps,
        llm: {
          ...deps.llm,
          call: async (req) => {
            if (req.agent === 'researcher')
              throw new LlmCallError('LlmUpstreamError', 'researcher model is down');
            return deps.llm.call(req);
          },
        },
      },
      inProcessId,
    );
    const b = await getAnalysis(deps, inProcessId);
    expect({ status: b.status, error: b.error, final: b.final?.action }).toEqual({
      status: a.status,
      error: a.error,
      final: a.final?.action,
    });
  });

  it('a model provider down for every analyst is a failed decision naming the provider failure, as in process', async () => {
    const down = async () => {
      throw new LlmCallError('LlmUpstreamError', '500 The server had an error');
    };
    const w = workflows({ steps: { agent: { runAnalyst: down } } });
    const { decisionId } = await newDecision();
    const exec = await w.awaitExecution((await w.startAnalysis({ decisionId })).executionId);
    expect(exec.status).toBe('SUCCEEDED');
    const a = await getAnalysis(deps, decisionId);
    expect(a.status).toBe('failed');
    expect(a.decisionClass).toBe('failed');
    expect(a.error).toEqual({
      code: 'UPSTREAM_LLM',
      message: 'no analyst could answer: technical: 500 The server had an error',
    });
    expect(a.agents.technical).toMatchObject({ status: 'unavailable' });
    expect(a.final).toBeNull();

    const { decisionId: inProcessId } = await newDecision();
    await runDecisionChain({ ...deps, llm: { ...deps.llm, call: down } }, inProcessId);
    const b = await getAnalysis(deps, inProcessId);
    expect({ status: b.status, error: b.error, agents: statusesOf(b) }).toEqual({
      status: a.status,
      error: a.error,
      agents: statusesOf(a),
    });
  });

  it('market data that cannot be loaded fails the decision (not an agent), with the execution SUCCEEDED', async () => {
    const binanceDown = {
      ...deps,
      candles: {
        getCandles: async () => {
          throw new AppError('UPSTREAM_BINANCE', 'Binance /api/v3/klines answered 500 after 1 attempt');
        },
      },
    };
    const w = workflows({ deps: binanceDown });
    const { decisionId } = await newDecision();
    const exec = await w.awaitExecution((await w.startAnalysis({ decisionId })).executionId);
    expect(exec.status).toBe('SUCCEEDED');
    expect(exec.output).toMatchObject({ snapshot: { ok: false } });
    const a = await getAnalysis(deps, decisionId);
    expect(a.status).toBe('failed');
    expect(a.error).toEqual({
      code: 'UPSTREAM_BINANCE',
      message: 'Binance /api/v3/klines answered 500 after 1 attempt',
    });
    expect(Object.values(a.agents).every((r) => r === null)).toBe(true); // no agent was called or blamed
    expect(a.final).toBeNull();

    const { decisionId: inProcessId } = await newDecision();
    expect(await runDecisionChain(binanceDown, inProcessId)).toEqual({
      decisionId: inProcessId,
      status: 'failed',
    });
    const b = await getAnalysis(deps, inProcessId);
    expect({ status: b.status, error: b.error, agents: statusesOf(b), final: b.final }).toEqual({
      status: a.status,
      error: a.error,
      agents: statusesOf(a),
      final: a.final,
    });
  });

  it('a snapshot step that throws is caught as a failed decision, never "no trade" from the researcher', async () => {
    const crash = async () => {
      throw new Error('connection to the database lost');
    };
    const w = workflows({ steps: { agent: { prepareSnapshot: crash } } });
    const { decisionId } = await newDecision();
    const exec = await w.awaitExecution((await w.startAnalysis({ decisionId })).executionId);
    expect(exec.status).toBe('SUCCEEDED');
    expect(exec.caught['Prepare snapshot']).toBe(1);
    const a = await getAnalysis(deps, decisionId);
    expect(a.status).toBe('failed');
    expect(a.error).toEqual({ code: 'Error', message: 'connection to the database lost' });
    expect(a.agents.researcher).toBeNull();

    // The in-process runner, with the same fault: the same record.
    const { decisionId: inProcessId } = await newDecision();
    const broken = {
      ...deps,
      candles: { getCandles: crash },
    };
    await runDecisionChain(broken, inProcessId);
    const b = await getAnalysis(deps, inProcessId);
    expect({ status: b.status, error: b.error, agents: statusesOf(b) }).toEqual({
      status: a.status,
      error: a.error,
      agents: statusesOf(a),
    });
  });

  it('a 20-point backtest Map gives the same decisions, trades and metrics as the in-process runner', async () => {
    const request = {
      symbol: 'BTCUSDT',
      start_date: new Date(barTime(1_900)).toISOString(),
      end_date: new Date(barTime(2_560)).toISOString(),
      timeframe: '4h',
      max_decisions: 20,
      decision_interval: 20,
    };
    const w = workflows({ mapConcurrency: 5 });
    const viaSfn = await createBacktest(deps, request);
    const exec = await w.awaitExecution(
      (await w.startBacktest({ backtestId: viaSfn.backtestId })).executionId,
    );
    expect(exec.error).toBeUndefined();
    expect(exec.status).toBe('SUCCEEDED');

    const inProcess = await createBacktest(deps, request);
    await runBacktest(deps, inProcess.backtestId, { concurrency: 5 });

    const [a, b] = [
      await getBacktest(deps, viaSfn.backtestId),
      await getBacktest(deps, inProcess.backtestId),
    ];
    expect(a.status).toBe('succeeded');
    expect(a.progress).toEqual({ done: 20, total: 20 });
    expect(a.result?.decisions).toHaveLength(20);
    const decisionsOf = (x: typeof a) =>
      x.result?.decisions.map((d) => ({
        t: d.decisionTime,
        status: d.status,
        action: d.action,
        size: d.sizePct,
      }));
    expect(decisionsOf(a)).toEqual(decisionsOf(b));
    const strip = (trades: NonNullable<typeof a.result>['trades']) =>
      trades.map(({ id: _id, runId: _run, decisionId: _d, ...rest }) => rest);
    expect(a.result!.trades.length).toBeGreaterThan(0); // the comparison means something only with trades
    expect(strip(a.result!.trades)).toEqual(strip(b.result!.trades));
    expect(a.result?.metrics).toEqual(b.result?.metrics);

    // The persisted result is exactly the pure simulator's over the recorded decisions.
    const replay = await simulateRecorded(deps, viaSfn.backtestId);
    const hashOf = async (id: string) => {
      const [row] = await t.db
        .select({ result: backtests.result })
        .from(backtests)
        .where(eq(backtests.id, id));
      return (row?.result as { tradeListHash?: string } | null)?.tradeListHash;
    };
    expect(replay.result.tradeListHash).toMatch(/^[0-9a-f]{16,}$/);
    expect(await hashOf(viaSfn.backtestId)).toBe(replay.result.tradeListHash);
    expect(await hashOf(inProcess.backtestId)).toBe(replay.result.tradeListHash);

    // Every state's payload stayed tiny: the Map carried ids and times only.
    expect(exec.maxPayloadBytes).toBeGreaterThan(0);
    expect(exec.maxPayloadBytes).toBeLessThan(PAYLOAD_BUDGET);
    expect(exec.maxPayloadBytes).toBeLessThan(SFN_PAYLOAD_LIMIT / 16);
    const rows = await t.db
      .select({ id: decisions.id })
      .from(decisions)
      .where(and(eq(decisions.backtestId, viaSfn.backtestId), eq(decisions.mode, 'backtest')));
    expect(rows).toHaveLength(20);
  });

  const backtestRequest = (points: number) => ({
    symbol: 'BTCUSDT',
    start_date: new Date(barTime(1_900)).toISOString(),
    end_date: new Date(barTime(1_900 + points * 10 + 20)).toISOString(),
    timeframe: '4h',
    max_decisions: points,
    decision_interval: 10,
  });
  /** A snapshot step that throws on the calls `fail` picks (the decision is then recorded failed). */
  const failingSnapshots = (fail: (call: number) => boolean) => {
    let calls = 0;
    return {
      agent: {
        prepareSnapshot: async (d: PipelineDeps, i: { decisionId: string }) => {
          if (fail(++calls)) throw new AppError('UPSTREAM_BINANCE', 'Binance unreachable');
          return agentStepFns.prepareSnapshot(d, i);
        },
      },
    };
  };

  it('each decision point is a child execution; the parent history stays the same size at any item count', async () => {
    const w = workflows({ mapConcurrency: 4 });
    const run = async (points: number) => {
      const { backtestId } = await createBacktest(deps, backtestRequest(points));
      return w.awaitExecution((await w.startBacktest({ backtestId })).executionId);
    };
    const [small, large] = [await run(2), await run(12)];
    for (const e of [small, large]) expect(e.status).toBe('SUCCEEDED');
    expect(small.children).toMatchObject({ succeeded: 2, failed: 0 });
    expect(large.children).toMatchObject({ succeeded: 12, failed: 0 });
    // What the parent writes does not grow with the items; each child's history is its own.
    expect(large.historyEvents).toBe(small.historyEvents);
    const counted = countHistoryEvents(w.definitions.backtest as never);
    expect(large.historyEvents).toBeLessThanOrEqual(counted.events);
    expect(large.children.maxHistoryEvents).toBeGreaterThan(0);
    expect(large.children.maxHistoryEvents).toBeLessThanOrEqual(counted.children['Decision points']!);
  });

  it('a failed decision under BACKTEST_MAX_FAILED_PCT fails its child only; the backtest succeeds', async () => {
    const w = workflows({ mapConcurrency: 1, steps: failingSnapshots((call) => call === 2) });
    const { backtestId } = await createBacktest(deps, backtestRequest(20));
    const exec = await w.awaitExecution((await w.startBacktest({ backtestId })).executionId);
    expect(exec.status).toBe('SUCCEEDED');
    expect(exec.children).toMatchObject({ succeeded: 19, failed: 1 }); // 5% <= 10%
    const bt = await getBacktest(deps, backtestId);
    expect(bt.status).toBe('succeeded');
    expect(bt.result?.decisions.filter((d) => d.status === 'failed')).toHaveLength(1);
  });

  it('past BACKTEST_MAX_FAILED_PCT the Map Run stops early; the run still simulates and ends failed, resumable', async () => {
    const w = workflows({ mapConcurrency: 1, steps: failingSnapshots(() => true) });
    const { backtestId } = await createBacktest(deps, backtestRequest(40));
    const exec = await w.awaitExecution((await w.startBacktest({ backtestId })).executionId);
    // The execution succeeds: the Map's stop is caught and the partial result simulated and stored.
    expect(exec.status).toBe('SUCCEEDED');
    // 5 failed of 40 is past 10%: the 35 other decision points never started, nothing more was spent.
    expect(exec.children).toMatchObject({ succeeded: 0, failed: 5 });
    const bt = await getBacktest(deps, backtestId);
    expect(bt.status).toBe('failed');
    expect(bt.error?.code).toBe('TOO_MANY_FAILED_DECISIONS');
    expect(bt.result?.comparable).toBe(false);
    // every planned point is listed: 5 failed by the data step, 35 never reached (NOT_RUN)
    expect(bt.result?.decisionCounts).toEqual({ decided: 0, abstained: 0, failed: 40 });
    const codes = bt.result?.decisions.map((d) => d.error?.code) ?? [];
    expect(codes.filter((c) => c === 'NOT_RUN')).toHaveLength(35);
    expect(bt.result?.firstError?.code).not.toBe('NOT_RUN');
  });

  it('a backtest whose plan fails is marked failed and the execution fails', async () => {
    const w = workflows({
      steps: {
        backtest: {
          planBacktest: async () => {
            throw new Error('candles unavailable');
          },
        },
      },
    });
    const { backtestId } = await createBacktest(deps, {
      symbol: 'BTCUSDT',
      start_date: new Date(barTime(1_900)).toISOString(),
      end_date: new Date(barTime(2_000)).toISOString(),
      timeframe: '4h',
      max_decisions: 3,
      decision_interval: 10,
    });
    const exec = await w.awaitExecution((await w.startBacktest({ backtestId })).executionId);
    expect(exec.status).toBe('FAILED');
    const bt = await getBacktest(deps, backtestId);
    expect(bt.status).toBe('failed');
    expect(bt.error).toEqual({ code: 'Error', message: 'candles unavailable' });
  });
});
