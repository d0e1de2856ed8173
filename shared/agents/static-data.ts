/**
 * The sentiment/news and tokenomics analysts' inputs: static files shipped with the project
 * (data/sentiment.json, data/tokenomics.json), labelled static, for BTC, ETH and SOL. There is no live
 * news feed; the label travels into the prompt and the agent's output.
 *
 * No look-ahead through the data files: every fact carries the date it became known, and a decision at
 * time t sees only what was known at t: news items (within NEWS_LOOKBACK_DAYS), the issuance era, the
 * unlocks and the supply risks in force. The files record dates without a time of day, so a fact dated
 * D counts as known from the END of D (D+1 00:00 UTC): an hourly decision during D must not see news
 * from later that day. The files' own compile date (`asOf`, after most decisions) is kept out of the
 * data the prompts see. A symbol without data, or a time with nothing to show, makes the analyst
 * `unavailable` with the reason; nothing is invented.
 */
import { z } from 'zod';
import sentimentFile from './data/sentiment.json';
import tokenomicsFile from './data/tokenomics.json';

const DAY_MS = 86_400_000;
/** News older than this says little about the market at decision time. */
export const NEWS_LOOKBACK_DAYS = 365;
/** At most this many items go into a prompt (the most recent ones). */
export const MAX_NEWS_ITEMS = 6;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const sentimentFileSchema = z.object({
  label: z.literal('static'),
  asOf: isoDate,
  note: z.string(),
  assets: z.record(
    z.string(),
    z.array(
      z.object({ date: isoDate, headline: z.string(), tone: z.number().min(-1).max(1), theme: z.string() }),
    ),
  ),
});
const tokenomicsFileSchema = z.object({
  label: z.literal('static'),
  asOf: isoDate,
  note: z.string(),
  assets: z.record(
    z.string(),
    z.object({
      category: z.string(),
      maxSupply: z.number().nullable(),
      issuance: z.array(z.object({ from: isoDate, annualInflationPct: z.number(), note: z.string() })).min(1),
      unlocks: z.array(z.object({ from: isoDate, to: isoDate, note: z.string() })),
      risks: z.array(z.object({ text: z.string(), from: isoDate, to: isoDate.optional() })).min(1),
    }),
  ),
});

// Validated once at load: a broken data file fails loudly at startup, not inside a decision.
const SENTIMENT = sentimentFileSchema.parse(sentimentFile);
const TOKENOMICS = tokenomicsFileSchema.parse(tokenomicsFile);

const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`);
/** When a fact dated `d` (no time of day) is known for sure: the end of that UTC day. */
const knownFrom = (d: string) => dayMs(d) + DAY_MS;

export interface NewsItem {
  date: string;
  daysAgo: number;
  headline: string;
  tone: number;
  theme: string;
}
export interface SentimentData {
  asOf: string;
  items: NewsItem[];
}
export interface TokenomicsData {
  asOf: string;
  category: string;
  maxSupply: number | null;
  annualInflationPct: number;
  issuanceNote: string;
  activeUnlocks: string[];
  risks: string[];
}
export type Available<T> = { ok: true; data: T } | { ok: false; reason: string };

export function sentimentDataAt(baseAsset: string, decisionTime: number): Available<SentimentData> {
  const items = SENTIMENT.assets[baseAsset];
  if (!items) return { ok: false, reason: `no static data for ${baseAsset}` };
  const visible = items
    .filter(
      (i) => knownFrom(i.date) <= decisionTime && decisionTime - dayMs(i.date) <= NEWS_LOOKBACK_DAYS * DAY_MS,
    )
    .sort((a, b) => b.date.localeCompare(a.date))
    .slice(0, MAX_NEWS_ITEMS)
    .map((i) => ({ ...i, daysAgo: Math.floor((decisionTime - dayMs(i.date)) / DAY_MS) }));
  if (visible.length === 0)
    return {
      ok: false,
      reason: `no static news for ${baseAsset} in the ${NEWS_LOOKBACK_DAYS} days before ${new Date(decisionTime).toISOString().slice(0, 10)}`,
    };
  return { ok: true, data: { asOf: SENTIMENT.asOf, items: visible } };
}

export function tokenomicsDataAt(baseAsset: string, decisionTime: number): Available<TokenomicsData> {
  const a = TOKENOMICS.assets[baseAsset];
  if (!a) return { ok: false, reason: `no static data for ${baseAsset}` };
  const era = a.issuance.filter((e) => knownFrom(e.from) <= decisionTime).at(-1);
  if (!era)
    return {
      ok: false,
      reason: `no static supply data for ${baseAsset} before ${new Date(decisionTime).toISOString().slice(0, 10)}`,
    };
  return {
    ok: true,
    data: {
      asOf: TOKENOMICS.asOf,
      category: a.category,
      maxSupply: a.maxSupply,
      annualInflationPct: era.annualInflationPct,
      issuanceNote: era.note,
      activeUnlocks: a.unlocks
        .filter((u) => knownFrom(u.from) <= decisionTime && decisionTime < dayMs(u.to))
        .map((u) => u.note),
      risks: a.risks
        .filter((r) => knownFrom(r.from) <= decisionTime && (!r.to || decisionTime < dayMs(r.to)))
        .map((r) => r.text),
    },
  };
}

export const STATIC_DATA_ASSETS = {
  sentiment: Object.keys(SENTIMENT.assets),
  tokenomics: Object.keys(TOKENOMICS.assets),
} as const;
