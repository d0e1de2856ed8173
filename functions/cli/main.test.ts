import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../shared/db/client';
import { resetDatabase } from '../../shared/db/testing';
import { BINANCE_DATA_DIR, realDataSuiteName } from '../../shared/indicators/testing';
import { klineToWire } from '../../shared/market/kline';
import { generateKlines } from '../../test/helpers/binance-server';
import { runCli } from './main';

const ROOT = resolve(__dirname, '../..');
const DATA = BINANCE_DATA_DIR;
const HOUR = 3_600_000;

let dir: string;
/** One PGlite for the file (it boots in seconds), handed to every in-process run. */
let database: Database;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cli-test-'));
  database = await openDatabase({ dataDir: 'memory://' });
  await database.migrate();
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database.close();
});
beforeEach(() => resetDatabase(database.db));

/** Run in-process against the shared in-memory PGlite, capturing output. */
async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    argv,
    {
      env: { DATA_DIR: 'memory://' },
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
    },
    { database },
  );
  return { code, stdout, stderr };
}

function fixture(name: string, count: number): string {
  const rows = generateKlines({ timeframe: '1h', start: Date.UTC(2024, 0, 1), count });
  const path = join(dir, name);
  writeFileSync(path, `${rows.map((k) => klineToWire(k).join(',')).join('\n')}\n`);
  return path;
}

describe('cli', () => {
  it('prints help with exit 0, for the program and for import', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/import \[options\] <file\.\.\.>/);
    const sub = await cli('import', '--help');
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/--timeframe <timeframe>/);
    const backtest = await cli('backtest', '--help');
    expect(backtest.code).toBe(0);
    // no fixed default: omitted, the decisions are spread evenly over the range
    expect(backtest.stdout).toMatch(/--interval <n>\s+a decision every N candles \(default: spread evenly/);
    expect(backtest.stdout).not.toMatch(/--interval <n>[^\n]*\(default: 1\)/);
  });

  it('exits 2 on usage errors without touching the database', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('bogus')).code).toBe(2);
    expect((await cli('import')).code).toBe(2);
    const badTf = await cli('import', '--timeframe', '3m', 'x.csv');
    expect(badTf.code).toBe(2);
    expect(badTf.stderr).toMatch(/Allowed choices/);
    const noName = await cli('import', fixture('prices.csv', 2));
    expect(noName.code).toBe(2);
    expect(noName.stderr).toMatch(/pass --symbol/);
    const unsupported = await cli('import', fixture('DOGEUSDT-1h.csv', 2));
    expect(unsupported.code).toBe(2);
    expect(unsupported.stderr).toMatch(/not supported/);
  });

  it('imports files and reports as JSON; flags override the file name', async () => {
    const a = fixture('BTCUSDT-1h-2024-01.csv', 30);
    const b = fixture('prices-eth.csv', 5);
    const run = await cli('import', a, '--json');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { files: { symbol: string; inserted: number; rowsRead: number }[] };
    expect(out.files).toMatchObject([{ symbol: 'BTCUSDT', rowsRead: 30, inserted: 30 }]);

    const flagged = await cli('import', b, '--symbol', 'ETHUSDT', '--timeframe', '1h');
    expect(flagged.code).toBe(0);
    expect(flagged.stdout).toMatch(/ETHUSDT 1h .*prices-eth\.csv/);
    expect(flagged.stdout).toMatch(/rows read 5, inserted 5, skipped 0/);
  });

  it('exits 1 with the line number on a malformed file', async () => {
    const path = join(dir, 'SOLUSDT-1h-bad.csv');
    const rows = generateKlines({ timeframe: '1h', start: Date.UTC(2024, 0, 1), count: 3 }).map((k) =>
      klineToWire(k).join(','),
    );
    rows[2] = rows[2]!.replace(/^((?:[^,]+,){5})[^,]+/, '$1oops'); // the volume column
    writeFileSync(path, `${rows.join('\n')}\n`);
    const run = await cli('import', path);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/error \[VALIDATION_ERROR\]: .*SOLUSDT-1h-bad\.csv:3: /);
  });

  it('exits 1 when a file does not exist', async () => {
    const run = await cli('import', join(dir, 'BTCUSDT-1h-missing.csv'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/NOT_FOUND/);
  });

  it('exits 1 with NOT_FOUND for a missing file whose name says nothing, before guessing from the name', async () => {
    // A name the archive schemes do not match used to fail on "cannot infer it from the file name".
    for (const missing of ['/nonexistent.csv', join(dir, 'prices-missing.csv')]) {
      const run = await cli('import', missing);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`error [NOT_FOUND]: file: ${missing} does not exist or is not a file`);
      expect(run.stderr).not.toMatch(/infer/);
    }
    // With an existing file after a missing one, nothing is imported (every file is checked first).
    const run = await cli('import', fixture('BTCUSDT-1h-ok.csv', 2), '/nonexistent.csv');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
  });

  it('lists prompts, adds a manual version from a file, activates it and prints its text', async () => {
    const list = await cli('prompts', '--json');
    expect(list.code).toBe(0);
    const agents = JSON.parse(list.stdout) as { agent: string; activeVersion: string }[];
    expect(agents.map((a) => a.agent)).toContain('strategy_builder');
    const builtin = agents.find((a) => a.agent === 'trader')!.activeVersion;
    const file = join(dir, 'trader.txt');
    writeFileSync(file, 'You are a careful trader. Answer with one JSON object.\n');
    const added = await cli('prompt-add', 'trader', file, '--activate', '--json');
    expect(added.code).toBe(0);
    const made = JSON.parse(added.stdout) as { version: string; created: boolean; parent: string };
    expect(made).toMatchObject({ created: true, parent: builtin });
    const versions = await cli('prompts', 'trader');
    expect(versions.stdout).toMatch(new RegExp(`${made.version}\\s+manual\\s+${builtin}\\s+active`));
    const text = await cli('prompts', 'trader', made.version);
    expect(text.stdout).toContain('You are a careful trader. Answer with one JSON object.');
    expect((await cli('prompt-activate', 'trader', builtin)).code).toBe(0);
    expect((await cli('prompt-add', 'banker', file)).code).toBe(2);
    expect((await cli('prompts', 'trader', '0123456789ab')).code).not.toBe(0);
  });

  it('runs as a program: `tsx functions/cli/main.ts` returns the exit codes', () => {
    const tsx = resolve(ROOT, 'node_modules/tsx/dist/cli.mjs');
    const env = { PATH: process.env.PATH, DATA_DIR: 'memory://' };
    const file = fixture('ETHUSDT-1h.csv', 3);
    const ok = spawnSync(process.execPath, [tsx, 'functions/cli/main.ts', 'import', file, '--json'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout).files[0]).toMatchObject({
      inserted: 3,
      lastOpenTime: Date.UTC(2024, 0, 1) + 2 * HOUR,
    });
    const usage = spawnSync(process.execPath, [tsx, 'functions/cli/main.ts', 'import', '--nope'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/unknown option '--nope'/);
  });

  describe.skipIf(!existsSync(DATA))(realDataSuiteName('real archive'), () => {
    it('imports BTCUSDT-4h.csv and a second run skips every row', async () => {
      const file = resolve(DATA, 'BTCUSDT-4h.csv');
      const first = await cli('import', file, '--json');
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout).files).toMatchObject([
        { rowsRead: 17_516, inserted: 17_516, skipped: 0 },
      ]);
      const second = await cli('import', file, '--json');
      expect(JSON.parse(second.stdout).files).toMatchObject([
        { rowsRead: 17_516, inserted: 0, skipped: 17_516 },
      ]);
    });
  });
});
