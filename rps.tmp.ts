import './shared/polyfills';
import { startHarness } from './test/api/harness';
const h = await startHarness({ workflows: 'inprocess' });
const path = '/market/BTCUSDT/latest?timeframe=4h&limit=200';
console.log((await h.get(path)).status);
let next = 0; let fails = 0; const causes = new Map<string, number>();
const t0 = performance.now();
await Promise.all(Array.from({ length: 20 }, async () => {
  while (next < 500) { next++;
    try { const r = await h.raw('GET', path); await r.arrayBuffer(); if (r.status !== 200) fails++; }
    catch (e: any) { fails++; const k = String(e.cause?.code ?? e.cause?.message ?? e.message); causes.set(k, (causes.get(k) ?? 0) + 1); }
  }
}));
console.log('rps', 500 / ((performance.now() - t0) / 1000), fails, [...causes]);
await h.close();
