import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../util/errors';
import { openDatabase } from './client';
import { lockDataFolder } from './folder-lock';

/** A live process that is not us: the lock must refuse while it runs. */
function otherProcess() {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  return child;
}

describe('data folder lock', () => {
  it('refuses a folder held by another live process, naming it, and changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const child = otherProcess();
    try {
      const lockPath = join(dir, 'owner.lock');
      const owner = {
        pid: child.pid,
        host: (await import('node:os')).hostname(),
        since: 'now',
        command: 'npm start',
      };
      writeFileSync(lockPath, JSON.stringify(owner));
      let caught: unknown;
      try {
        await openDatabase({ dataDir: dir });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe('CONFLICT');
      expect((caught as AppError).message).toContain(`process ${child.pid}`);
      expect(JSON.parse(readFileSync(lockPath, 'utf8')).pid).toBe(child.pid);
    } finally {
      child.kill();
    }
  });

  it('takes over a stale lock whose process is gone, and releases it on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const child = otherProcess();
    const pid = child.pid;
    child.kill();
    await new Promise((r) => child.once('exit', r));
    writeFileSync(
      join(dir, 'owner.lock'),
      JSON.stringify({ pid, host: (await import('node:os')).hostname(), since: 'then', command: 'x' }),
    );
    const database = await openDatabase({ dataDir: dir });
    expect(JSON.parse(readFileSync(join(dir, 'owner.lock'), 'utf8')).pid).toBe(process.pid);
    await database.close();
    expect(existsSync(join(dir, 'owner.lock'))).toBe(false);
  });

  it('lets one process reopen its own folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lock-'));
    const release = lockDataFolder(dir);
    expect(() => lockDataFolder(dir)).not.toThrow();
    release();
    expect(existsSync(join(dir, 'owner.lock'))).toBe(false);
  });
});
