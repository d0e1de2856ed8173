import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computeIndicators, WARMUP_BARS } from '../../indicators/compute';
import { createMarketView, type MarketSummary, summarizeForAgents } from '../../indicators/market-view';
import { binanceDataFile, readBinanceCsv, realDataSuiteName } from '../../indicators/testing';
import {
  type DecisionSnapshot,
  researcherInput,
  riskInput,
  sentimentInput,
  technicalInput,
  tokenomicsInput,
  traderInput,
} from '../inputs';
import {
  researcherOutputSchema,
  riskOutputSchema,
  sentimentOutputSchema,
  technicalOutputSchema,
  tokenomicsOutputSchema,
  traderOutputSchema,
} from '../schemas';
import {
  HIGH_VOL_PCT,
  researcherRules,
  riskRules,
  sentimentRules,
  technicalRules,
  tokenomicsRules,
  traderRules,
} from './rules';

const FILE = binanceDataFile('ETHUSDT-4h.csv');
const POINTS = 150;

function snapshot(market: MarketSummary, decisionTime: number, positionPct: number): DecisionSnapshot {
  return {
    symbol: 'ETHUSDT',
    baseAsset: 'ETH',
    timeframe: '4h',
    decisionTime,
    blind: false,
    market,
    price: market.lastClose,
    priceSource: 'last_close',
    portfolio: {
      source: 'flat',
      cash: 10_000 * (1 - positionPct / 100),
      equity: 10_000,
      positionQty: 1,
      positionValue: positionPct * 100,
      positionPct,
      exposurePct: positionPct,
    },
    limits: { maxPositionPct: 10, maxTotalExposurePct: 80 },
  };
}

describe.skipIf(!existsSync(FILE))(
  realDataSuiteName('offline rules on real ETHUSDT 4h data', 'ETHUSDT-4h.csv'),
  () => {
    const candles = existsSync(FILE) ? readBinanceCsv(FILE) : [];

    it('give schema-valid outputs at every decision point, with every stance and a deterministic result', () => {
      const series = computeIndicators(candles, '4h');
      const timeline = createMarketView(candles, series, '4h');
      const stances = new Set<string>();
      const actions = new Set<string>();
      const step = Math.floor((candles.length - WARMUP_BARS - 1) / POINTS);
      for (let k = 0; k < POINTS; k++) {
        const i = WARMUP_BARS + k * step;
        const t = candles[i]!.closeTime + 1;
        const market = summarizeForAgents(timeline.at(t));
        const positionPct = k % 2 === 0 ? 0 : 8;
        const s = snapshot(market, t, positionPct);
        const tech = technicalOutputSchema.parse(technicalRules(technicalInput(s)));
        const sIn = sentimentInput(s);
        const tIn = tokenomicsInput(s);
        const sent = sIn.ok ? sentimentOutputSchema.parse(sentimentRules(sIn.data)) : null;
        const tok = tIn.ok ? tokenomicsOutputSchema.parse(tokenomicsRules(tIn.data)) : null;
        const analysts = {
          technical: tech,
          sentiment: sent ?? { unavailable: sIn.ok ? '' : sIn.reason },
          tokenomics: tok ?? { unavailable: tIn.ok ? '' : tIn.reason },
        };
        const res = researcherOutputSchema.parse(researcherRules(researcherInput(s, analysts)));
        expect(researcherRules(researcherInput(s, analysts))).toEqual(res);
        const trade = traderOutputSchema.parse(traderRules(traderInput(s, res)));
        riskOutputSchema.parse(riskRules(riskInput(s, res, trade)));
        stances.add(res.stance);
        actions.add(trade.action);
        if (trade.action === 'SELL') expect(positionPct).toBeGreaterThan(0);
      }
      expect(stances).toEqual(new Set(['bullish', 'bearish', 'neutral']));
      expect(actions.has('BUY') && actions.has('HOLD')).toBe(true);
    });
  },
);

describe('offline rules, case by case', () => {
  const base = {
    asset: 'X',
    researcher: { stance: 'bullish' as const, confidence: 0.8, thesis: 't', top_risks: ['r'] },
    market: { rsi14: 50, atr_pct: 1, realized_vol_annual_pct: 40 },
    position: {
      book: 'flat' as const,
      position_pct_of_equity: 0,
      total_exposure_pct: 0,
      cash_pct_of_equity: 100,
    },
    limits: { max_position_pct: 10, max_total_exposure_pct: 80 },
    size_convention: '',
  };

  it('the trader sizes a buy by confidence and shrinks it in high volatility; never sells what it lacks', () => {
    const calm = traderRules(base);
    const wild = traderRules({ ...base, market: { ...base.market, realized_vol_annual_pct: 100 } });
    expect(calm).toMatchObject({ action: 'BUY', size_pct: 8, stop_loss_pct: 2, take_profit_pct: 4 });
    expect(wild.size_pct).toBe(4);
    expect(traderRules({ ...base, researcher: { ...base.researcher, stance: 'bearish' } }).action).toBe(
      'HOLD',
    );
  });

  it('the risk manager trims in high volatility, to the room under the limits, and rejects with no room', () => {
    const proposal = { action: 'BUY' as const, size_pct: 8, stop_loss_pct: 2, take_profit_pct: 4 };
    const input = {
      asset: 'X',
      proposal,
      researcher_confidence: 0.8,
      market: { atr_pct: 1, realized_vol_annual_pct: HIGH_VOL_PCT + 1 },
      exposure: base.position,
      limits: base.limits,
    };
    expect(riskRules(input)).toMatchObject({ verdict: 'ADJUST', adjusted_size_pct: 4 });
    expect(
      riskRules({
        ...input,
        market: { atr_pct: 1, realized_vol_annual_pct: 40 },
        exposure: { ...base.position, position_pct_of_equity: 7 },
      }),
    ).toMatchObject({ verdict: 'ADJUST', adjusted_size_pct: 3 });
    expect(riskRules({ ...input, exposure: { ...base.position, position_pct_of_equity: 10 } }).verdict).toBe(
      'REJECT',
    );
  });

  it('the researcher lowers confidence when analysts are missing', () => {
    const tech = {
      trend: 'bullish' as const,
      momentum: 'rising' as const,
      condition: 'neutral' as const,
      regime: 'bull' as const,
      signal_strength: 1,
      reasons: ['x'],
    };
    const market = { returns_pct_7_bars: 1, returns_pct_30_bars: 2, realized_vol_annual_pct: 40, atr_pct: 1 };
    const all = researcherRules({
      asset: 'X',
      as_of: 't',
      market,
      analysts: {
        technical: tech,
        sentiment: { sentiment: 'bullish', score: 1, key_themes: [], data_note: '', reasons: ['x'] },
        tokenomics: { outlook: 'bullish', supply_pressure: 'low', key_risks: [], reasons: ['x'] },
      },
    });
    const alone = researcherRules({
      asset: 'X',
      as_of: 't',
      market,
      analysts: { technical: tech, sentiment: { unavailable: 'n/a' }, tokenomics: { unavailable: 'n/a' } },
    });
    expect(all.stance).toBe('bullish');
    expect(alone.confidence).toBeLessThan(all.confidence);
    expect(alone.top_risks.join(' ')).toContain('missing analysts');
  });
});
