/**
 * `cli import <file...> [--symbol S] [--timeframe TF] [--json]`: load Binance archive CSVs into the
 * candle cache (shared/market/import.ts does the work).
 *
 * Every file is checked before anything is imported, the database untouched on failure: a missing file
 * first (exit 1, NOT_FOUND, whatever its name), then its symbol and timeframe, so a command line with one
 * unusable name fails as a usage error (exit 2). Files are then imported one
 * by one, each in its own transaction; a bad row stops the run (exit 1) with its line number, leaving the
 * files before it imported and that file unchanged.
 */
import { type Command, Option } from 'commander';
import {
  assertReadableFile,
  type ImportReport,
  importKlineFile,
  resolveImportTarget,
} from '../../../shared/market/import';
import { type Gap, TIMEFRAMES } from '../../../shared/market/types';
import { isAppError } from '../../../shared/util/errors';
import type { CliContext } from '../context';
import { UsageError } from '../errors';

/** Gaps listed in the human-readable summary; --json carries them all. */
const GAPS_SHOWN = 5;

interface ImportFlags {
  symbol?: string;
  timeframe?: string;
  json?: boolean;
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));

function describeGap(g: Gap): string {
  return `${iso(g.afterOpenTime)} -> ${iso(g.nextOpenTime)} (${g.missingBars} missing)`;
}

export function formatImportReport(r: ImportReport): string {
  const lines = [
    `${r.symbol} ${r.timeframe} ${r.file}`,
    `  rows read ${r.rowsRead}, inserted ${r.inserted}, skipped ${r.skipped} (already stored)`,
    `  ${iso(r.firstOpenTime)} .. ${iso(r.lastOpenTime)}, ${r.format} rows, ${r.timestampUnit} timestamps${
      r.header ? ', header' : ''
    }`,
    `  gaps ${r.gaps.length} (${r.missingBars} bars missing)`,
    ...r.gaps.slice(0, GAPS_SHOWN).map((g) => `    ${describeGap(g)}`),
    ...(r.gaps.length > GAPS_SHOWN ? [`    ... ${r.gaps.length - GAPS_SHOWN} more (see --json)`] : []),
    `  ${(r.elapsedMs / 1000).toFixed(2)} s, ${Math.round(r.rowsRead / Math.max(r.elapsedMs / 1000, 0.001))} rows/s`,
  ];
  return `${lines.join('\n')}\n`;
}

export function registerImportCommand(program: Command, ctx: CliContext): void {
  program
    .command('import')
    .description(
      "Import Binance kline archive CSVs (.csv or .csv.gz, data.binance.vision or the team's extracts)",
    )
    .argument(
      '<file...>',
      'files named like BTCUSDT-1h.csv.gz, BTCUSDT-1h-2024-01.csv or SOLUSDT-1d-ohlcv.csv',
    )
    .option('--symbol <symbol>', 'symbol for every file (default: from the file name)')
    .addOption(
      new Option('--timeframe <timeframe>', 'timeframe for every file (default: from the file name)').choices(
        TIMEFRAMES,
      ),
    )
    .option('--json', 'print one JSON object with a report per file')
    .action(async (files: string[], flags: ImportFlags) => {
      const symbols = ctx.settings().SYMBOLS;
      // A missing file is an AppError (exit 1), not a usage error: the command line itself was well formed.
      for (const file of files) assertReadableFile(file);
      for (const file of files) {
        try {
          resolveImportTarget(file, { symbol: flags.symbol, timeframe: flags.timeframe, symbols });
        } catch (e) {
          if (isAppError(e)) throw new UsageError(`${file}: ${e.message}`, { cause: e });
          throw e;
        }
      }
      const { db } = await ctx.database();
      const reports: ImportReport[] = [];
      for (const file of files) {
        const report = await importKlineFile(db, file, {
          symbol: flags.symbol,
          timeframe: flags.timeframe,
          symbols,
        });
        reports.push(report);
        if (!flags.json) ctx.io.stdout(formatImportReport(report));
      }
      if (flags.json) ctx.io.stdout(`${JSON.stringify({ files: reports })}\n`);
    });
}
