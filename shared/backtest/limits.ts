/**
 * The most decision points one backtest may have: what the API accepts (max_decisions) and the ceiling
 * of BACKTEST_MAX_DECISIONS. The Map's items ride in the state machine's state, which Step Functions
 * caps at 256 KiB: 2,000 items of `{ backtestId, decisionTime }` are about 170 KB (cdk/workflows/
 * history.test.ts checks it). Pure constant: the web app imports it too.
 */
export const BACKTEST_DECISIONS_CEILING = 2_000;

/**
 * Walk-forward learning: segments of one backtest at most (learning.every at least decisions / this).
 * Each segment adds its decision Map, End segment, the learning states and Plan next segment to the
 * parent execution's history (capped at 25,000 events): counted in cdk/workflows/history.test.ts.
 */
export const MAX_LEARNING_SEGMENTS = 100;
