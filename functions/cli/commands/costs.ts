/** `cli costs [--json]`: today's LLM tokens and USD against the daily budget, by agent and model. */
import type { Command } from 'commander';
import type { CostsDto } from '../../../shared/api/contract';
import { getCosts } from '../../../shared/api/costs';
import type { CliContext } from '../context';
import { print, printJson, table, withContainer } from './support';

export function formatCosts(c: CostsDto): string {
  return [
    `${c.day} (UTC), provider ${c.provider}`,
    `budget: ${c.budget.used} used + ${c.budget.reserved} reserved of ${c.budget.tokens} tokens (${c.budget.remaining} left, ${c.budget.refusedCalls} calls refused)`,
    ...(c.usdBudget
      ? [
          `dollar budget: $${c.usdBudget.used.toFixed(6)} spent + $${c.usdBudget.reserved.toFixed(6)} reserved of $${c.usdBudget.usd} ($${c.usdBudget.remaining.toFixed(6)} left)`,
        ]
      : []),
    `spend: $${c.costUsd.toFixed(6)}; cache: ${c.cache.hits} hits saved ~${c.cache.tokensSaved} tokens, ~$${c.cache.usdSaved.toFixed(6)}`,
    '',
    table(c.byAgent),
  ].join('\n');
}

export function registerCostsCommand(program: Command, ctx: CliContext): void {
  program
    .command('costs')
    .description("Today's LLM spend against the daily token budget")
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const costs = await withContainer(ctx, (c) => getCosts(c.db, c.settings, c.deps.now()));
      if (flags.json) printJson(ctx, costs);
      else print(ctx, formatCosts(costs));
    });
}
