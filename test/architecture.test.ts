/**
 * The codebase's layering, held by its import graph (production files only; tests may reach across):
 *
 * - The pure core (indicators, the simulator and its metrics and strategies, the book's exact math, the
 *   regime detector, consensus counting, outcome statistics and sizing, the shared schemas) imports no
 *   host: no database, no model SDK, no AWS, no file system or network, nothing from the pipeline or
 *   the API. Everything it reaches, transitively, is core too.
 * - The API contract and its mapping live at the edge: nothing in shared/ outside shared/api imports
 *   shared/api. The pipeline returns its own views (times as Dates, records from shared/schemas) and
 *   shared/api maps them to the contract.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Relative and package imports of a TypeScript file (static `import`/`export ... from` and `import()`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = new Set<string>();
  for (const m of text.matchAll(/^(?:import|export)\b[^'";]*?from\s+'([^']+)'/gms)) specs.add(m[1] as string);
  for (const m of text.matchAll(/^import\s+'([^']+)'/gm)) specs.add(m[1] as string);
  for (const m of text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) specs.add(m[1] as string);
  return [...specs];
}

function resolveRelative(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  throw new Error(`${path.relative(ROOT, from)}: cannot resolve ${spec}`);
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.tsx?$/.test(e.name) && !/\.(test|bench)\.tsx?$/.test(e.name) && e.name !== 'testing.ts')
      out.push(p);
  }
  return out;
}

const rel = (f: string) => path.relative(ROOT, f).split(path.sep).join('/');

/** The core's entry points; what they import is checked transitively. */
const CORE_ENTRIES = [
  'shared/indicators/compute.ts',
  'shared/indicators/market-view.ts',
  'shared/backtest/index.ts',
  'shared/portfolio/book.ts',
  'shared/portfolio/order.ts',
  'shared/portfolio/exact.ts',
  'shared/regime/detector.ts',
  'shared/consensus/votes.ts',
  'shared/outcomes/stats.ts',
  'shared/outcomes/sizing.ts',
  'shared/outcomes/ledger.ts',
  'shared/schemas/records.ts',
  'shared/schemas/backtest-request.ts',
  'shared/studies/report.ts',
];
/**
 * Packages the core may use: pure computation and validation (node:crypto for the simulator's trade-list
 * hash, a pure function of its input).
 */
const CORE_PACKAGES = new Set(['technicalindicators', 'decimal.js', 'zod', 'node:crypto']);
/** Folders no core file may reach, whatever the path (a model SDK or AWS client is caught as a package). */
const HOST_DIRS = ['shared/db/', 'shared/api/', 'shared/pipeline/', 'functions/', 'cdk/', 'web/'];

describe('architecture', () => {
  it('the pure core imports no host, transitively', () => {
    const seen = new Set<string>();
    const problems: string[] = [];
    const queue = CORE_ENTRIES.map((f) => path.join(ROOT, f));
    while (queue.length) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      if (HOST_DIRS.some((d) => rel(file).startsWith(d)))
        problems.push(`${rel(file)} is reached by the core`);
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.')) queue.push(resolveRelative(file, spec));
        else if (!CORE_PACKAGES.has(spec)) problems.push(`${rel(file)} imports ${spec}`);
      }
    }
    // The walk really covered the core (a broken resolver would pass vacuously).
    expect(seen.size).toBeGreaterThanOrEqual(CORE_ENTRIES.length);
    expect(problems).toEqual([]);
  });

  it('nothing in shared/ outside shared/api imports the API contract or its mapping', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(path.join(ROOT, 'shared'))) {
      if (rel(file).startsWith('shared/api/')) continue;
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.') && rel(resolveRelative(file, spec)).startsWith('shared/api/'))
          offenders.push(`${rel(file)} imports ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the import scanner finds what it should (so the rules above can fail)', () => {
    const here = importsOf(path.join(ROOT, 'functions/api/backtests.ts'));
    expect(here).toContain('../../shared/api/backtests');
    expect(importsOf(path.join(ROOT, 'shared/backtest/simulator.ts')).length).toBeGreaterThan(0);
  });
});
