/**
 * An adaptive concurrency limit per upstream (additive increase, multiplicative decrease), in the
 * spirit of the AWS SDK's adaptive retry mode: sustained 429s lower how many calls go out at once
 * instead of retrying at full width.
 *
 * - A rate-limit answer halves the limit (never below 1); each success raises it by 1/limit (about one
 *   more slot per round of calls), up to the ceiling.
 * - A caller waits for a slot; the wait ends at the caller's deadline (the decision's), never later.
 * - In-process: the local host and the CLI run every decision of a backtest in one process, so one
 *   limiter sees all of them. On AWS each Lambda has its own; there the shared not-before and the
 *   breaker (upstream-health.ts, in PostgreSQL) are what slows every caller.
 */
export interface AdaptiveLimit {
  /** Take a slot; resolves false when `deadline` (epoch ms) passes first. */
  acquire(deadline: number): Promise<boolean>;
  release(outcome: 'ok' | 'rate_limited' | 'other'): void;
  readonly limit: number;
  readonly inFlight: number;
}

export function createAdaptiveLimit(
  ceiling: number,
  clock: () => number = Date.now,
  setTimer: (fn: () => void, ms: number) => unknown = setTimeout,
  clearTimer: (t: unknown) => void = (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
): AdaptiveLimit {
  let limit = ceiling;
  let inFlight = 0;
  const waiters: { grant: () => void }[] = [];

  function pump() {
    while (waiters.length > 0 && inFlight < Math.max(1, Math.floor(limit))) {
      inFlight++;
      waiters.shift()?.grant();
    }
  }

  return {
    get limit() {
      return limit;
    },
    get inFlight() {
      return inFlight;
    },
    acquire(deadline) {
      if (waiters.length === 0 && inFlight < Math.max(1, Math.floor(limit))) {
        inFlight++;
        return Promise.resolve(true);
      }
      return new Promise<boolean>((resolve) => {
        const waiter = {
          grant: () => {
            clearTimer(timer);
            resolve(true);
          },
        };
        const timer = setTimer(
          () => {
            const i = waiters.indexOf(waiter);
            if (i >= 0) waiters.splice(i, 1);
            resolve(false);
          },
          Math.max(0, deadline - clock()),
        );
        waiters.push(waiter);
      });
    },
    release(outcome) {
      inFlight = Math.max(0, inFlight - 1);
      if (outcome === 'rate_limited') limit = Math.max(1, limit / 2);
      else if (outcome === 'ok') limit = Math.min(ceiling, limit + 1 / limit);
      pump();
    },
  };
}
