/** A cursor-paged list: fetches one page at a time, shows it, and a pager to step older or newer. */
import type { ReactNode } from 'react';
import type { ApiClient } from '../api/client';
import { useApi } from '../api/use-api';
import { useCursorPages } from '../api/use-cursor-pages';
import { Async, Empty, Pager } from './ui';

export function Paged<T>({
  name,
  load,
  label,
  empty,
  children,
}: {
  /** Names the request; the page's cursor is appended. */
  name: string;
  load: (
    api: ApiClient,
    cursor: string | null,
    signal: AbortSignal,
  ) => Promise<{
    items: T[];
    nextCursor: string | null;
  }>;
  label: string;
  /** Shown when the first page is empty. */
  empty: ReactNode;
  children: (items: T[]) => ReactNode;
}) {
  const pages = useCursorPages();
  const list = useApi(`${name}:${pages.cursor}`, (api, signal) => load(api, pages.cursor, signal));
  return (
    <Async value={list} label={label}>
      {(data) =>
        data.items.length === 0 && pages.page === 0 ? (
          <Empty>{empty}</Empty>
        ) : (
          <>
            {children(data.items)}
            <Pager
              page={pages.page}
              hasNext={!!data.nextCursor}
              onPrev={pages.prev}
              onNext={() => pages.next(data.nextCursor)}
            />
          </>
        )
      }
    </Async>
  );
}
