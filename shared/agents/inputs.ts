/**
 * What each agent sees: compact numbers, never raw candles, never another agent's prose beyond its
 * structured output. One builder per agent, from the decision's stored snapshot and the structured
 * outputs of the agents before it. The offline rules compute from exactly these objects, and the
 * prompts serialize exactly these objects, so both providers decide on the same facts.
 *
 * Blind mode (AGENTS.md "Look-ahead through the model itself"): the symbol becomes ASSET, every price
 * level is rebased so the last close is 100 (percentages are scale-free and stay), and dates become
 * relative (`t0` = the decision's last closed bar). The sentiment and tokenomics analysts are
 * unavailable in blind mode: headlines and supply facts name the asset, and the dated sentiment series
 * (a Fear & Greed of 6 is June 2022) would reveal the period, so there is no blind version of them.
 */

import type { MarketSummary } from '../indicators/market-view';
import type { Timeframe } from '../market/types';
import type { RegimeReading } from '../regime/detector';
import { SERIES_LABEL, type SentimentSourceName } from '../sentiment/types';
import type { SentimentSummary } from '../sentiment/view';
import type { StrategyParams } from '../strategy/params';
import type {
  ResearcherOutput,
  SentimentOutput,
  TechnicalOutput,
  TokenomicsOutput,
  TraderOutput,
} from './schemas';
import { type Available, sentimentDataAt, tokenomicsDataAt } from './static-data';

export const BLIND_ASSET_NAME = 'ASSET';
export const BLIND_TIME_LABEL = 't0 (last closed bar)';
const REBASE_TO = 100;
const PCT = 100;
const DECIMALS = 4;

/** The current book as the trader and the risk manager see it. */
export interface PortfolioView {
  /** 'live': the live book; 'flat': a backtest decision, which cannot know its book (see pipeline). */
  source: 'live' | 'flat';
  cash: number;
  equity: number;
  positionQty: number;
  positionValue: number;
  /** Position value, % of equity. */
  positionPct: number;
  /** All crypto held, % of equity. */
  exposurePct: number;
}

/** Everything the agents of one decision may see; stored in `decisions.snapshot`. */
export interface DecisionSnapshot {
  symbol: string;
  baseAsset: string;
  timeframe: Timeframe;
  decisionTime: number;
  blind: boolean;
  market: MarketSummary;
  /** The reference price for a live fill: the last close, or the exchange ticker when available. */
  price: number;
  priceSource: 'last_close' | 'ticker';
  portfolio: PortfolioView;
  limits: { maxPositionPct: number; maxTotalExposurePct: number };
  /** The regime detector's reading at the decision time (shared/regime), null when it had too few bars. */
  regime?: RegimeReading | null;
  /** Market sentiment known at the decision time (shared/sentiment); absent on older decisions. */
  sentiment?: SentimentSummary;
  /** The strategy version (strategy_versions.id) in force at the decision time, its seq and parameters (shared/strategy/store.ts); absent on old rows. */
  strategy?: { version: string; seq: number; params: StrategyParams };
}

/**
 * The static files' labels as the prompts show them. Without the files' compile date: it lies after
 * most decision times, and a model must not learn from its input when "now" is.
 */
export const STATIC_NEWS_SOURCE =
  'static file compiled by hand, items known at the decision time (not live news)';
export const STATIC_SUPPLY_SOURCE = 'static file compiled by hand, facts known at the decision time';

const r = (x: number) => Number(x.toFixed(DECIMALS));
const rn = (x: number | null) => (x === null ? null : r(x));

/**
 * The regime detector's reading as every agent sees it (`market_regime`), absent from snapshots taken
 * before the detector existed (so their prompts, and cache keys, are unchanged).
 */
function regimeOf(s: DecisionSnapshot): {
  market_regime?: { regime: string; confidence: number; rule: string };
} {
  if (s.regime === undefined) return {};
  return s.regime === null
    ? {}
    : { market_regime: { regime: s.regime.regime, confidence: s.regime.confidence, rule: s.regime.rule } };
}

function identity(s: DecisionSnapshot) {
  return {
    asset: s.blind ? BLIND_ASSET_NAME : s.symbol,
    as_of: s.blind ? BLIND_TIME_LABEL : s.market.asOf,
    rebase: s.blind ? REBASE_TO / s.market.lastClose : 1,
  };
}

export function technicalInput(s: DecisionSnapshot) {
  const m = s.market;
  const { asset, as_of, rebase } = identity(s);
  const level = (x: number) => r(x * rebase);
  const ofClose = (x: number) => r((x / m.lastClose) * PCT);
  return {
    asset,
    timeframe: s.timeframe,
    as_of,
    ...regimeOf(s),
    close: level(m.lastClose),
    returns_pct: {
      bars_1: rn(m.returnsPct.bars1),
      bars_7: rn(m.returnsPct.bars7),
      bars_30: rn(m.returnsPct.bars30),
    },
    rsi14: r(m.rsi14),
    macd_pct_of_close: {
      line: ofClose(m.macd.line),
      signal: ofClose(m.macd.signal),
      histogram: ofClose(m.macd.histogram),
    },
    ema: { ema20: level(m.ema.ema20), ema50: level(m.ema.ema50), ema200: level(m.ema.ema200) },
    close_vs_ema_pct: {
      ema20: r(m.distanceToEmaPct.ema20),
      ema50: r(m.distanceToEmaPct.ema50),
      ema200: r(m.distanceToEmaPct.ema200),
    },
    bollinger: { percent_b: r(m.bollinger.percentB), bandwidth_pct: r(m.bollinger.bandwidthPct) },
    atr_pct: r(m.atrPct),
    realized_vol_annual_pct: r(m.realizedVolPct),
    range_30_bars: {
      high: level(m.recentHigh),
      low: level(m.recentLow),
      from_high_pct: r(m.distanceFromHighPct),
      from_low_pct: r(m.distanceFromLowPct),
    },
    volume_vs_avg20: rn(m.volumeVsAverage),
  };
}
export type TechnicalInput = ReturnType<typeof technicalInput>;

/** A missing source's reason, as the prompt shows it: enough to say why, never a flood. */
const MAX_REASON_CHARS = 200;
const SOURCE_LABEL: Record<SentimentSourceName, string> = { ...SERIES_LABEL, static: STATIC_NEWS_SOURCE };

/**
 * The sentiment analyst's input: the numeric summary of the sources known at the decision time
 * (snapshot.sentiment, read by the snapshot step) and the static notes dated within range. Unavailable
 * only when every requested source is missing, with each one's reason. A snapshot without a
 * `sentiment` part (decisions before the sources existed, a host without a reader) reads the static
 * notes only.
 */
export function sentimentInput(s: DecisionSnapshot): Available<SentimentInput> {
  if (s.blind)
    return {
      ok: false,
      reason: 'blind mode: dated sentiment series and news could reveal the period and asset',
    };
  const sum = s.sentiment;
  const requested: SentimentSourceName[] = sum?.requested ?? ['static'];
  const missing: Record<string, string> = {};
  for (const [k, v] of Object.entries(sum?.missing ?? {})) missing[k] = v.slice(0, MAX_REASON_CHARS);
  let news: SentimentInput['news'] = [];
  if (requested.includes('static')) {
    const d = sentimentDataAt(s.baseAsset, s.decisionTime);
    if (d.ok)
      news = d.data.items.map((i) => ({
        days_ago: i.daysAgo,
        headline: i.headline,
        tone: i.tone,
        theme: i.theme,
      }));
    else missing.static = d.reason;
  }
  const have = requested.filter((x) => !(x in missing));
  if (have.length === 0)
    return {
      ok: false,
      reason:
        requested.length === 0
          ? 'no sentiment source is configured (SENTIMENT_SOURCES is empty)'
          : `no sentiment source had data: ${Object.entries(missing)
              .map(([k, v]) => `${k}: ${v}`)
              .join('; ')}`,
    };
  const fg = sum?.fearGreed;
  const f = sum?.funding;
  return {
    ok: true,
    data: {
      asset: s.symbol,
      as_of: s.market.asOf,
      ...regimeOf(s),
      sources: have.map((x) => SOURCE_LABEL[x]),
      missing,
      fear_greed: fg
        ? {
            value: fg.value,
            classification: fg.classification,
            age_days: fg.ageDays,
            change_7d: fg.change7d,
            change_30d: fg.change30d,
            percentile_1y: fg.percentile1y,
          }
        : null,
      funding: f
        ? {
            latest_pct: f.latestPct,
            hours_ago: f.hoursAgo,
            mean_7d_pct: f.mean7dPct,
            percentile_1y: f.percentile1y,
          }
        : null,
      open_interest: sum?.openInterest ? { change_24h_pct: sum.openInterest.change24hPct } : null,
      long_short: sum?.longShort
        ? { ratio: sum.longShort.ratio, long_account_pct: sum.longShort.longAccountPct }
        : null,
      news,
    },
  };
}
export interface SentimentInput {
  asset: string;
  as_of: string;
  market_regime?: { regime: string; confidence: number; rule: string };
  /** Labels of the sources that had data at the decision time. */
  sources: string[];
  /** Requested sources without data, with the reason. */
  missing: Record<string, string>;
  /** Fear & Greed 0-100 (0 extreme fear), its changes in points, its trailing-year percentile. */
  fear_greed: {
    value: number;
    classification: string;
    age_days: number;
    change_7d: number | null;
    change_30d: number | null;
    percentile_1y: number | null;
  } | null;
  /** Perpetual funding rate, % per funding interval (positive: longs pay shorts). */
  funding: {
    latest_pct: number;
    hours_ago: number;
    mean_7d_pct: number;
    percentile_1y: number | null;
  } | null;
  open_interest: { change_24h_pct: number | null } | null;
  long_short: { ratio: number; long_account_pct: number | null } | null;
  /** Static dated notes within range (empty when none). */
  news: { days_ago: number; headline: string; tone: number; theme: string }[];
}

export function tokenomicsInput(s: DecisionSnapshot): Available<TokenomicsInput> {
  if (s.blind) return { ok: false, reason: 'blind mode: supply facts name the asset' };
  const d = tokenomicsDataAt(s.baseAsset, s.decisionTime);
  if (!d.ok) return d;
  return {
    ok: true,
    data: {
      asset: s.symbol,
      as_of: s.market.asOf,
      ...regimeOf(s),
      source: STATIC_SUPPLY_SOURCE,
      category: d.data.category,
      max_supply: d.data.maxSupply,
      annual_inflation_pct: d.data.annualInflationPct,
      issuance_note: d.data.issuanceNote,
      active_unlocks: d.data.activeUnlocks,
      risks: d.data.risks,
    },
  };
}
export interface TokenomicsInput {
  asset: string;
  as_of: string;
  market_regime?: { regime: string; confidence: number; rule: string };
  source: string;
  category: string;
  max_supply: number | null;
  annual_inflation_pct: number;
  issuance_note: string;
  active_unlocks: string[];
  risks: string[];
}

/** An analyst's slot in the researcher's input: its structured output, or why there is none. */
export type AnalystSlot<T> = T | { unavailable: string };

export interface AnalystOutputs {
  technical: AnalystSlot<TechnicalOutput>;
  sentiment: AnalystSlot<SentimentOutput>;
  tokenomics: AnalystSlot<TokenomicsOutput>;
}

export function researcherInput(s: DecisionSnapshot, analysts: AnalystOutputs) {
  const { asset, as_of } = identity(s);
  return {
    asset,
    as_of,
    ...regimeOf(s),
    analysts,
    market: {
      returns_pct_7_bars: rn(s.market.returnsPct.bars7),
      returns_pct_30_bars: rn(s.market.returnsPct.bars30),
      realized_vol_annual_pct: r(s.market.realizedVolPct),
      atr_pct: r(s.market.atrPct),
    },
  };
}
export type ResearcherInput = ReturnType<typeof researcherInput>;

function positionOf(s: DecisionSnapshot) {
  return {
    book: s.portfolio.source,
    position_pct_of_equity: r(s.portfolio.positionPct),
    total_exposure_pct: r(s.portfolio.exposurePct),
    cash_pct_of_equity: s.portfolio.equity > 0 ? r((s.portfolio.cash / s.portfolio.equity) * PCT) : 0,
  };
}

/** What the trader is told of a consensus vote (consensus mode only; absent in pipeline mode). */
export interface TraderConsensus {
  agreed: 'BUY' | 'SELL';
  /** Mean confidence of the votes that agreed (0-1). */
  agreeing_confidence: number;
  tally: { BUY: number; SELL: number; HOLD: number };
  voted: number;
}

export function traderInput(s: DecisionSnapshot, researcher: ResearcherOutput, consensus?: TraderConsensus) {
  const { asset } = identity(s);
  return {
    asset,
    ...regimeOf(s),
    researcher: {
      stance: researcher.stance,
      confidence: researcher.confidence,
      thesis: researcher.thesis,
      top_risks: researcher.top_risks,
    },
    // Only in consensus mode, so pipeline-mode prompts (and their cache keys) are unchanged.
    ...(consensus ? { consensus } : {}),
    market: {
      rsi14: r(s.market.rsi14),
      atr_pct: r(s.market.atrPct),
      realized_vol_annual_pct: r(s.market.realizedVolPct),
    },
    position: positionOf(s),
    limits: {
      max_position_pct: s.limits.maxPositionPct,
      max_total_exposure_pct: s.limits.maxTotalExposurePct,
    },
    size_convention: 'size_pct is % of equity to buy (BUY) or to sell (SELL); HOLD uses 0',
  };
}
export type TraderInput = ReturnType<typeof traderInput>;

export function riskInput(s: DecisionSnapshot, researcher: ResearcherOutput, trader: TraderOutput) {
  const { asset } = identity(s);
  return {
    asset,
    ...regimeOf(s),
    proposal: {
      action: trader.action,
      size_pct: trader.size_pct,
      stop_loss_pct: trader.stop_loss_pct,
      take_profit_pct: trader.take_profit_pct,
    },
    researcher_confidence: researcher.confidence,
    market: { atr_pct: r(s.market.atrPct), realized_vol_annual_pct: r(s.market.realizedVolPct) },
    exposure: positionOf(s),
    limits: {
      max_position_pct: s.limits.maxPositionPct,
      max_total_exposure_pct: s.limits.maxTotalExposurePct,
    },
  };
}
export type RiskInput = ReturnType<typeof riskInput>;
