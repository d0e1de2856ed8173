/**
 * The simulated portfolio: pure ledger math (book.ts), order planning with recorded clamps (order.ts)
 * and persistence on the runs/positions/trades/portfolio_snapshots tables (repository.ts, imported
 * separately because it needs a database). The backtest simulator uses the same planOrder/applyFill.
 */
export * from './book';
export * from './order';
