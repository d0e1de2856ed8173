/**
 * Runs before `npm start`: builds the web app when web/dist is missing or older than its sources, so
 * a fresh clone serves the app on the same port as the API with no extra step. A build failure is
 * reported and the API still starts (the host then says the app is not built).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const webDir = fileURLToPath(new URL('.', import.meta.url));
const index = join(webDir, 'dist', 'index.html');

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

const sources = [
  join(webDir, 'src'),
  resolve(webDir, '..', 'shared', 'api'),
  resolve(webDir, '..', 'shared', 'agents'),
];
const sourceTime = Math.max(
  ...sources.filter(existsSync).map(newest),
  statSync(join(webDir, 'index.html')).mtimeMs,
);
if (existsSync(index) && statSync(index).mtimeMs >= sourceTime) {
  process.exit(0);
}
console.error('[web] building the web app (web/dist)…');
try {
  // Imported only when a build is due: loading vite costs more than the freshness check itself.
  const { build } = await import('vite');
  await build({ configFile: join(webDir, 'vite.config.ts'), logLevel: 'warn' });
  console.error('[web] built');
} catch (e) {
  console.error(`[web] build failed: ${(e as Error).message}; the API will start without the app`);
}
