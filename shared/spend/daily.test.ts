import { beforeEach, describe, expect, it } from 'vitest';
import { agentLogs } from '../db/schema';
import { testDrivers, useTestDatabase } from '../db/testing';
import { createTokenBudget } from '../llm/budget';
import { dailyMetrics } from './daily';

const NOW = Date.parse('2024-05-10T15:00:00Z');
const at = (iso: string) => new Date(iso);

describe.each(testDrivers())('daily metrics on %s', (driver) => {
  const t = useTestDatabase(driver);
  beforeEach(() => t.reset());

  const log = (o: Partial<typeof agentLogs.$inferInsert> & { timestamp: Date; agent: string }) =>
    t.db.insert(agentLogs).values({
      provider: 'openai',
      tier: 'cheap',
      model: 'gpt-4.1-mini',
      status: 'ok',
      tokensIn: 100,
      tokensOut: 10,
      costUsd: '0.001',
      latencyMs: 100,
      ...o,
    });

  it('aggregates per agent and UTC day, with latency over calls that reached the provider', async () => {
    // technical on 2024-05-10: latencies 100..1000 (10 calls), one error, one cache hit, one refusal
    for (let i = 1; i <= 10; i++)
      await log({ timestamp: at(`2024-05-10T0${i % 10}:00:00Z`), agent: 'technical', latencyMs: i * 100 });
    await log({
      timestamp: at('2024-05-10T10:00:00Z'),
      agent: 'technical',
      status: 'error',
      tokensIn: 0,
      tokensOut: 0,
      costUsd: '0',
      latencyMs: 500,
    });
    await log({
      timestamp: at('2024-05-10T11:00:00Z'),
      agent: 'technical',
      cacheHit: true,
      tokensIn: 0,
      tokensOut: 0,
      costUsd: '0',
      latencyMs: 1,
    });
    await log({
      timestamp: at('2024-05-10T12:00:00Z'),
      agent: 'technical',
      status: 'budget_exceeded',
      tokensIn: 0,
      tokensOut: 0,
      costUsd: '0',
      latencyMs: 0,
    });
    await log({
      timestamp: at('2024-05-10T13:00:00Z'),
      agent: 'trader',
      status: 'abstained',
      tier: 'strong',
      costUsd: '0.01',
    });
    // 23:59:59 UTC on the 8th belongs to the 8th; a row outside the window is not counted
    await log({ timestamp: at('2024-05-08T23:59:59Z'), agent: 'technical' });
    await log({ timestamp: at('2024-04-01T00:00:00Z'), agent: 'technical' });

    const days = await dailyMetrics(t.db, { days: 3, nowMs: NOW });
    expect(days.map((d) => d.day)).toEqual(['2024-05-08', '2024-05-09', '2024-05-10']);
    expect(days[1]).toMatchObject({ calls: 0, costUsd: 0, byAgent: [] });
    expect(days[0]!.byAgent).toEqual([expect.objectContaining({ agent: 'technical', calls: 1 })]);
    const tech = days[2]!.byAgent.find((a) => a.agent === 'technical')!;
    expect(tech).toMatchObject({ calls: 11, errors: 1, cacheHits: 1, refused: 1, abstentions: 0 });
    expect(tech.tokensIn).toBe(1_000);
    expect(tech.costUsd).toBeCloseTo(0.01, 10);
    // over the 10 ok latencies (100..1000) and the error's 500: mean 545.45, p95 interpolated
    const reached = [100, 200, 300, 400, 500, 500, 600, 700, 800, 900, 1000];
    expect(tech.latencyMeanMs).toBeCloseTo(reached.reduce((a, b) => a + b, 0) / reached.length, 6);
    // percentile_cont(0.95) over 11 sorted values: position 0.95 * 10 = 9.5 -> 900 + 0.5 * 100
    expect(tech.latencyP95Ms).toBeCloseTo(950, 6);
    const trader = days[2]!.byAgent.find((a) => a.agent === 'trader')!;
    expect(trader).toMatchObject({ calls: 1, abstentions: 1 });
    expect(days[2]!.costUsd).toBeCloseTo(0.02, 10);
    expect(days[2]!.calls).toBe(12);
  });

  it('carries the dollar budget in force each day from the ledger', async () => {
    await createTokenBudget(t.db, { dailyTokens: 1000, dailyUsd: 2.5, now: () => NOW }).tryReserve({
      tokens: 1,
      usd: 0.01,
    });
    const days = await dailyMetrics(t.db, { days: 2, nowMs: NOW });
    expect(days.map((d) => d.usdBudget)).toEqual([null, 2.5]);
  });
});
