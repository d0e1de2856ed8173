/**
 * The response cache (`llm_cache`): identical calls are answered from the database, cost nothing, and
 * return the same answer, so a rerun of an unchanged backtest costs $0 and gives the same result.
 *
 * Key = sha256 of (model, messages, schema name, JSON schema, temperature, max_tokens, and when given:
 * the structured-output mode, the seed and the provider's endpoint). Everything that can change the
 * answer is in it; nothing else is (no decision id, run, symbol label or prompt version: the messages
 * themselves carry what the model reads).
 * - The endpoint (`scope`, the base URL) is in the key: `gpt-4.1` at OpenAI and a model of the same
 *   name behind a proxy or a local server are different models. So is the seed: it steers sampling.
 * - The DATE IS NOT IN THE KEY, neither today's date nor the time of the call: prompts carry no
 *   wall-clock date (the market time they describe is part of the messages, and blind mode replaces
 *   even that with relative time), so unchanged inputs hit however much later they are asked. The
 *   price: if a provider silently changes the model behind a name, old answers are still served; pin a
 *   dated model snapshot (e.g. gpt-4.1-2025-04-14) when that matters.
 * - max_tokens is in the key because a smaller cap can truncate an answer that a larger one would not.
 * - Only schema-valid answers are stored (after a repair, the repaired one, under the original request's
 *   key), so an abstention is retried on the next run rather than replayed.
 * - Concurrent identical calls: within one process the client lets one through and the others wait for
 *   it, then hit (client.ts). Across processes two identical misses both call the provider and the
 *   first insert wins (ON CONFLICT DO NOTHING); later calls all get that stored answer. Cheaper than a
 *   database lock, and rare (identical prompts at the same moment in two Lambdas).
 */
import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { llmCache } from '../db/schema';
import type { ChatMessage } from './tokens';

export interface CacheKeyParts {
  model: string;
  messages: readonly ChatMessage[];
  schemaName: string;
  jsonSchema: unknown;
  temperature: number;
  maxTokens: number;
  /** json_schema or json_object. */
  mode?: string;
  seed?: number | null;
  /** The endpoint that answers (ChatProvider.cacheScope). */
  scope?: string | null;
}

export function cacheKey(p: CacheKeyParts): string {
  const canonical = JSON.stringify([
    p.model,
    p.messages.map((m) => [m.role, m.content]),
    p.schemaName,
    p.jsonSchema,
    p.temperature,
    p.maxTokens,
    p.mode ?? null,
    p.seed ?? null,
    p.scope ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export interface CachedAnswer {
  output: unknown;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

export interface ResponseCache {
  /** The stored answer (and its hit counted), or undefined. */
  get(key: string): Promise<CachedAnswer | undefined>;
  put(key: string, model: string, answer: CachedAnswer): Promise<void>;
}

export function createResponseCache(db: DbOrTx): ResponseCache {
  return {
    async get(key) {
      const rows = await db
        .update(llmCache)
        .set({ hits: sql`${llmCache.hits} + 1` })
        .where(eq(llmCache.key, key))
        .returning();
      const row = rows[0];
      if (!row) return undefined;
      return {
        output: (row.response as { output: unknown }).output,
        tokensIn: row.tokensIn,
        tokensOut: row.tokensOut,
        costUsd: Number(row.costUsd),
      };
    },
    async put(key, model, a) {
      await db
        .insert(llmCache)
        .values({
          key,
          model,
          response: { output: a.output },
          tokensIn: a.tokensIn,
          tokensOut: a.tokensOut,
          costUsd: a.costUsd.toFixed(8),
        })
        .onConflictDoNothing({ target: llmCache.key });
    },
  };
}
