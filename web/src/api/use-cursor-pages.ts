/** Cursor pagination state: the cursors of the pages seen so far, so "newer" can step back. */
import { useCallback, useState } from 'react';

export function useCursorPages() {
  const [trail, setTrail] = useState<(string | null)[]>([null]);
  const page = trail.length - 1;
  const cursor = trail[page] ?? null;
  const next = useCallback((nextCursor: string | null) => {
    if (nextCursor) setTrail((t) => [...t, nextCursor]);
  }, []);
  const prev = useCallback(() => setTrail((t) => (t.length > 1 ? t.slice(0, -1) : t)), []);
  const reset = useCallback(() => setTrail([null]), []);
  return { page, cursor, next, prev, reset };
}
