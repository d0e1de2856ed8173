/**
 * PGlite in its own thread, behind the part of PGlite's interface drizzle uses (`query`, `exec`,
 * `transaction`, `waitReady`, `close`). The laptop host runs everything in one Node thread: the
 * state-machine runner, the agents, the indicators AND the WASM PostgreSQL, which was about half of
 * that thread's time on a backtest. In a worker thread the database runs on the second core while the
 * main thread builds queries and runs the agents; results come back as plain data (structured clone).
 *
 * Same semantics as PGlite in-thread: queries run in arrival order; a transaction holds PGlite's lock
 * until it commits or rolls back (other queries wait for it); an error keeps its fields (code, detail,
 * constraint...). Used by the local host and the CLI on a data folder (OpenOptions.thread).
 */
import { Worker } from 'node:worker_threads';

type Result = { rows: unknown[]; fields: { name: string; dataTypeID: number }[]; affectedRows?: number };
type QueryOptions = { rowMode?: 'array' | 'object'; parsers?: unknown } | undefined;
type Message = {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: { message: string; name: string; props: Record<string, unknown> };
};

export interface ThreadQueryable {
  query<T = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    opts?: QueryOptions,
  ): Promise<Result & { rows: T[] }>;
  exec(sql: string): Promise<Result[]>;
}

export interface PgliteThread extends ThreadQueryable {
  readonly waitReady: Promise<void>;
  transaction<R>(fn: (tx: ThreadQueryable) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

export function openPgliteThread(dataDir: string, textTypes: readonly number[]): PgliteThread {
  const worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), {
    workerData: { dataDir, textTypes: [...textTypes] },
  });
  let nextId = 1;
  let nextTx = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let readyResolve: () => void = () => {};
  let readyReject: (e: unknown) => void = () => {};
  const waitReady = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  const toError = (e: NonNullable<Message['error']>) =>
    Object.assign(new Error(e.message), { name: e.name }, e.props);

  worker.on('message', (m: Message) => {
    if (m.id === 0) {
      if (m.ok) readyResolve();
      else readyReject(toError(m.error!));
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(toError(m.error!));
  });
  const failAll = (e: unknown) => {
    readyReject(e);
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => {
    if (pending.size > 0) failAll(new Error(`the PGlite thread exited (code ${code})`));
  });

  function call<T>(msg: Record<string, unknown>): Promise<T> {
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...msg, id });
    });
  }

  const queryable = (txId?: number): ThreadQueryable => ({
    query: (sql, params, opts) =>
      call({ op: 'query', sql, params, ...(opts?.rowMode ? { rowMode: opts.rowMode } : {}), txId }),
    exec: (sql) => call({ op: 'exec', sql, txId }),
  });

  return {
    ...queryable(),
    waitReady,
    async transaction(fn) {
      const txId = nextTx++;
      await call({ op: 'begin', txId });
      let result: Awaited<ReturnType<typeof fn>>;
      try {
        result = await fn(queryable(txId));
      } catch (e) {
        await call({ op: 'end', txId, commit: false }).catch(() => undefined);
        throw e;
      }
      await call({ op: 'end', txId, commit: true });
      return result;
    },
    async close() {
      try {
        await call({ op: 'close' });
      } finally {
        await worker.terminate();
      }
    },
  };
}
