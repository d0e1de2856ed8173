/**
 * Runs before `npm start`: builds the web app when web/dist is missing or older than its sources, so
 * a fresh clone serves the app on the same port as the API with no extra step. A build failure is
 * reported and the API still starts (the host then says the app is not built).
 */
import { ensureWebBuild, webBuildIsStale } from './build-freshness';

if (webBuildIsStale()) {
  console.error('[web] building the web app (web/dist)…');
  try {
    await ensureWebBuild();
    console.error('[web] built');
  } catch (e) {
    console.error(`[web] build failed: ${(e as Error).message}; the API will start without the app`);
  }
}
