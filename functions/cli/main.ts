/**
 * `npm run cli -- <command>`: the product's command line over the same core as the API.
 *
 * To add a command: write `commands/<name>.ts` exporting `register<Name>Command(program, ctx)` and add
 * it to COMMANDS below. Commands throw `UsageError` for argument problems (exit 2) and let AppErrors
 * through (exit 1); this file maps them to exit codes and prints `error [CODE]: message`.
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import '../../shared/polyfills';
import '../../shared/config/dotenv';
import { ConfigError } from '../../shared/config/settings';
import { isAppError } from '../../shared/util/errors';
import { registerAnalyzeCommand } from './commands/analyze';
import { registerBacktestCommand } from './commands/backtest';
import { registerCostsCommand } from './commands/costs';
import { registerImportCommand } from './commands/import';
import { registerImportSentimentCommand } from './commands/import-sentiment';
import { registerLearningCommands } from './commands/learning';
import { registerOutcomesCommand } from './commands/outcomes';
import { registerPortfolioCommand, registerTradesCommand } from './commands/portfolio';
import { registerPromptsCommands } from './commands/prompts';
import { registerStudyCommand } from './commands/study';
import { CommandExit } from './commands/support';
import { type CliContext, type CliDeps, type CliIo, createCliContext } from './context';
import { EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_USAGE_ERROR, UsageError } from './errors';

export type CommandRegistrar = (program: Command, ctx: CliContext) => void;

const COMMANDS: CommandRegistrar[] = [
  registerImportCommand,
  registerImportSentimentCommand,
  registerAnalyzeCommand,
  registerBacktestCommand,
  registerStudyCommand,
  registerPortfolioCommand,
  registerTradesCommand,
  registerOutcomesCommand,
  registerCostsCommand,
  registerLearningCommands,
  registerPromptsCommands,
];

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('cli')
    .description('Agent trading firm: market data and simulator tools')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: ctx.io.stdout, writeErr: ctx.io.stderr });
  for (const register of COMMANDS) register(program, ctx);
  return program;
}

/** Run the CLI on `argv` (without node and script) and return the exit code; never calls process.exit. */
export async function runCli(argv: string[], io: CliIo, deps: CliDeps = {}): Promise<number> {
  const ctx = createCliContext(io, deps);
  try {
    await buildProgram(ctx).parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    // Commander has already printed its message (or the help) through configureOutput.
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE_ERROR;
    if (e instanceof CommandExit) {
      if (e.message) io.stderr(`${e.message}\n`);
      return e.exitCode;
    }
    if (e instanceof UsageError) {
      io.stderr(`error: ${e.message}\n`);
      return EXIT_USAGE_ERROR;
    }
    if (e instanceof ConfigError) {
      io.stderr(`${e.message}\n`);
      return EXIT_USAGE_ERROR;
    }
    if (isAppError(e)) {
      io.stderr(`error [${e.code}]: ${e.message}\n`);
      return EXIT_RUNTIME_ERROR;
    }
    io.stderr(`error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT_RUNTIME_ERROR;
  } finally {
    await ctx.close();
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  process.exitCode = await runCli(process.argv.slice(2), {
    env: process.env,
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
}
