/**
 * The offline firm: the six agents as deterministic rules over the same inputs the models get.
 * A real, explainable strategy, small enough to read in one sitting:
 * - technical: trend = a vote of four EMA/MACD conditions; overbought/oversold from RSI14; regime from
 *   realized volatility first, then the EMA alignment; strength = the vote's margin, discounted when
 *   the RSI condition fights the trend.
 * - sentiment: a weighted mood over the sources present: the Fear & Greed level and its 7-day change,
 *   the 7-day mean funding rate against its neutral base, the long/short ratio, and the recency-weighted
 *   tone of the static items (half-life NEWS_HALF_LIFE_DAYS).
 * - tokenomics: supply pressure from annual issuance (one level up while an unlock is active).
 * - researcher: a weighted vote (technical 0.6, sentiment 0.25, tokenomics 0.15) over the analysts
 *   that answered; confidence grows with the vote's margin and shrinks with missing analysts.
 * - trader: BUY on a bullish thesis, size = base size x confidence, scaled down by volatility above a
 *   target; SELL the position on a bearish one (all of it when confident, half otherwise); stops at a
 *   multiple of ATR. In consensus mode the agreed side and the agreeing votes' mean confidence stand in
 *   for the researcher's stance and confidence.
 * - risk manager: trims a BUY in high volatility and to the room left under the limits; rejects when
 *   no room is left; approves sales (they reduce risk).
 * Every threshold is a named constant below. Outputs are schema-valid by construction (tested).
 */
import type {
  ResearcherInput,
  RiskInput,
  SentimentInput,
  TechnicalInput,
  TokenomicsInput,
  TraderInput,
} from '../inputs';
import type {
  ResearcherOutput,
  RiskOutput,
  SentimentOutput,
  TechnicalOutput,
  TokenomicsOutput,
  TraderOutput,
} from '../schemas';

// ---- technical
const TREND_VOTES_NEEDED = 2; // of 4 EMA/MACD conditions, net
const TREND_CONDITIONS = 4;
const RSI_OVERBOUGHT = 70;
const RSI_OVERSOLD = 30;
/** MACD histogram, % of price, under which momentum counts as flat. */
const MOMENTUM_FLAT_PCT = 0.02;
/** Annualized realized volatility (%) above/below which the regime is high/low volatility. */
export const HIGH_VOL_PCT = 85;
const LOW_VOL_PCT = 25;
const COUNTER_CONDITION_DISCOUNT = 0.75;
// ---- sentiment
const NEWS_HALF_LIFE_DAYS = 60;
/** Weights of the mood components (renormalized over the ones present). */
const SENTIMENT_WEIGHTS = {
  fngLevel: 0.35,
  fngChange: 0.15,
  funding: 0.2,
  longShort: 0.1,
  news: 0.3,
} as const;
/** A 7-day Fear & Greed move of this many points counts fully. */
const FNG_CHANGE_FULL_SCALE = 20;
/** Funding % per interval read as neutral (Binance's base rate) and the distance from it that counts fully. */
const FUNDING_NEUTRAL_PCT = 0.01;
const FUNDING_FULL_SCALE_PCT = 0.03;
const STANCE_THRESHOLD = 0.15;
const MAX_THEMES = 3;
// ---- tokenomics
const LOW_SUPPLY_PRESSURE_PCT = 1.5;
const HIGH_SUPPLY_PRESSURE_PCT = 5;
// ---- researcher
const WEIGHTS = { technical: 0.6, sentiment: 0.25, tokenomics: 0.15 } as const;
const CONDITION_TILT = 0.25; // overbought leans bearish, oversold bullish (mean reversion)
const TOKENOMICS_VOTE = 0.5;
const CONFIDENCE_BASE = 0.5;
const COVERAGE_FLOOR = 0.6; // confidence multiplier when only the smallest useful set answered
// ---- trader
const BASE_BUY_PCT = 10;
const TARGET_VOL_PCT = 50;
const CONFIDENT_SELL = 0.7;
const STOP_ATR_MULTIPLE = 2;
const TAKE_PROFIT_TO_STOP = 2;
const MIN_STOP_PCT = 0.5;
const MAX_STOP_PCT = 50;
// ---- risk
const HIGH_VOL_TRIM = 0.5;
const MIN_ORDER_PCT = 0.1;

const round = (x: number, d = 2) => Number(x.toFixed(d));
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const sign = (b: boolean) => (b ? 1 : -1);
type Stance = 'bullish' | 'bearish' | 'neutral';
const stanceOf = (score: number, t = STANCE_THRESHOLD): Stance =>
  score > t ? 'bullish' : score < -t ? 'bearish' : 'neutral';
const dir = (s: Stance) => (s === 'bullish' ? 1 : s === 'bearish' ? -1 : 0);

export function technicalRules(i: TechnicalInput): TechnicalOutput {
  const votes =
    sign(i.close_vs_ema_pct.ema50 > 0) +
    sign(i.ema.ema20 > i.ema.ema50) +
    sign(i.ema.ema50 > i.ema.ema200) +
    sign(i.macd_pct_of_close.histogram > 0);
  const trend: Stance =
    votes >= TREND_VOTES_NEEDED ? 'bullish' : votes <= -TREND_VOTES_NEEDED ? 'bearish' : 'neutral';
  const h = i.macd_pct_of_close.histogram;
  const momentum = h > MOMENTUM_FLAT_PCT ? 'rising' : h < -MOMENTUM_FLAT_PCT ? 'falling' : 'flat';
  const condition =
    i.rsi14 >= RSI_OVERBOUGHT ? 'overbought' : i.rsi14 <= RSI_OVERSOLD ? 'oversold' : 'neutral';
  const vol = i.realized_vol_annual_pct;
  const regime =
    vol >= HIGH_VOL_PCT
      ? 'high_volatility'
      : vol <= LOW_VOL_PCT
        ? 'low_volatility'
        : trend === 'bullish' && i.ema.ema50 > i.ema.ema200
          ? 'bull'
          : trend === 'bearish' && i.ema.ema50 < i.ema.ema200
            ? 'bear'
            : 'sideways';
  const fights =
    (trend === 'bullish' && condition === 'overbought') || (trend === 'bearish' && condition === 'oversold');
  const strength = (Math.abs(votes) / TREND_CONDITIONS) * (fights ? COUNTER_CONDITION_DISCOUNT : 1);
  return {
    trend,
    momentum,
    condition,
    regime,
    signal_strength: round(strength),
    reasons: [
      `EMA/MACD vote ${votes > 0 ? '+' : ''}${votes} of ${TREND_CONDITIONS}: close vs EMA50 ${i.close_vs_ema_pct.ema50}%, EMA20 ${i.ema.ema20 > i.ema.ema50 ? '>' : '<='} EMA50, EMA50 ${i.ema.ema50 > i.ema.ema200 ? '>' : '<='} EMA200, MACD histogram ${h}% of price`,
      `RSI14 ${i.rsi14} (${condition})`,
      `realized volatility ${vol}% a year, ATR ${i.atr_pct}% of price (regime ${regime})`,
    ],
  };
}

export function sentimentRules(i: SentimentInput): SentimentOutput {
  const parts: { name: string; weight: number; value: number }[] = [];
  const reasons: string[] = [];
  const themes: string[] = [];
  const fg = i.fear_greed;
  if (fg) {
    parts.push({ name: 'fear & greed', weight: SENTIMENT_WEIGHTS.fngLevel, value: (fg.value - 50) / 50 });
    if (fg.change_7d !== null)
      parts.push({
        name: 'F&G 7-day change',
        weight: SENTIMENT_WEIGHTS.fngChange,
        value: clamp(fg.change_7d / FNG_CHANGE_FULL_SCALE, -1, 1),
      });
    themes.push(fg.classification.toLowerCase() || 'fear & greed');
    reasons.push(
      `Fear & Greed ${fg.value} (${fg.classification}), 7-day change ${fg.change_7d ?? 'n/a'}, 30-day ${fg.change_30d ?? 'n/a'}, trailing-year percentile ${fg.percentile_1y ?? 'n/a'}`,
    );
  }
  const f = i.funding;
  if (f) {
    const v = clamp((f.mean_7d_pct - FUNDING_NEUTRAL_PCT) / FUNDING_FULL_SCALE_PCT, -1, 1);
    parts.push({ name: 'funding', weight: SENTIMENT_WEIGHTS.funding, value: v });
    themes.push(
      f.mean_7d_pct < 0
        ? 'negative funding'
        : v > STANCE_THRESHOLD
          ? 'rich funding (crowded longs)'
          : 'neutral funding',
    );
    reasons.push(
      `funding ${f.latest_pct}% per interval (${f.hours_ago} h ago), 7-day mean ${f.mean_7d_pct}%, trailing-year percentile ${f.percentile_1y ?? 'n/a'}`,
    );
  }
  const ls = i.long_short;
  if (ls) {
    parts.push({
      name: 'long/short ratio',
      weight: SENTIMENT_WEIGHTS.longShort,
      value: clamp(ls.ratio - 1, -1, 1),
    });
    reasons.push(
      `long/short account ratio ${ls.ratio}${ls.long_account_pct === null ? '' : ` (${ls.long_account_pct}% long)`}`,
    );
  }
  if (i.open_interest && i.open_interest.change_24h_pct !== null)
    reasons.push(
      `open interest ${i.open_interest.change_24h_pct > 0 ? '+' : ''}${i.open_interest.change_24h_pct}% over 24 h`,
    );
  if (i.news.length > 0) {
    let num = 0;
    let den = 0;
    const themeWeight = new Map<string, number>();
    for (const item of i.news) {
      const w = 0.5 ** (item.days_ago / NEWS_HALF_LIFE_DAYS);
      num += w * item.tone;
      den += w;
      themeWeight.set(item.theme, (themeWeight.get(item.theme) ?? 0) + w);
    }
    const tone = den > 0 ? clamp(num / den, -1, 1) : 0;
    parts.push({ name: 'static news', weight: SENTIMENT_WEIGHTS.news, value: tone });
    themes.push(
      ...[...themeWeight.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, MAX_THEMES)
        .map(([t]) => t),
    );
    const newest = i.news[0]!;
    reasons.push(
      `static notes: recency-weighted tone ${round(tone)} over ${i.news.length} items (half-life ${NEWS_HALF_LIFE_DAYS} days); latest "${newest.headline}" (${newest.days_ago} days ago)`.slice(
        0,
        400,
      ),
    );
  }
  const weight = parts.reduce((s, p) => s + p.weight, 0);
  const score = weight > 0 ? clamp(parts.reduce((s, p) => s + p.weight * p.value, 0) / weight, -1, 1) : 0;
  const missing = Object.keys(i.missing);
  reasons.unshift(
    `weighted mood ${round(score)} from ${parts.map((p) => `${p.name} ${round(p.value)}`).join(', ') || 'nothing'}`,
  );
  return {
    sentiment: stanceOf(score),
    score: round(score),
    key_themes: [...new Set(themes)].slice(0, 5),
    data_note:
      `sources: ${i.sources.join('; ')}${missing.length ? `; missing: ${missing.join(', ')}` : ''}`.slice(
        0,
        300,
      ),
    reasons: reasons.slice(0, 5),
  };
}

export function tokenomicsRules(i: TokenomicsInput): TokenomicsOutput {
  const levels = ['low', 'medium', 'high'] as const;
  let level =
    i.annual_inflation_pct < LOW_SUPPLY_PRESSURE_PCT
      ? 0
      : i.annual_inflation_pct < HIGH_SUPPLY_PRESSURE_PCT
        ? 1
        : 2;
  if (i.active_unlocks.length > 0) level = Math.min(2, level + 1);
  const supply_pressure = levels[level]!;
  const outlook: Stance = level === 0 ? 'bullish' : level === 2 ? 'bearish' : 'neutral';
  return {
    outlook,
    supply_pressure,
    key_risks: [...i.active_unlocks, ...i.risks].slice(0, 5),
    reasons: [
      `annual issuance about ${i.annual_inflation_pct}% (${i.issuance_note})`,
      i.max_supply === null ? 'no maximum supply' : `maximum supply ${i.max_supply}`,
      ...(i.active_unlocks.length ? [`active unlocks: ${i.active_unlocks.join('; ')}`] : []),
    ],
  };
}

export function researcherRules(i: ResearcherInput): ResearcherOutput {
  const votes: { name: keyof typeof WEIGHTS; vote: number }[] = [];
  const a = i.analysts;
  if (!('unavailable' in a.technical)) {
    const t = a.technical;
    const tilt =
      t.condition === 'overbought' ? -CONDITION_TILT : t.condition === 'oversold' ? CONDITION_TILT : 0;
    votes.push({ name: 'technical', vote: clamp(dir(t.trend) * t.signal_strength + tilt, -1, 1) });
  }
  if (!('unavailable' in a.sentiment)) votes.push({ name: 'sentiment', vote: a.sentiment.score });
  if (!('unavailable' in a.tokenomics))
    votes.push({ name: 'tokenomics', vote: dir(a.tokenomics.outlook) * TOKENOMICS_VOTE });
  const coverage = votes.reduce((s, v) => s + WEIGHTS[v.name], 0);
  const score = coverage > 0 ? votes.reduce((s, v) => s + WEIGHTS[v.name] * v.vote, 0) / coverage : 0;
  const stance = stanceOf(score);
  const confidence = clamp(
    (CONFIDENCE_BASE + Math.abs(score) / 2) * (COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * coverage),
    0,
    1,
  );
  const missing = (['technical', 'sentiment', 'tokenomics'] as const).filter((n) => 'unavailable' in a[n]);
  const risks: string[] = [];
  if (!('unavailable' in a.technical) && a.technical.regime === 'high_volatility')
    risks.push('high volatility regime');
  if (!('unavailable' in a.tokenomics) && a.tokenomics.key_risks[0]) risks.push(a.tokenomics.key_risks[0]);
  if (missing.length) risks.push(`missing analysts: ${missing.join(', ')}`);
  if (risks.length === 0) risks.push('signals can reverse quickly in crypto markets');
  return {
    stance,
    thesis: `Weighted vote ${round(score)} (${votes.map((v) => `${v.name} ${round(v.vote)}`).join(', ') || 'no analysts'}): ${stance}.`,
    confidence: round(confidence),
    top_risks: risks.slice(0, 3),
    justification: `Weights technical ${WEIGHTS.technical}, sentiment ${WEIGHTS.sentiment}, tokenomics ${WEIGHTS.tokenomics}; coverage ${round(coverage)}; 7-bar return ${i.market.returns_pct_7_bars ?? 'n/a'}%, volatility ${i.market.realized_vol_annual_pct}% a year.`,
  };
}

export function traderRules(i: TraderInput): TraderOutput {
  // In consensus mode the firm has voted: trade the agreed side at the agreeing votes' confidence.
  const agreed = 'consensus' in i ? i.consensus : undefined;
  const stance = agreed ? (agreed.agreed === 'BUY' ? 'bullish' : 'bearish') : i.researcher.stance;
  const confidence = agreed ? round(agreed.agreeing_confidence) : i.researcher.confidence;
  const stop = round(clamp(STOP_ATR_MULTIPLE * i.market.atr_pct, MIN_STOP_PCT, MAX_STOP_PCT));
  const hold = (why: string): TraderOutput => ({
    action: 'HOLD',
    size_pct: 0,
    stop_loss_pct: null,
    take_profit_pct: null,
    reasons: [why],
  });
  if (stance === 'bullish') {
    const room = i.limits.max_position_pct - i.position.position_pct_of_equity;
    if (room <= MIN_ORDER_PCT)
      return hold(
        `bullish, but the position is already ${i.position.position_pct_of_equity}% of equity (limit ${i.limits.max_position_pct}%)`,
      );
    const volScale = Math.min(1, TARGET_VOL_PCT / Math.max(i.market.realized_vol_annual_pct, 1));
    const size = round(clamp(BASE_BUY_PCT * confidence * volScale, MIN_ORDER_PCT, room));
    return {
      action: 'BUY',
      size_pct: size,
      stop_loss_pct: stop,
      take_profit_pct: round(stop * TAKE_PROFIT_TO_STOP),
      reasons: [
        `bullish thesis at confidence ${confidence}: ${BASE_BUY_PCT}% x confidence x volatility scale ${round(volScale)} = ${size}% of equity`,
        `stop ${STOP_ATR_MULTIPLE} x ATR (${i.market.atr_pct}%) = ${stop}%, take profit ${TAKE_PROFIT_TO_STOP}x the stop`,
      ],
    };
  }
  if (stance === 'bearish') {
    const held = i.position.position_pct_of_equity;
    if (held <= 0) return hold('bearish, but there is no position to sell (long only)');
    const size = round(confidence >= CONFIDENT_SELL ? held : held / 2);
    return {
      action: 'SELL',
      size_pct: size,
      stop_loss_pct: null,
      take_profit_pct: null,
      reasons: [
        `bearish thesis at confidence ${confidence}: sell ${confidence >= CONFIDENT_SELL ? 'the whole' : 'half the'} position (${size}% of equity)`,
      ],
    };
  }
  return hold(`neutral thesis (confidence ${confidence}): no edge to trade`);
}

export function riskRules(i: RiskInput): RiskOutput {
  const p = i.proposal;
  if (p.action === 'HOLD')
    return { verdict: 'APPROVE', adjusted_size_pct: null, explanation: 'HOLD: nothing to approve.' };
  if (p.action === 'SELL')
    return { verdict: 'APPROVE', adjusted_size_pct: null, explanation: 'A sale reduces exposure: approved.' };
  const notes: string[] = [];
  let size = p.size_pct;
  if (i.market.realized_vol_annual_pct >= HIGH_VOL_PCT) {
    size *= HIGH_VOL_TRIM;
    notes.push(`volatility ${i.market.realized_vol_annual_pct}% a year is high: size x ${HIGH_VOL_TRIM}`);
  }
  const room = Math.min(
    i.limits.max_position_pct - i.exposure.position_pct_of_equity,
    i.limits.max_total_exposure_pct - i.exposure.total_exposure_pct,
  );
  if (size > room) {
    size = room;
    notes.push(`only ${round(room)}% of equity left under the position/exposure limits`);
  }
  size = round(Math.max(0, size));
  if (size < MIN_ORDER_PCT)
    return {
      verdict: 'REJECT',
      adjusted_size_pct: null,
      explanation: `No room for the buy: ${notes.join('; ') || 'size too small'}.`,
    };
  if (size < p.size_pct)
    return {
      verdict: 'ADJUST',
      adjusted_size_pct: size,
      explanation: `Adjusted ${p.size_pct}% to ${size}%: ${notes.join('; ')}.`,
    };
  return {
    verdict: 'APPROVE',
    adjusted_size_pct: null,
    explanation: `Size ${p.size_pct}% fits the limits at volatility ${i.market.realized_vol_annual_pct}% a year.`,
  };
}

export const OFFLINE_RULES = {
  technical: technicalRules,
  sentiment: sentimentRules,
  tokenomics: tokenomicsRules,
  researcher: researcherRules,
  trader: traderRules,
  risk: riskRules,
} as const;
