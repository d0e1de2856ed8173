/**
 * `cli analyze <SYMBOL> [--mode live|backtest_step] [--timestamp T] [--timeframe TF]
 * [--decision-mode pipeline|consensus] [--json]`: one pass of the agent firm, in-process (the same steps
 * as the state machine), printing the final decision, the consensus vote (consensus mode), each agent's
 * status and the cost. Exit 3 when the daily token budget refused it, 1 when it failed or
 * ended on an upstream failure (Binance, the model provider), with the message POST /analyze gives.
 */
import type { Command } from 'commander';
import { analysisResponse } from '../../../shared/api/analyses';
import { type AnalysisDto, analyzeRequestSchema } from '../../../shared/api/contract';
import { analysisOutcomeError } from '../../../shared/api/outcome';
import { assertSymbol } from '../../../shared/market/candle-store';
import { createDecision, runDecisionChain } from '../../../shared/pipeline/analysis';
import { parseOrThrow } from '../../../shared/util/validation';
import type { CliContext } from '../context';
import { cliIdempotencyKey, createOnce, IDEMPOTENCY_KEY_FLAG, IDEMPOTENCY_KEY_HELP } from './idempotency';
import { CommandExit, EXIT_BUDGET_EXCEEDED, print, printJson, table, withContainer } from './support';

interface AnalyzeFlags {
  mode?: string;
  decisionMode?: string;
  timestamp?: string;
  timeframe?: string;
  idempotencyKey?: string;
  json?: boolean;
}

export function formatAnalysis(a: AnalysisDto): string {
  const lines = [
    `${a.symbol} ${a.timeframe} ${a.mode} at ${a.decisionTime} (${a.provider}): ${a.status}`,
    a.final
      ? `decision: ${a.final.action} ${a.final.sizePct}%${a.final.gated ? ' (gated)' : ''}: ${a.final.reason}`
      : 'decision: none',
  ];
  for (const c of a.final?.clamps ?? []) lines.push(`  clamp ${c.rule}: ${c.reason}`);
  lines.push(...formatConsensus(a));
  if (a.execution?.trade) {
    const t = a.execution.trade;
    lines.push(`trade: ${t.side} ${t.quantity} @ ${t.price} (fee ${t.fee} ${t.feeAsset}) ${t.status}`);
  } else if (a.execution?.rejected) lines.push(`trade rejected: ${a.execution.rejected}`);
  if (a.error) lines.push(`error ${a.error.code}: ${a.error.message}`);
  const agents = Object.entries(a.agents).map(([name, r]) => ({
    agent: name,
    status: r?.status ?? '-',
    model: r?.model ?? '-',
    tokensIn: r?.tokensIn ?? 0,
    tokensOut: r?.tokensOut ?? 0,
    costUsd: r?.costUsd ?? 0,
  }));
  lines.push('', table(agents));
  lines.push(
    '',
    `cost: ${a.cost.calls} calls, ${a.cost.tokensIn} in / ${a.cost.tokensOut} out tokens, $${a.cost.costUsd.toFixed(6)}`,
  );
  return lines.join('\n');
}

/** The consensus vote, when the decision was made in consensus mode. */
export function formatConsensus(a: Pick<AnalysisDto, 'decisionMode' | 'consensus'>): string[] {
  const c = a.consensus;
  if (a.decisionMode !== 'consensus') return [];
  if (!c) return ['consensus: no vote was taken (the researcher did not answer)'];
  const t = c.tally;
  const lines = [
    `consensus: ${c.reached ? `${c.agreed} reached` : 'not reached'} (BUY ${t.BUY}, SELL ${t.SELL}, HOLD ${t.HOLD}; ${c.voted} of ${c.voters.length} voted, MIN_AGREEMENT ${c.minAgreement})`,
  ];
  for (const v of c.votes) lines.push(`  vote ${v.voter}: ${v.vote} (confidence ${v.confidence})`);
  for (const v of c.absent) lines.push(`  vote ${v.voter}: did not vote (${v.status})`);
  return lines;
}

export function registerAnalyzeCommand(program: Command, ctx: CliContext): void {
  program
    .command('analyze')
    .description('Run the agent firm on a symbol once (live: trades on the live simulated book)')
    .argument('<symbol>', 'a supported symbol, e.g. BTCUSDT')
    .option('--mode <mode>', 'live or backtest_step', 'live')
    .option('--timestamp <time>', 'data cut-off for backtest_step (2024-01-31 or an ISO time)')
    .option('--timeframe <tf>', 'candle timeframe', '1h')
    .option('--decision-mode <mode>', 'pipeline or consensus (default: DECISION_MODE)')
    .option(IDEMPOTENCY_KEY_FLAG, IDEMPOTENCY_KEY_HELP)
    .option('--json', 'print the analysis as JSON')
    .action(async (symbol: string, flags: AnalyzeFlags) => {
      const key = cliIdempotencyKey(flags.idempotencyKey);
      const req = parseOrThrowUsage(() =>
        parseOrThrow(
          analyzeRequestSchema,
          {
            symbol,
            mode: flags.mode,
            timeframe: flags.timeframe,
            ...(flags.timestamp ? { timestamp: flags.timestamp } : {}),
            ...(flags.decisionMode ? { decision_mode: flags.decisionMode } : {}),
          },
          'request',
        ),
      );
      const analysis = await withContainer(ctx, async (c) => {
        assertSymbol(req.symbol, c.settings.SYMBOLS);
        const created = await createOnce(c, { scope: 'cli analyze', key, body: req }, async () => {
          const { decisionId } = await createDecision(c.deps, {
            symbol: req.symbol,
            timeframe: req.timeframe,
            mode: req.mode,
            ...(req.timestamp ? { timestamp: req.timestamp } : {}),
            ...(req.decision_mode ? { decisionMode: req.decision_mode } : {}),
          });
          return decisionId;
        });
        // A repeat with the key runs nothing (it never trades twice): it shows the first run's analysis.
        if (created.replayed)
          ctx.io.stderr(`replayed: --idempotency-key was used by analysis ${created.id}; nothing was run\n`);
        else await runDecisionChain(c.deps, created.id);
        return analysisResponse(c.deps, created.id);
      });
      if (flags.json) printJson(ctx, analysis);
      else print(ctx, formatAnalysis(analysis));
      if (analysis.status === 'budget_exceeded')
        throw new CommandExit(
          EXIT_BUDGET_EXCEEDED,
          'error [BUDGET_EXCEEDED]: the daily token budget refused the analysis',
        );
      // The same reading as POST /analyze: an upstream failure (even one recorded as "no trade") or a
      // failed analysis is an error saying which (Binance, the model provider, the data).
      const failure = analysisOutcomeError(analysis, `/analyses/${analysis.id}`);
      if (failure) throw new CommandExit(1, `error [${failure.code}]: ${failure.message}`);
    });
}

/** Validation before any container exists: a CommandExit(2) with the field named. */
export function parseOrThrowUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'VALIDATION_ERROR') throw new CommandExit(2, `error [VALIDATION_ERROR]: ${err.message}`);
    throw e;
  }
}
