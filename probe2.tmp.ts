import { planOrder, emptyBook, applyFill, fillFromPlan, Dec } from './shared/portfolio';
import { filtersFor } from './shared/market/types';
const f = filtersFor('BTCUSDT');
let book = emptyBook(10000);
const t0 = performance.now();
let N = 20000;
for (let i = 0; i < N; i++) {
  const p = planOrder({ action: i % 2 ? 'SELL' : 'BUY', sizePct: 10, symbol: 'BTCUSDT', referencePrice: new Dec(30000 + i) }, { book, filters: f });
  if (p.status === 'order') book = applyFill(book, fillFromPlan(p, f, i, 'signal')).book;
}
console.log('per plan+fill µs', ((performance.now() - t0) / N * 1000).toFixed(1));
