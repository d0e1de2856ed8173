/** `cli portfolio [--json]` and `cli trades [--limit N] [--run ID] [--json]`: the live book and its ledger. */
import type { Command } from 'commander';
import type { PortfolioDto, TradeDto } from '../../../shared/api/contract';
import { livePortfolio, tradesPage } from '../../../shared/api/portfolio';
import type { CliContext } from '../context';
import { intOption, print, printJson, table, usage, withContainer } from './support';

const MAX_TRADES = 200;

export function formatPortfolio(p: PortfolioDto): string {
  return [
    `book ${p.runId} at ${p.asOf}`,
    `equity ${p.equity.toFixed(2)} = cash ${p.cash.toFixed(2)} + positions ${p.positionsValue.toFixed(2)} (return ${p.totalReturnPct.toFixed(4)}%)`,
    `realized ${p.realizedPnl.toFixed(4)}, unrealized ${p.unrealizedPnl.toFixed(4)}, fees ${p.feesPaid.toFixed(4)}`,
    ...(p.pricesNote ? [`note: ${p.pricesNote}`] : []),
    '',
    table(p.positions),
  ].join('\n');
}

export function formatTrades(items: TradeDto[]): string {
  return table(
    items.map((t) => ({
      executedAt: t.executedAt,
      symbol: t.symbol,
      side: t.side,
      status: t.status,
      quantity: t.quantity,
      price: t.price,
      fee: t.fee,
      feeAsset: t.feeAsset,
      realizedPnl: t.realizedPnl,
      reason: t.reason,
    })),
  );
}

export function registerPortfolioCommand(program: Command, ctx: CliContext): void {
  program
    .command('portfolio')
    .description('The live simulated book, marked to the latest Binance prices')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const p = await withContainer(ctx, (c) =>
        livePortfolio(c.db, c.settings, (s) => c.binance.latestPrice(s), c.deps.now()),
      );
      if (flags.json) printJson(ctx, p);
      else print(ctx, formatPortfolio(p));
    });
}

export function registerTradesCommand(program: Command, ctx: CliContext): void {
  program
    .command('trades')
    .description('Trades of the live book (or of a backtest with --run), newest first')
    .option('--limit <n>', `how many (1-${MAX_TRADES})`, intOption('limit'), 50)
    .option('--run <id>', "a run id: 'live' or a backtest id")
    .option('--json', 'print JSON')
    .action(async (flags: { limit: number; run?: string; json?: boolean }) => {
      const page = await withContainer(ctx, async (c) => {
        if (flags.limit < 1 || flags.limit > MAX_TRADES) usage('limit', `must be from 1 to ${MAX_TRADES}`);
        return tradesPage(c.db, { limit: flags.limit, ...(flags.run ? { run_id: flags.run } : {}) });
      });
      if (flags.json) printJson(ctx, page);
      else print(ctx, formatTrades(page.items));
    });
}
