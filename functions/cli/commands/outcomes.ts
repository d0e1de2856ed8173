/** `cli outcomes [--run ID] [--symbol S] [--limit N] [--json]`: a book's trade outcomes and aggregates. */
import type { Command } from 'commander';
import type { OutcomeDto, OutcomesPageDto } from '../../../shared/api/contract';
import { outcomesPage } from '../../../shared/api/outcomes';
import type { CliContext } from '../context';
import { intOption, print, printJson, table, usage, withContainer } from './support';

const MAX_OUTCOMES = 200;
const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));

export function formatOutcomes(p: OutcomesPageDto): string {
  const a = p.aggregates;
  const groups = (name: string, g: OutcomesPageDto['aggregates']['byRegime']) =>
    table(
      Object.entries(g).map(([k, s]) => ({
        [name]: k,
        count: s.count,
        winRate: pct(s.winRate),
        meanPnlPct: num(s.meanPnlPct),
        payoff: num(s.payoffRatio),
        pnlUsdt: num(s.totalPnlUsdt),
      })),
    );
  return [
    `outcomes of book ${p.runId}: ${a.count} closed, win rate ${pct(a.winRate)}, mean PnL ${num(a.meanPnlPct)}%, payoff ratio ${num(a.payoffRatio)}, total ${num(a.totalPnlUsdt)} USDT`,
    '',
    groups('regime', a.byRegime),
    '',
    groups('exitReason', a.byExitReason),
    '',
    groups('confidence', a.byConfidence),
    '',
    table(
      p.items.map((o: OutcomeDto) => ({
        exitTime: o.exitTime,
        symbol: o.symbol,
        quantity: o.quantity,
        entry: o.entryPrice,
        exit: o.exitPrice,
        pnlUsdt: num(o.pnlUsdt, 4),
        pnlPct: num(o.pnlPct),
        reason: o.exitReason,
        regime:
          (o.context as { regime?: { detector?: { regime?: string } | null } }).regime?.detector?.regime ??
          '-',
      })),
    ),
  ].join('\n');
}

export function registerOutcomesCommand(program: Command, ctx: CliContext): void {
  program
    .command('outcomes')
    .description(
      'Trade outcomes (closed round trips) of the live book, or of a backtest with --run, with aggregates',
    )
    .option('--limit <n>', `how many (1-${MAX_OUTCOMES})`, intOption('limit'), 50)
    .option('--run <id>', "a run id: 'live' or a backtest id")
    .option('--symbol <symbol>', 'one symbol only')
    .option('--json', 'print JSON')
    .action(async (flags: { limit: number; run?: string; symbol?: string; json?: boolean }) => {
      const page = await withContainer(ctx, async (c) => {
        if (flags.limit < 1 || flags.limit > MAX_OUTCOMES)
          usage('limit', `must be from 1 to ${MAX_OUTCOMES}`);
        return outcomesPage(c.db, {
          limit: flags.limit,
          ...(flags.run ? { run_id: flags.run } : {}),
          ...(flags.symbol ? { symbol: flags.symbol } : {}),
        });
      });
      if (flags.json) printJson(ctx, page);
      else print(ctx, formatOutcomes(page));
    });
}
