/**
 * Is web/dist older than the sources it is built from? Used by `npm start`'s prestart
 * (web/ensure-build.ts) and by the browser suite, so neither serves a stale app.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIR = fileURLToPath(new URL('.', import.meta.url));
export const WEB_INDEX = join(WEB_DIR, 'dist', 'index.html');

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export function webBuildIsStale(): boolean {
  if (!existsSync(WEB_INDEX)) return true;
  const sources = [
    join(WEB_DIR, 'src'),
    resolve(WEB_DIR, '..', 'shared', 'api'),
    resolve(WEB_DIR, '..', 'shared', 'agents'),
  ];
  const sourceTime = Math.max(
    ...sources.filter(existsSync).map(newest),
    statSync(join(WEB_DIR, 'index.html')).mtimeMs,
    statSync(join(WEB_DIR, 'vite.config.ts')).mtimeMs,
  );
  return statSync(WEB_INDEX).mtimeMs < sourceTime;
}

/** Build web/dist when it is missing or stale. Vite is imported only when a build is due. */
export async function ensureWebBuild(): Promise<boolean> {
  if (!webBuildIsStale()) return false;
  const { build } = await import('vite');
  await build({ configFile: join(WEB_DIR, 'vite.config.ts'), logLevel: 'warn' });
  return true;
}
