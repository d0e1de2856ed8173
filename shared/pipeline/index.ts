/**
 * The analysis pipeline: step functions (steps.ts) with the in-process runner and read model
 * (analysis.ts), the final-decision rules (final.ts), its dependencies (deps.ts) and the workflow port
 * (ports.ts). Backtest steps live in backtest/ (imported separately).
 */
export * from './analysis';
export * from './deps';
export * from './final';
export * from './ports';
