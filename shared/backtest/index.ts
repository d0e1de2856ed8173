/**
 * Backtests: the pure deterministic simulator (simulator.ts) and its statistics (metrics.ts).
 * Consumers: the backtest workflow's "simulate" step and the CLI.
 */
export * from './metrics';
export * from './simulator';
export * from './strategies';
