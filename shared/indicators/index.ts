/**
 * Indicators and the clock-gated market view. See compute.ts (series computed once, warm-up) and
 * market-view.ts (what an agent may see at decision time t, and the agents' summary).
 */
export * from './compute';
export * from './market-view';
