import '../shared/polyfills';
import { startHarness } from '../test/api/harness';
import { startOpenAIServer } from '../test/helpers/openai-server';
async function main() {
  const llm = await startOpenAIServer({ latencyMs: 500 });
  const env = { LLM_PROVIDER: 'openai', LLM_BASE_URL: llm.url, LLM_API_KEY: 'local-bench', LLM_CACHE: 'false' };
  const h = await startHarness({ workflows: (process.env.WF as any) ?? 'stepfunctions', env, backtestConcurrency: 10 });
  const times: number[] = [];
  for (let k = 0; k < Number(process.env.N ?? 5); k++) {
    const t0 = performance.now();
    const r = await h.post('/analyze', { symbol: 'BTCUSDT', timeframe: '4h' });
    times.push(Math.round(performance.now() - t0));
    if (r.status !== 200) console.log(r.status, JSON.stringify(r.body).slice(0, 300));
  }
  console.log('times', times);
  await h.close(); await llm.close();
}
main();
