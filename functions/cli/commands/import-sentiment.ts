/**
 * `cli import-sentiment <file...> [--symbol S] [--json]`: load saved Fear & Greed / Binance futures
 * answers (JSON) or CSVs into the sentiment cache, for offline use (shared/sentiment/import.ts does the
 * work). Every file is read and validated before anything is written; a bad row stops with its line.
 */
import type { Command } from 'commander';
import { importSentimentFile, readSentimentFile } from '../../../shared/sentiment/import';
import type { CliContext } from '../context';

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().replace('.000Z', 'Z'));

export function registerImportSentimentCommand(program: Command, ctx: CliContext): void {
  program
    .command('import-sentiment')
    .description(
      'Import market-sentiment history: Fear & Greed (alternative.me JSON or CSV), Binance funding rates (API JSON, CSV or the data.binance.vision fundingRate archive), open interest / long-short (API JSON)',
    )
    .argument('<file...>', 'JSON saved from the APIs or CSV files (.gz allowed)')
    .option(
      '--symbol <symbol>',
      'symbol for Binance files without one (default: from the rows or the file name)',
    )
    .option('--json', 'print one JSON object with a report per file')
    .action(async (files: string[], flags: { symbol?: string; json?: boolean }) => {
      const symbols = ctx.settings().SYMBOLS;
      for (const file of files) readSentimentFile(file, { symbol: flags.symbol, symbols });
      const { db } = await ctx.database();
      const reports = [];
      for (const file of files) {
        const r = await importSentimentFile(db, file, { symbol: flags.symbol, symbols });
        reports.push(r);
        if (!flags.json)
          ctx.io.stdout(
            `${r.series} ${r.symbol} ${r.file}\n  rows read ${r.rowsRead}, inserted ${r.inserted}, skipped ${r.skipped}\n  ${iso(r.first)} .. ${iso(r.last)}, gaps ${r.gaps.length} (${r.gaps.reduce((s, g) => s + g.missingPoints, 0)} missing)\n`,
          );
      }
      if (flags.json) ctx.io.stdout(`${JSON.stringify({ files: reports })}\n`);
    });
}
