import '../shared/polyfills';
import { startHarness } from '../test/api/harness';
import { computeIndicators, WARMUP_BARS } from '../shared/indicators/compute';
import { createMarketView, summarizeForAgents } from '../shared/indicators/market-view';
import { liveBookView } from '../shared/pipeline/live-book';
async function main() {
  const h = await startHarness({ workflows: 'inprocess' });
  const deps = h.server.container.deps;
  const tfMs = 4 * 3600_000;
  const decisionTime = Math.floor(deps.now() / tfMs) * tfMs;
  for (let k = 0; k < 4; k++) {
    const t: Record<string, number> = {};
    let t0 = performance.now();
    const { candles } = await deps.candles.getCandles({ symbol: 'BTCUSDT', timeframe: '4h', startMs: decisionTime - (WARMUP_BARS + 40) * tfMs, endMs: decisionTime - 1 });
    t.getCandles = Math.round(performance.now() - t0); t0 = performance.now();
    const series = computeIndicators(candles, '4h');
    t.indicators = Math.round(performance.now() - t0); t0 = performance.now();
    const view = createMarketView(candles, series, '4h').at(decisionTime);
    const market = summarizeForAgents(view);
    t.summary = Math.round(performance.now() - t0); t0 = performance.now();
    await deps.latestPrice!('BTCUSDT');
    t.ticker = Math.round(performance.now() - t0); t0 = performance.now();
    await liveBookView(deps, 'BTCUSDT', market.lastClose);
    t.book = Math.round(performance.now() - t0);
    t.n = candles.length;
    console.log(JSON.stringify(t));
  }
  await h.close();
}
main();
