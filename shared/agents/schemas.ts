/**
 * The six agents' structured outputs: one zod schema each, shared by the LLM layer (validation and
 * the JSON schema sent as `response_format`), the API contract and the web app.
 *
 * Every field is required; "no value" is `null`, never an omitted key, because OpenAI's strict
 * structured outputs require every property to be listed as required. Field names are snake_case as
 * they appear to the model.
 */
import { z } from 'zod';

export const AGENT_NAMES = ['technical', 'sentiment', 'tokenomics', 'researcher', 'trader', 'risk'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];
export const ANALYSTS = ['technical', 'sentiment', 'tokenomics'] as const;
export type AnalystName = (typeof ANALYSTS)[number];

export type Tier = 'cheap' | 'strong';
export const AGENT_TIER: Record<AgentName, Tier> = {
  technical: 'cheap',
  sentiment: 'cheap',
  tokenomics: 'cheap',
  researcher: 'strong',
  trader: 'strong',
  risk: 'strong',
};

/**
 * The learning loop's two agents (shared/learning): not part of a decision, but called through the same
 * LLM client, on the strong tier, under their own names (logs, budget, cache).
 */
export const LEARNING_AGENT_NAMES = ['learning', 'strategy_builder'] as const;
export type LearningAgentName = (typeof LEARNING_AGENT_NAMES)[number];
/** Every name the LLM client calls for. */
export type ModelAgentName = AgentName | LearningAgentName;
export const MODEL_AGENT_TIER: Record<ModelAgentName, Tier> = {
  ...AGENT_TIER,
  learning: 'strong',
  strategy_builder: 'strong',
};

export const AGENT_LABEL: Record<AgentName, string> = {
  technical: 'Technical analyst',
  sentiment: 'Sentiment/news analyst',
  tokenomics: 'Tokenomics analyst',
  researcher: 'Researcher',
  trader: 'Trader',
  risk: 'Risk manager',
};

const reasons = z.array(z.string().min(1).max(400)).min(1).max(5);
const stance = z.enum(['bullish', 'bearish', 'neutral']);

export const technicalOutputSchema = z.object({
  trend: stance,
  momentum: z.enum(['rising', 'falling', 'flat']),
  condition: z.enum(['overbought', 'oversold', 'neutral']),
  regime: z.enum(['bull', 'bear', 'sideways', 'high_volatility', 'low_volatility']),
  signal_strength: z.number().min(0).max(1),
  reasons,
});

export const sentimentOutputSchema = z.object({
  sentiment: stance,
  score: z.number().min(-1).max(1),
  key_themes: z.array(z.string().min(1).max(200)).max(5),
  data_note: z.string().max(300),
  reasons,
});

export const tokenomicsOutputSchema = z.object({
  outlook: stance,
  supply_pressure: z.enum(['low', 'medium', 'high']),
  key_risks: z.array(z.string().min(1).max(200)).max(5),
  reasons,
});

export const researcherOutputSchema = z.object({
  stance,
  thesis: z.string().min(1).max(800),
  confidence: z.number().min(0).max(1),
  top_risks: z.array(z.string().min(1).max(300)).min(1).max(3),
  justification: z.string().min(1).max(1200),
});

export const traderOutputSchema = z.object({
  action: z.enum(['BUY', 'SELL', 'HOLD']),
  size_pct: z.number().min(0).max(100),
  stop_loss_pct: z.number().gt(0).max(50).nullable(),
  take_profit_pct: z.number().gt(0).max(500).nullable(),
  reasons,
});

export const riskOutputSchema = z.object({
  verdict: z.enum(['APPROVE', 'ADJUST', 'REJECT']),
  adjusted_size_pct: z.number().min(0).max(100).nullable(),
  explanation: z.string().min(1).max(1200),
});

export const AGENT_OUTPUT_SCHEMAS = {
  technical: technicalOutputSchema,
  sentiment: sentimentOutputSchema,
  tokenomics: tokenomicsOutputSchema,
  researcher: researcherOutputSchema,
  trader: traderOutputSchema,
  risk: riskOutputSchema,
} as const;

export type TechnicalOutput = z.infer<typeof technicalOutputSchema>;
export type SentimentOutput = z.infer<typeof sentimentOutputSchema>;
export type TokenomicsOutput = z.infer<typeof tokenomicsOutputSchema>;
export type ResearcherOutput = z.infer<typeof researcherOutputSchema>;
export type TraderOutput = z.infer<typeof traderOutputSchema>;
export type RiskOutput = z.infer<typeof riskOutputSchema>;
export type AgentOutputs = {
  technical: TechnicalOutput;
  sentiment: SentimentOutput;
  tokenomics: TokenomicsOutput;
  researcher: ResearcherOutput;
  trader: TraderOutput;
  risk: RiskOutput;
};

/**
 * What became of one agent in one decision. Failure is a value:
 * - ok: a schema-valid answer (possibly after one repair, see `repaired`);
 * - abstained: the model's answer stayed invalid after the repair attempt; no output is invented;
 * - unavailable: an analyst that failed (error, timeout, no data); the pipeline went on without it;
 * - error: a researcher/trader/risk failure; the decision is "no trade";
 * - budget_exceeded: the daily token budget refused the call;
 * - gated: not called, because the researcher's confidence was under the threshold;
 * - skipped: not called for another recorded reason (e.g. an earlier step failed).
 */
export const agentStatusSchema = z.enum([
  'ok',
  'abstained',
  'unavailable',
  'error',
  'budget_exceeded',
  'gated',
  'skipped',
]);
export type AgentStatus = z.infer<typeof agentStatusSchema>;

export const agentResultSchema = z.object({
  agent: z.enum(AGENT_NAMES),
  status: agentStatusSchema,
  output: z.record(z.string(), z.unknown()).nullable(),
  reason: z.string().nullable(),
  provider: z.enum(['openai', 'offline']),
  tier: z.enum(['cheap', 'strong']),
  model: z.string(),
  promptVersion: z.string(),
  repaired: z.boolean(),
  cacheHit: z.boolean(),
  tokensIn: z.number().int().min(0),
  tokensOut: z.number().int().min(0),
  costUsd: z.number().min(0),
  latencyMs: z.number().min(0),
  retries: z.number().int().min(0),
  /** Present and false when the model has no listed price: costUsd is then 0, not a real figure. */
  costKnown: z.boolean().optional(),
});
export type AgentResult = z.infer<typeof agentResultSchema>;
