/**
 * The decisions row as the steps read and write it (decision-store.ts): the memo of a settled row never
 * serves a stale changing column, and a result and its log row are written together. Real PGlite
 * (PostgreSQL too with TEST_PG=1).
 */
import { eq, sql } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { resultWithoutCall } from '../agents/call';
import { agentLogs, decisions } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import type { AgentLogRow } from '../llm/client';
import {
  forgetDecision,
  loadDecision,
  loadForAgent,
  persistResults,
  rememberSettled,
} from './decision-store';
import type { PipelineDeps } from './deps';
import { offlineTestDeps } from './testing';

describe.each(testDrivers())('decision store on %s', (driver) => {
  const t = useTestDatabase(driver);
  let deps: PipelineDeps;
  beforeEach(async () => {
    await t.reset();
    deps = offlineTestDeps({ db: t.db, candles: {}, now: Date.parse('2025-01-01T00:00:00Z') });
  });

  async function settledDecision() {
    const [row] = await t.db
      .insert(decisions)
      .values({
        runId: 'r',
        symbol: 'BTCUSDT',
        timeframe: '4h',
        mode: 'backtest',
        decisionTime: new Date('2024-06-01T00:00:00Z'),
        status: 'running',
        provider: 'offline',
        snapshot: { market: { lastClose: 1 }, blind: false },
      })
      .returning();
    return row!;
  }

  it('a remembered row still reads every changing column fresh', async () => {
    const row = await settledDecision();
    rememberSettled(deps, row);
    // Another writer (another step, another process) moves the row on.
    await t.db
      .update(decisions)
      .set({ status: 'completed', finalAction: 'BUY', outputs: { trader: { agent: 'trader' } }, tokensIn: 7 })
      .where(eq(decisions.id, row.id));
    const read = await loadDecision(deps, row.id);
    expect(read).toMatchObject({ status: 'completed', finalAction: 'BUY', tokensIn: 7 });
    expect(read.outputs).toEqual({ trader: { agent: 'trader' } });
    expect(read.snapshot).toEqual(row.snapshot);
    const forAgent = await loadForAgent(deps, row.id, 'trader');
    expect(forAgent.stored).toEqual({ agent: 'trader' });
    expect((await loadForAgent(deps, row.id, 'risk')).stored).toBeUndefined();
  });

  it('a deleted row is NOT_FOUND even when remembered, and forgetting drops the memo', async () => {
    const row = await settledDecision();
    rememberSettled(deps, row);
    await t.db.delete(decisions).where(eq(decisions.id, row.id));
    await expect(loadDecision(deps, row.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    forgetDecision(deps, row.id);
    await expect(loadDecision(deps, row.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a result and its log row are written by one statement; concurrent merges lose nothing', async () => {
    const row = await settledDecision();
    const log = (agent: string, tokensIn: number): AgentLogRow => ({
      decisionId: row.id,
      runId: 'r',
      agent,
      provider: 'offline',
      tier: 'cheap',
      model: 'offline-rules',
      status: 'ok',
      tokensIn,
      tokensOut: 1,
    });
    const results = (['technical', 'sentiment', 'tokenomics'] as const).map((a, i) => ({
      ...resultWithoutCall(deps.llm, a, 'ok', 'test'),
      tokensIn: 10 + i,
      tokensOut: 1,
    }));
    await Promise.all(
      results.map((r) => persistResults(deps, row.id, [r], { logs: [log(r.agent, r.tokensIn)] })),
    );
    const [after] = await t.db.select().from(decisions).where(eq(decisions.id, row.id));
    expect(Object.keys(after!.outputs as object).sort()).toEqual(['sentiment', 'technical', 'tokenomics']);
    expect(after!.tokensIn).toBe(33);
    const [sum] = await t.db
      .select({ n: sql<number>`count(*)::int`, tokensIn: sql<number>`sum(${agentLogs.tokensIn})::int` })
      .from(agentLogs)
      .where(eq(agentLogs.decisionId, row.id));
    expect(sum).toEqual({ n: 3, tokensIn: 33 });
  });
});
