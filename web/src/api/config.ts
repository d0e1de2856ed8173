/**
 * Runtime configuration: `/config.json`, written at deploy time next to the app on AWS (the API's URL)
 * and served by the local host (`{ "apiBaseUrl": "" }`, same origin). Reading it at runtime means one
 * build serves every environment. A missing or malformed file is an error on screen, not a guess.
 */
import { z } from 'zod';

export const runtimeConfigSchema = z.object({
  apiBaseUrl: z.string(),
});
export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

export async function loadRuntimeConfig(fetchFn: typeof fetch = fetch): Promise<RuntimeConfig> {
  let res: Response;
  try {
    res = await fetchFn('/config.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
  } catch {
    throw new Error(
      'Could not load /config.json (the address of the API). Check that the server is running.',
    );
  }
  if (!res.ok) throw new Error(`Could not load /config.json (the address of the API): HTTP ${res.status}.`);
  const parsed = runtimeConfigSchema.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new Error('/config.json must be JSON like { "apiBaseUrl": "https://..." }.');
  return parsed.data;
}
