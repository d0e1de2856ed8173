/**
 * PGlite is one process's database: a second process opening the same data folder corrupts it (seen:
 * `npm run cli -- import` while `npm start` runs on `.data`). So a process that opens a folder holds a
 * lock file in it, `owner.lock`, with its pid; another process is refused with a message saying who
 * holds it. A lock whose process is gone (a crash, a kill -9) is stale and taken over.
 * The lock guards against other processes; one process may reopen its own folder (tests restart hosts).
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { AppError } from '../util/errors';

const LOCK_FILE = 'owner.lock';

interface Owner {
  pid: number;
  host: string;
  since: string;
  command: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** Take the folder's lock or throw CONFLICT naming the process that holds it. Returns the release. */
export function lockDataFolder(dir: string): () => void {
  const path = join(resolve(dir), LOCK_FILE);
  const me: Owner = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    command: process.argv.slice(1).join(' '),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      const release = () => {
        if (readOwner(path)?.pid === process.pid) {
          try {
            unlinkSync(path);
          } catch {
            // already gone
          }
        }
        process.off('exit', release);
      };
      process.on('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = readOwner(path);
      if (owner && owner.pid === process.pid) return () => {};
      if (owner && owner.host === me.host && alive(owner.pid)) {
        throw new AppError(
          'CONFLICT',
          `The data folder ${resolve(dir)} is in use by process ${owner.pid} (${owner.command}) since ${owner.since}. ` +
            'PGlite allows one process per folder: stop that process, use its API, or set another DATA_DIR.',
          { dataDir: resolve(dir), pid: owner.pid },
        );
      }
      // Stale (its process is gone) or unreadable: take it over.
      try {
        unlinkSync(path);
      } catch {
        // someone else removed it first; try again
      }
    }
  }
  throw new AppError('CONFLICT', `Could not lock the data folder ${resolve(dir)}; try again.`);
}
