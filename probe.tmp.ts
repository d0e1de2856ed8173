import { simulate, type TimedDecision } from './shared/backtest';
import { barKnownAt } from './shared/indicators';
import { readBinanceCsv, binanceDataFile } from './shared/indicators/testing';
const c = readBinanceCsv(binanceDataFile('BTCUSDT-1h.csv.gz'));
const decisions: TimedDecision[] = [];
const pattern = [{action:'BUY', sizePct: 10, stopLossPct: 5, takeProfitPct: 10}, {action:'HOLD', sizePct:0}, {action:'SELL', sizePct: 5}, {action:'BUY', sizePct: 8}, {action:'SELL', sizePct: 100}] as const;
let known = -Infinity;
for (let i = 0; i < c.length; i++) { known = Math.max(known, barKnownAt(c[i]!, '1h')); if (i % 24 === 23) decisions.push({ decisionTime: known, ...pattern[decisions.length % 5]! }); }
for (let r = 0; r < 25; r++) {
const t0 = performance.now();
const res = simulate({ candles: c, timeframe: '1h', decisions, settings: { symbol: 'BTCUSDT', initialCash: 10000 } });
const ms = performance.now() - t0;
console.log(ms.toFixed(1), 'ms', (c.length / ms * 1000).toFixed(0), 'bars/s', res.fills.length, res.rejections.length, res.metrics.totalReturn, res.metrics.sharpeDaily, res.buyAndHold?.totalReturn, res.trades.length);
}
