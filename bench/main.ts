/**
 * `npm run bench [-- --json] [-- --only name,name]`: runs every benchmark module in bench/ and prints
 * its figures; with --json the last line is one JSON object { suite: { figure: value } }.
 *
 * A benchmark module exports `name`, an optional `description`, and `run(ctx)` that returns its
 * figures as a flat record. Figures are measured, never asserted: tests check behaviour.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import '../shared/polyfills';

export interface BenchContext {
  /** Folder with the team's real Binance data, or undefined when it is absent. */
  dataDir: string | undefined;
  log(line: string): void;
}
export type Figures = Record<string, number | string | boolean | null>;
export interface BenchModule {
  name: string;
  description?: string;
  run(ctx: BenchContext): Promise<Figures>;
}

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const json = args.includes('--json');
const onlyIdx = args.indexOf('--only');
const only = onlyIdx >= 0 ? (args[onlyIdx + 1] ?? '').split(',').filter(Boolean) : [];

const here = fileURLToPath(new URL('.', import.meta.url));
const dataCandidate = resolve(here, '..', process.env.BINANCE_DATA_DIR ?? '../shared/data/binance');
const ctx: BenchContext = {
  dataDir: existsSync(dataCandidate) ? dataCandidate : undefined,
  log: (line) => {
    if (!json) console.log(line);
    else console.error(line);
  },
};

const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort();
const all: Record<string, Figures> = {};
for (const f of files) {
  const mod = (await import(pathToFileURL(resolve(here, f)).href)) as BenchModule;
  if (only.length && !only.includes(mod.name)) continue;
  ctx.log(`\n== ${mod.name}${mod.description ? `: ${mod.description}` : ''}`);
  try {
    const figures = await mod.run(ctx);
    all[mod.name] = figures;
    for (const [k, v] of Object.entries(figures)) ctx.log(`  ${k.padEnd(48)} ${v}`);
  } catch (e) {
    all[mod.name] = { error: (e as Error).message };
    ctx.log(`  FAILED: ${(e as Error).stack ?? e}`);
    process.exitCode = 1;
  }
}
if (!ctx.dataDir) ctx.log('\n(note: ../shared/data/binance not found; benchmarks on real data were skipped)');
if (json) console.log(JSON.stringify(all));
