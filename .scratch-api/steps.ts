import '../shared/polyfills';
import { startHarness } from '../test/api/harness';
import { startOpenAIServer } from '../test/helpers/openai-server';
import * as S from '../shared/pipeline/steps';
import { ANALYSTS } from '../shared/agents/schemas';
async function main() {
  const llm = await startOpenAIServer({ latencyMs: 500 });
  const env = { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.url, LLM_API_KEY: 'local-bench', LLM_CACHE: 'false' };
  const h = await startHarness({ workflows: 'inprocess', env });
  const deps = h.server.container.deps;
  for (let k = 0; k < 3; k++) {
    const t: Record<string, number> = {};
    const time = async <T>(name: string, f: () => Promise<T>) => { const t0 = performance.now(); const r = await f(); t[name] = Math.round(performance.now() - t0); return r; };
    const T0 = performance.now();
    const { decisionId } = await time('create', () => S.createDecision(deps, { symbol: 'BTCUSDT', timeframe: '4h', mode: 'live' }));
    await time('prepare', () => S.prepareSnapshot(deps, { decisionId }));
    await time('analysts', () => Promise.all(ANALYSTS.map((analyst) => S.runAnalyst(deps, { decisionId, analyst }))));
    await time('researcher', () => S.runResearcher(deps, { decisionId }));
    await time('trader', () => S.runTrader(deps, { decisionId }));
    await time('risk', () => S.runRisk(deps, { decisionId }));
    await time('finalize', () => S.finalizeDecision(deps, { decisionId }));
    t.total = Math.round(performance.now() - T0);
    console.log(JSON.stringify(t));
  }
  await h.close(); await llm.close();
}
main();
