/**
 * Backtests: creation (plan.ts), the state machine's steps (steps.ts), persistence (store.ts), the
 * stored result's shape (result.ts), reading (read.ts) and the in-process runner (runner.ts).
 */
export * from './plan';
export * from './read';
export * from './result';
export * from './resume';
export * from './runner';
export * from './settings';
export * from './steps';
export * from './store';
export * from './walk-forward';
