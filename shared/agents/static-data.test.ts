import { describe, expect, it } from 'vitest';
import { type DecisionSnapshot, sentimentInput, tokenomicsInput } from './inputs';
import { STATIC_DATA_ASSETS, sentimentDataAt, tokenomicsDataAt } from './static-data';

const DAY_MS = 86_400_000;
const at = (iso: string) => Date.parse(iso);

/** The part of a snapshot the static-data inputs read. */
function snapshot(baseAsset: string, decisionTime: number): DecisionSnapshot {
  return {
    symbol: `${baseAsset}USDT`,
    baseAsset,
    blind: false,
    decisionTime,
    market: { asOf: new Date(decisionTime).toISOString() },
  } as unknown as DecisionSnapshot;
}

/** Every calendar year written in a text (2017 ... 2039). */
const yearsIn = (text: string) => [...text.matchAll(/\b(20[1-3]\d)\b/g)].map((m) => Number(m[1]));

describe('static data: no look-ahead', () => {
  it('a news item dated D is unknown during D (its time of day is unknown) and known from D+1 00:00', () => {
    // 2024-01-10: the SEC approves spot bitcoin ETFs (BTC, sentiment.json)
    const headline = (t: number) => {
      const d = sentimentDataAt('BTC', t);
      return d.ok ? d.data.items.map((i) => i.date) : [];
    };
    expect(headline(at('2024-01-10T00:00:00Z'))).not.toContain('2024-01-10');
    expect(headline(at('2024-01-10T23:00:00Z'))).not.toContain('2024-01-10');
    expect(headline(at('2024-01-11T00:00:00Z'))).toContain('2024-01-10');
  });

  it('an issuance era starting on day D applies from D+1 00:00 (the halving block came during D)', () => {
    const inflation = (t: number) => {
      const d = tokenomicsDataAt('BTC', t);
      if (!d.ok) throw new Error(d.reason);
      return d.data.annualInflationPct;
    };
    expect(inflation(at('2024-04-20T12:00:00Z'))).toBe(1.8);
    expect(inflation(at('2024-04-21T00:00:00Z'))).toBe(0.85);
  });

  it('supply risks and categories appear only once they were known (no FTX before its collapse)', () => {
    const before = tokenomicsDataAt('SOL', at('2021-06-01T00:00:00Z'));
    const after = tokenomicsDataAt('SOL', at('2023-06-01T00:00:00Z'));
    expect(before.ok && after.ok).toBe(true);
    if (!before.ok || !after.ok) return;
    expect(before.data.risks.join(' ')).not.toMatch(/FTX|outage|memecoin/i);
    expect(before.data.risks.length).toBeGreaterThan(0);
    expect(after.data.risks.join(' ')).toMatch(/FTX/);
    const eth2020 = tokenomicsDataAt('ETH', at('2020-06-01T00:00:00Z'));
    expect(eth2020.ok && `${eth2020.data.category} ${eth2020.data.risks.join(' ')}`).not.toMatch(
      /since Sep 2022|layer-2|staking providers|regulatory treatment of staking/,
    );
  });

  it('no prompt input built from the static files names a year after its decision time', () => {
    const checked: string[] = [];
    for (const asset of new Set([...STATIC_DATA_ASSETS.sentiment, ...STATIC_DATA_ASSETS.tokenomics]))
      for (let t = at('2018-01-01T00:00:00Z'); t < at('2026-01-01T00:00:00Z'); t += 45 * DAY_MS) {
        const year = new Date(t).getUTCFullYear();
        for (const input of [sentimentInput(snapshot(asset, t)), tokenomicsInput(snapshot(asset, t))]) {
          if (!input.ok) continue;
          const text = JSON.stringify(input.data);
          const future = yearsIn(text).filter((y) => y > year);
          expect(future, `${asset} at ${new Date(t).toISOString()}: ${text.slice(0, 300)}`).toEqual([]);
          checked.push(asset);
        }
      }
    expect(new Set(checked)).toEqual(new Set(['BTC', 'ETH', 'SOL']));
  });
});
