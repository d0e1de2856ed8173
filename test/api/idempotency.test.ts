/**
 * Idempotency-Key on POST /analyze and POST /backtest, over HTTP against the local host, on PGlite and
 * (TEST_PG=1) on PostgreSQL: concurrent duplicates of a live analysis trade exactly once and all answer
 * the one analysis; a retried backtest starts one run; the same key with another body is a 422; a key
 * is not used up by a refused request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDrivers } from '../../shared/db/testing';
import { HAS_DATA, type Harness, SKIP_REASON, startHarness } from './harness';

const DUPLICATES = 8;
/** The offline rules buy ETHUSDT at the harness's live 4h bar (see workflows.test.ts). */
const LIVE = { symbol: 'ETHUSDT', timeframe: '4h' };

describe.skipIf(!HAS_DATA).each(testDrivers())(
  `idempotent writes on %s ${HAS_DATA ? '' : SKIP_REASON}`,
  (driver) => {
    let h: Harness;
    let drop: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      let env: Record<string, string> = {};
      if (driver === 'pg') {
        const db = await createTestDatabase('pg');
        env = { DATABASE_URL: db.url as string };
        drop = db.drop;
      }
      h = await startHarness({ workflows: 'inprocess', env });
    });
    afterAll(async () => {
      await h?.close();
      await drop?.();
    });

    const filledTrades = async () =>
      (await h.get('/trades?limit=200')).body.items.filter((t: { status: string }) => t.status === 'filled')
        .length;
    const analyses = async () => (await h.get('/analyses?limit=200')).body.items.length as number;

    it(`${DUPLICATES} concurrent duplicates of a live analysis: exactly one trade, one analysis, one answer`, async () => {
      const tradesBefore = await filledTrades();
      const analysesBefore = await analyses();
      const key = `live-${driver}-1`;
      const replies = await Promise.all(
        Array.from({ length: DUPLICATES }, () => h.post('/analyze', LIVE, { 'idempotency-key': key })),
      );
      for (const r of replies) expect(r.status).toBe(200);
      const ids = new Set(replies.map((r) => r.body.id));
      expect(ids.size).toBe(1);
      expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(
        DUPLICATES - 1,
      );
      expect(replies[0]!.body.execution?.trade?.status).toBe('filled');
      expect(await filledTrades()).toBe(tradesBefore + 1);
      expect(await analyses()).toBe(analysesBefore + 1);
      // A later retry (the client timed out) answers the same analysis and trades nothing.
      const later = await h.post('/analyze', LIVE, { 'idempotency-key': key });
      expect(later.status).toBe(200);
      expect(later.body.id).toBe(replies[0]!.body.id);
      expect(await filledTrades()).toBe(tradesBefore + 1);
    });

    it('the same key with another body is a 422 and changes nothing; the same body in another key order replays', async () => {
      const key = `live-${driver}-2`;
      const first = await h.post('/analyze', { ...LIVE, wait: false }, { 'idempotency-key': key });
      expect(first.status).toBe(202);
      const before = await analyses();
      const other = await h.post(
        '/analyze',
        { symbol: 'BTCUSDT', timeframe: '4h', wait: false },
        { 'idempotency-key': key },
      );
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(other.body.error.details.field).toBe('Idempotency-Key');
      const reordered = await h.post(
        '/analyze',
        { wait: false, timeframe: '4h', symbol: 'ETHUSDT' },
        { 'idempotency-key': key },
      );
      expect([200, 202]).toContain(reordered.status);
      expect(reordered.body.id).toBe(first.body.id);
      expect(await analyses()).toBe(before);
    });

    it('a refused request does not use up its key', async () => {
      const key = `live-${driver}-3`;
      const bad = await h.post('/analyze', { symbol: 'DOGEUSDT' }, { 'idempotency-key': key });
      expect(bad.status).toBe(400);
      const tooEarly = await h.post(
        '/analyze',
        { symbol: 'BTCUSDT', mode: 'backtest_step', timestamp: '2017-09-01', timeframe: '4h' },
        { 'idempotency-key': key },
      );
      expect(tooEarly.status).toBe(422);
      const good = await h.post(
        '/analyze',
        { symbol: 'BTCUSDT', mode: 'backtest_step', timestamp: '2024-03-01', timeframe: '4h', wait: false },
        { 'idempotency-key': key },
      );
      expect(good.status).toBe(202);
      expect(good.headers.get('idempotent-replayed')).toBeNull();
    });

    it('a malformed key is a 400 naming the header', async () => {
      for (const key of ['x'.repeat(201), 'has space', 'ünicode']) {
        const r = await h.raw('POST', '/analyze', JSON.stringify(LIVE), { 'idempotency-key': key });
        const body = await r.json();
        expect(r.status, key).toBe(400);
        expect(body.error.message).toMatch(/^Idempotency-Key must be 1 to 200 visible ASCII characters/);
      }
    });

    it('concurrent retries of POST /backtest start one run and all answer its 202', async () => {
      const before = (await h.get('/backtests?limit=200')).body.items.length;
      const request = {
        symbol: 'BTCUSDT',
        start_date: '2024-01-01',
        end_date: '2024-01-15',
        timeframe: '4h',
        max_decisions: 3,
      };
      const key = `bt-${driver}-1`;
      const replies = await Promise.all(
        Array.from({ length: 4 }, () => h.post('/backtest', request, { 'idempotency-key': key })),
      );
      for (const r of replies) expect(r.status).toBe(202);
      expect(new Set(replies.map((r) => r.body.id)).size).toBe(1);
      expect(replies[0]!.body.estimate.decisions).toBe(3);
      for (const r of replies) expect(r.body.estimate).toEqual(replies[0]!.body.estimate);
      expect((await h.get('/backtests?limit=200')).body.items.length).toBe(before + 1);
    });
  },
);
