/**
 * `cli study <request.json | -> [--concurrency N] [--json]` (and `cli study resume <id>`: its failed and
 * flagged cells run again, see shared/studies/resume.ts): create a study from a request file (the
 * body of POST /studies; `-` reads stdin), print its cell count and pre-flight estimate, run it
 * in-process (the Study machine's steps, cells at once = --concurrency), then print the report: one
 * table per sample group and one sentence per variant and baseline. Progress (cells) goes to stderr:
 * a bar on a terminal, plain lines otherwise.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { toStudyDto } from '../../../shared/api/studies';
import { createStudy, getStudy, resumeStudy, runStudy, type StudyReport } from '../../../shared/studies';
import { AppError } from '../../../shared/util/errors';
import type { CliContext } from '../context';
import { formatEstimate, progressReporter } from './backtest';
import { CommandExit, intOption, pct, print, printJson, table, withContainer } from './support';

interface StudyFlags {
  concurrency?: number;
  json?: boolean;
}

const num = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined ? '-' : v.toFixed(digits);

export function formatStudyReport(report: StudyReport): string {
  const out: string[] = [];
  for (const g of report.groups) {
    out.push(`sample: ${g.sample}`);
    out.push(
      table(
        g.arms.map((a) => ({
          arm: a.arm,
          cells: `${a.completeCells}/${a.cells}`,
          'mean excess': pct(a.meanExcess),
          '95% CI': a.ci95 ? `[${pct(a.ci95.meanLow)}, ${pct(a.ci95.meanHigh)}]` : '-',
          'median excess': pct(a.medianExcess),
          'beat B&H': pct(a.shareBeatingBuyAndHold),
          Sharpe: num(a.sharpeAnnualized, 2),
          PSR: num(a.psr),
          DSR: num(a.dsr),
          fees: a.feesPaid.toFixed(2),
          'LLM $': a.llmUsd.toFixed(4),
        })),
      ),
    );
    for (const a of g.arms) out.push(`  ${a.sentence}`);
    out.push('');
  }
  out.push(
    `seed ${report.seed}; ${report.bootstrap.replicates} bootstrap replicates; ${report.bootstrap.method}`,
  );
  return out.join('\n');
}

function readRequest(path: string): unknown {
  const text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AppError('VALIDATION_ERROR', `request: ${path} is not JSON (${(e as Error).message})`, {
      field: 'request',
    });
  }
}

export function registerStudyCommand(program: Command, ctx: CliContext): void {
  program
    .command('study')
    .description(
      'Run a study (variants and baselines over symbols x windows) in this process and print its report',
    )
    .argument('<request>', 'a JSON file with the POST /studies body, or - for stdin; or `resume`')
    .argument('[id]', 'with `resume`: the study to resume (its failed and flagged cells run again)')
    .option('--concurrency <n>', 'cells run at once (default 4)', intOption('concurrency'))
    .option('--json', 'print the study (cells and report) as JSON')
    .action(async (requestPath: string, resumeId: string | undefined, flags: StudyFlags) => {
      const resuming = requestPath === 'resume';
      if (resuming && !resumeId)
        throw new CommandExit(2, 'error: study resume <id>: the study id is missing');
      if (!resuming && resumeId)
        throw new CommandExit(2, `error: unexpected argument ${resumeId} (did you mean: study resume <id>?)`);
      const input = resuming ? null : readRequest(requestPath);
      const study = await withContainer(ctx, async (c) => {
        let studyId: string;
        if (resuming) {
          const r = await resumeStudy(c.deps, resumeId as string);
          studyId = r.studyId;
          ctx.io.stderr(
            `study ${studyId}: resuming ${r.cells} cell(s); ${r.backtestsResumed} backtest(s) reopened: ${r.decisionsToRun} decision(s) to run again, ${r.decisionsKept} kept\n`,
          );
        } else {
          const created = await createStudy(c.deps, input);
          studyId = created.studyId;
          ctx.io.stderr(
            `study: ${created.cells} cells (${created.variantCells} backtests, ${created.baselineCells} baselines)\n${formatEstimate(created.estimate)}\n`,
          );
        }
        const progress = progressReporter(
          ctx.io.stderr,
          Boolean(process.stderr.isTTY) && !flags.json,
          'cells',
        );
        await runStudy(c.deps, studyId, {
          concurrency: flags.concurrency ?? 4,
          backtestConcurrency: c.settings.BACKTEST_MAP_CONCURRENCY,
          onProgress: progress,
        });
        return toStudyDto(await getStudy(c.deps, studyId));
      });
      if (flags.json) printJson(ctx, study);
      else
        print(
          ctx,
          study.report
            ? `${study.name}\n\n${formatStudyReport(study.report)}\nid: ${study.id}`
            : `${study.id}: ${study.status}`,
        );
      if (study.status !== 'succeeded') throw new CommandExit(1, `error: study ${study.status}`);
    });
}
