/**
 * One hook for every read: loading, error and data states as a discriminated union, abort on unmount
 * or key change, manual reload, and optional polling while a record is still changing (analyses and
 * backtests in flight). The `key` names the request: a new key is a new request.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiClient } from './client';
import { useApiClient } from './context';

export type Loadable<T> =
  | { state: 'loading'; data?: undefined; error?: undefined }
  | { state: 'error'; data?: T; error: Error }
  | { state: 'ok'; data: T; error?: undefined };

export interface UseApiOptions<T> {
  /** Milliseconds until the next poll, or null to stop polling (e.g. the record settled). */
  pollMs?: (data: T) => number | null;
}

export function useApi<T>(
  key: string,
  load: (api: ApiClient, signal: AbortSignal) => Promise<T>,
  options: UseApiOptions<T> = {},
): Loadable<T> & { reload: () => void } {
  const api = useApiClient();
  const [result, setResult] = useState<Loadable<T>>({ state: 'loading' });
  const [generation, setGeneration] = useState(0);
  // The latest callbacks, read by the effect without making it re-run on every render.
  const loadRef = useRef(load);
  loadRef.current = load;
  const pollRef = useRef(options.pollMs);
  pollRef.current = options.pollMs;

  // biome-ignore lint/correctness/useExhaustiveDependencies: key and generation are the request's identity
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let previous: T | undefined;
    setResult({ state: 'loading' });

    const run = async () => {
      try {
        const data = await loadRef.current(api, controller.signal);
        if (controller.signal.aborted) return;
        previous = data;
        setResult({ state: 'ok', data });
        const next = pollRef.current?.(data);
        if (next != null) timer = setTimeout(run, next);
      } catch (err) {
        if (controller.signal.aborted) return;
        setResult({
          state: 'error',
          error: err instanceof Error ? err : new Error(String(err)),
          data: previous,
        });
      }
    };
    void run();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
    };
  }, [api, key, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...result, reload };
}
