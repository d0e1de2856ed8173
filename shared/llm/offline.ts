/**
 * The offline provider: the six agents as deterministic rules (shared/agents/offline/rules.ts), and the
 * learning loop's two (shared/learning/offline-rules.ts), behind
 * the same ChatProvider port as the models, so the pipeline, validation and logging run the same code.
 * The default when no key is configured: the whole product runs with no account and no cost.
 *
 * It is labelled `offline` (provider) and `offline-rules` (model) wherever its output appears. It costs
 * nothing, yet it reports the tokens its prompts WOULD have used (gpt-tokenizer, o200k_base: the
 * messages, plus the JSON schema a model would have been sent; the reply as completion), so cost
 * estimates made offline stay meaningful.
 */
import { OFFLINE_RULES } from '../agents/offline/rules';
import { learningRules, strategyBuilderRules } from '../learning/offline-rules';
import type { ChatProvider, ProviderRequest, ProviderResponse } from './provider';
import { countChatTokens, countTextTokens } from './tokens';

export function createOfflineProvider(): ChatProvider {
  return {
    name: 'offline',
    billable: false,
    async complete(req: ProviderRequest): Promise<ProviderResponse> {
      const rules = { ...OFFLINE_RULES, learning: learningRules, strategy_builder: strategyBuilderRules };
      const rule = rules[req.agent] as (input: unknown) => unknown;
      const content = JSON.stringify(rule(req.input));
      return {
        content,
        usage: {
          promptTokens:
            countChatTokens(req.messages) + countTextTokens(JSON.stringify(req.responseFormat.schema)),
          completionTokens: countTextTokens(content),
          cachedTokens: 0,
        },
      };
    },
  };
}
