/**
 * The worker side of a PGlite running in its own thread (pglite-thread.ts is the other side): it owns the
 * PGlite instance and answers `{ id, op, ... }` messages with `{ id, ok, result | error }`. Queries of an
 * open transaction carry its `txId` and run on that transaction's handle; PGlite's own mutex keeps every
 * other query waiting until the transaction ends, exactly as in one thread.
 *
 * Plain JavaScript: a worker thread does not inherit the host's TypeScript loader.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const { dataDir, textTypes } = workerData;
const asText = (v) => v;
const pg = new PGlite(dataDir, { parsers: Object.fromEntries(textTypes.map((t) => [t, asText])) });

/** Open transactions by id: their handle, how to end them, and their outcome. */
const open = new Map();

function errorOf(e) {
  const err = e;
  const props = {};
  for (const [k, v] of Object.entries(err ?? {}))
    if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) props[k] = v;
  return { message: String(err?.message ?? e), name: err?.name ?? 'Error', props };
}

async function handle(m) {
  switch (m.op) {
    case 'query': {
      const target = m.txId === undefined ? pg : open.get(m.txId)?.tx;
      if (!target) throw new Error(`transaction ${m.txId} is not open`);
      const r = await target.query(m.sql, m.params, m.rowMode ? { rowMode: m.rowMode } : undefined);
      // Plain data only: fields, rows and the counts drizzle reads.
      return { rows: r.rows, fields: r.fields, affectedRows: r.affectedRows };
    }
    case 'exec': {
      const target = m.txId === undefined ? pg : open.get(m.txId)?.tx;
      if (!target) throw new Error(`transaction ${m.txId} is not open`);
      const r = await target.exec(m.sql);
      return r.map((x) => ({ rows: x.rows, fields: x.fields, affectedRows: x.affectedRows }));
    }
    case 'begin': {
      // Answer once the transaction is open; it ends when `end` arrives (commit, or roll back).
      return await new Promise((ready, failed) => {
        let finish = () => {};
        const ended = new Promise((f) => {
          finish = f;
        });
        const done = pg.transaction(async (tx) => {
          open.set(m.txId, { tx, finish, done });
          ready(null);
          if (!(await ended)) await tx.rollback();
        });
        done.catch((e) => {
          if (!open.has(m.txId)) failed(e);
        });
      });
    }
    case 'end': {
      const t = open.get(m.txId);
      if (!t) throw new Error(`transaction ${m.txId} is not open`);
      t.finish(m.commit);
      try {
        await t.done; // the COMMIT (or ROLLBACK) has run: its error, if any, is the caller's
      } finally {
        open.delete(m.txId);
      }
      return null;
    }
    case 'close':
      await pg.close();
      return null;
  }
}

port.on('message', (m) => {
  handle(m).then(
    (result) => port.postMessage({ id: m.id, ok: true, result }),
    (e) => port.postMessage({ id: m.id, ok: false, error: errorOf(e) }),
  );
});

pg.waitReady.then(
  () => port.postMessage({ id: 0, ok: true, result: 'ready' }),
  (e) => port.postMessage({ id: 0, ok: false, error: errorOf(e) }),
);
