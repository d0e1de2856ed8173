/**
 * `cli backtest <SYMBOL> --start D --end D [--timeframe TF] [--max-decisions N] [--interval N]
 * [--concurrency N] [--decision-mode M] [--prompt agent=version ...] [--idempotency-key K] [--json]`
 * (and `cli backtest resume <id>`, below): create the backtest (pre-flight estimate printed first), run it
 * in-process with the Map's bounded concurrency, then print the metrics table beside buy-and-hold.
 * Progress goes to stderr: a bar redrawn in place on a terminal, plain lines otherwise (logs, CI).
 */
import type { Command } from 'commander';
import { backtestDto } from '../../../shared/api/backtests';
import type { BacktestDto, CostEstimate } from '../../../shared/api/contract';
import {
  type BacktestView,
  createBacktest,
  getBacktest,
  resumeBacktest,
  runBacktest,
} from '../../../shared/pipeline/backtest';
import type { CliContext } from '../context';
import { cliIdempotencyKey, createOnce, IDEMPOTENCY_KEY_FLAG, IDEMPOTENCY_KEY_HELP } from './idempotency';
import { CommandExit, intOption, pct, print, printJson, table, usage, withContainer } from './support';

interface BacktestFlags {
  start?: string;
  end?: string;
  timeframe: string;
  maxDecisions: number;
  interval?: number;
  concurrency?: number;
  decisionMode?: string;
  idempotencyKey?: string;
  prompt?: Record<string, string>;
  json?: boolean;
}

/** `--prompt trader=3f9a1c0b2d4e` (repeatable): pins an agent's prompt version for the backtest. */
export function promptPin(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) usage('--prompt', `"${value}" is not agent=version (e.g. trader=3f9a1c0b2d4e)`);
  return { ...previous, [value.slice(0, eq).trim()]: value.slice(eq + 1).trim() };
}

const BAR_WIDTH = 30;
/** Plain progress lines: one per this fraction of the work, so logs stay short. */
const PLAIN_STEP = 0.1;

export function progressReporter(write: (text: string) => void, isTTY: boolean, unit = 'decisions') {
  let lastPlain = -1;
  return (done: number, total: number) => {
    const frac = total === 0 ? 1 : done / total;
    if (isTTY) {
      const filled = Math.round(frac * BAR_WIDTH);
      write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total} ${unit}${done === total ? '\n' : ''}`,
      );
      return;
    }
    const bucket = Math.floor(frac / PLAIN_STEP);
    if (bucket !== lastPlain || done === total) {
      lastPlain = bucket;
      write(`progress ${done}/${total} ${unit}\n`);
    }
  };
}

export function formatEstimate(e: CostEstimate): string {
  return `estimate: ${e.decisions} decisions x ${e.callsPerDecision} calls, ~${e.tokensIn + e.tokensOut} tokens, $${e.costUsd.toFixed(4)} (${e.provider}; ${e.note})`;
}

export function formatBacktest(b: BacktestDto): string {
  const r = b.result;
  if (!r) return `${b.id}: ${b.status}${b.error ? ` (${b.error.code}: ${b.error.message})` : ''}`;
  const m = r.metrics;
  // A run that ended failed (too many failed decisions) is not the firm's performance: no baseline column.
  const bh = (v: string) => (r.comparable ? v : '');
  const rows = [
    { metric: 'total return', strategy: pct(m.totalReturn), buyAndHold: bh(pct(r.buyAndHold.totalReturn)) },
    {
      metric: 'final equity',
      strategy: m.finalEquity.toFixed(2),
      buyAndHold: bh(r.buyAndHold.finalEquity.toFixed(2)),
    },
    { metric: 'CAGR', strategy: pct(m.cagr), buyAndHold: '' },
    { metric: 'max drawdown', strategy: pct(m.maxDrawdown), buyAndHold: '' },
    { metric: 'Sharpe (daily, x sqrt 365)', strategy: m.sharpeDaily?.toFixed(3) ?? '-', buyAndHold: '' },
    { metric: 'Sharpe (per bar)', strategy: m.sharpePerBar?.toFixed(3) ?? '-', buyAndHold: '' },
    { metric: 'Sortino', strategy: m.sortino?.toFixed(3) ?? '-', buyAndHold: '' },
    { metric: 'Calmar', strategy: m.calmar?.toFixed(3) ?? '-', buyAndHold: '' },
    { metric: 'fills / round trips', strategy: `${m.trades} / ${m.roundTrips}`, buyAndHold: '' },
    { metric: 'win rate', strategy: pct(m.winRate), buyAndHold: '' },
    { metric: 'profit factor', strategy: m.profitFactor?.toFixed(3) ?? '-', buyAndHold: '' },
    {
      metric: 'exposure',
      strategy: m.exposurePct === null ? '-' : `${m.exposurePct.toFixed(2)}%`,
      buyAndHold: '',
    },
    { metric: 'fees paid', strategy: m.feesPaid.toFixed(4), buyAndHold: '' },
  ];
  const s = r.llmSpend;
  const c = r.decisionCounts;
  return [
    `${b.symbol} ${b.timeframe} ${b.startDate} .. ${b.endDate}: ${b.status} (${b.progress.done}/${b.progress.total} decisions, ${r.sample})`,
    `decisions: ${c.decided} decided, ${c.abstained} abstained, ${c.failed} failed`,
    ...(r.degraded
      ? [
          `DEGRADED: ${c.failed} decision(s) failed${r.firstError ? `; first: ${r.firstError.code}: ${r.firstError.message}` : ''}`,
        ]
      : []),
    ...(r.comparable
      ? []
      : [
          `NOT THE FIRM'S PERFORMANCE: ${b.error?.code ?? 'failed'}: ${b.error?.message ?? ''} (partial result; resume with: backtest resume ${b.id})`,
        ]),
    '',
    table(rows, ['metric', 'strategy', 'buyAndHold']),
    '',
    `LLM spend: ${s.calls} calls (${s.cacheHits} cached), ${s.tokensIn} in / ${s.tokensOut} out tokens, $${s.costUsd.toFixed(6)}${s.estimateUsd === null ? '' : ` (estimate $${s.estimateUsd.toFixed(6)})`}`,
    ...(r.gaps.length
      ? [`data gaps: ${r.gaps.length} (${r.gaps.reduce((n, g) => n + g.missingBars, 0)} bars missing)`]
      : []),
    'assumptions:',
    ...r.assumptions.map((a) => `  - ${a}`),
    `id: ${b.id}`,
  ].join('\n');
}

export function registerBacktestCommand(program: Command, ctx: CliContext): void {
  program
    .command('backtest')
    .description('Run an LLM backtest in this process and print its metrics beside buy-and-hold')
    .argument('<symbol>', 'a supported symbol, e.g. BTCUSDT; or `resume` to resume a backtest')
    .argument('[id]', 'with `resume`: the backtest to resume (only its failed decisions run again)')
    .option('--start <date>', 'first day (2024-01-01 or an ISO time); required for a new backtest')
    .option('--end <date>', 'end (exclusive); required for a new backtest')
    .option('--timeframe <tf>', 'candle timeframe', '4h')
    .option('--max-decisions <n>', 'at most this many decision points', intOption('max-decisions'), 50)
    .option(
      '--interval <n>',
      'a decision every N candles (default: spread evenly over the range, N = max(1, floor(bars in range / max-decisions)))',
      intOption('interval'),
    )
    .option(
      '--concurrency <n>',
      'decision points run at once (default BACKTEST_MAP_CONCURRENCY)',
      intOption('concurrency'),
    )
    .option('--decision-mode <mode>', 'pipeline or consensus (default: DECISION_MODE)')
    .option(IDEMPOTENCY_KEY_FLAG, IDEMPOTENCY_KEY_HELP)
    .option(
      '--prompt <agent=version>',
      'pin a prompt version for every decision (repeatable; see `prompts <agent>`)',
      promptPin,
    )
    .option('--json', 'print the backtest as JSON')
    .action(async (symbol: string, id: string | undefined, flags: BacktestFlags) => {
      if (symbol === 'resume') return resumeCommand(ctx, id, flags);
      if (id !== undefined) throw new CommandExit(2, `error: unexpected argument ${id}`);
      if (!flags.start || !flags.end)
        throw new CommandExit(
          2,
          "error: required options '--start <date>' and '--end <date>' for a new backtest",
        );
      const key = cliIdempotencyKey(flags.idempotencyKey);
      const backtest = await withContainer(ctx, async (c) => {
        const request = {
          symbol,
          start_date: flags.start,
          end_date: flags.end,
          timeframe: flags.timeframe,
          max_decisions: flags.maxDecisions,
          ...(flags.interval === undefined ? {} : { decision_interval: flags.interval }),
          ...(flags.decisionMode === undefined ? {} : { decision_mode: flags.decisionMode }),
          ...(flags.prompt === undefined ? {} : { prompt_versions: flags.prompt }),
        };
        let estimate: CostEstimate | undefined;
        const created = await createOnce(c, { scope: 'cli backtest', key, body: request }, async () => {
          const made = await createBacktest(c.deps, request);
          estimate = made.estimate;
          return made.backtestId;
        });
        const backtestId = created.id;
        // A repeat with the key starts no second run: it shows the first run's backtest as it is now.
        if (created.replayed) {
          ctx.io.stderr(
            `replayed: --idempotency-key was used by backtest ${backtestId}; nothing was started\n`,
          );
          return getBacktest(c.deps, backtestId);
        }
        if (estimate) ctx.io.stderr(`${formatEstimate(estimate)}\n`);
        return runWithProgress(ctx, c, backtestId, flags);
      });
      printOutcome(ctx, backtest, flags);
    });
}

/** Run a backtest in this process with the Map's concurrency, its progress on stderr. */
function runWithProgress(
  ctx: CliContext,
  c: { deps: Parameters<typeof runBacktest>[0]; settings: { BACKTEST_MAP_CONCURRENCY: number } },
  backtestId: string,
  flags: BacktestFlags,
) {
  const progress = progressReporter(ctx.io.stderr, Boolean(process.stderr.isTTY) && !flags.json);
  return runBacktest(c.deps, backtestId, {
    concurrency: flags.concurrency ?? c.settings.BACKTEST_MAP_CONCURRENCY,
    onProgress: progress,
  });
}

/** Print the finished backtest (JSON or the table); a run that did not succeed exits 1. */
function printOutcome(ctx: CliContext, view: BacktestView, flags: BacktestFlags) {
  const backtest = backtestDto(view);
  if (flags.json) printJson(ctx, backtest);
  else print(ctx, formatBacktest(backtest));
  if (backtest.status !== 'succeeded') throw new CommandExit(1, `error: backtest ${backtest.status}`);
}

/**
 * `backtest resume <id>`: reopen a finished backtest with failed decisions and run only those again (the
 * decisions already made are kept: no call, no cost), then simulate; prints the result like a new run.
 */
async function resumeCommand(ctx: CliContext, id: string | undefined, flags: BacktestFlags) {
  if (!id) throw new CommandExit(2, 'error: backtest resume needs the backtest id');
  const backtest = await withContainer(ctx, async (c) => {
    const resumed = await resumeBacktest(c.deps, id);
    ctx.io.stderr(`resuming ${id}: ${resumed.toRun} decision point(s) to run, ${resumed.kept} kept\n`);
    return runWithProgress(ctx, c, id, flags);
  });
  printOutcome(ctx, backtest, flags);
}
