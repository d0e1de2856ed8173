/**
 * Studies: many backtests as one experiment, with honest statistics. request (schema, windows),
 * plan (cells, decision counts, estimate), cells (the state machine's steps), statistics (pure),
 * report (pure), read (one study, the list, the CSV), resume (failed and flagged cells again), runner (the same steps in-process).
 */
export * from './cells';
export * from './plan';
export * from './read';
export * from './report';
export * from './request';
export * from './resume';
export * from './runner';
export * from './statistics';
