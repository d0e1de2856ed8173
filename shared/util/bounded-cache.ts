/**
 * A small least-recently-used map with a fixed capacity (and optionally a total weight, e.g. the
 * characters of the keys it holds), and a family of them keyed by an owner object (a database handle):
 * an in-process memo of values that never change once written (a backtest's stored settings, a strategy
 * version, a decision's market snapshot, a text's token count), so repeated work reads or computes them
 * once. Keyed by the owner, two databases in one process (tests, the CLI beside the server) never see
 * each other's rows; the owner going away drops its entries.
 *
 * Only for immutable values: nothing here knows when a row changes.
 */
export interface BoundedCacheOptions<K, V> {
  /** With `weigh`: the most total weight held; the least recently used go first beyond it. */
  maxWeight?: number;
  weigh?: (key: K, value: V) => number;
}

export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  private held = 0;
  constructor(
    readonly capacity: number,
    private readonly options: BoundedCacheOptions<K, V> = {},
  ) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
  }

  get size(): number {
    return this.map.size;
  }

  /** The total weight held (0 without `weigh`). */
  get weight(): number {
    return this.held;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    // Most recently used last: re-insert.
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: K, value: V): void {
    this.delete(key);
    this.map.set(key, value);
    this.held += this.weightOf(key, value);
    const maxWeight = this.options.maxWeight ?? Number.POSITIVE_INFINITY;
    while (this.map.size > this.capacity || this.held > maxWeight) {
      const oldest = this.map.keys().next().value as K;
      this.delete(oldest);
    }
  }

  delete(key: K): void {
    const v = this.map.get(key);
    if (v === undefined) return;
    this.map.delete(key);
    this.held -= this.weightOf(key, v);
  }

  clear(): void {
    this.map.clear();
    this.held = 0;
  }

  private weightOf(key: K, value: V): number {
    return this.options.weigh ? this.options.weigh(key, value) : 0;
  }
}

/** One BoundedCache per owner object (weakly held). */
export function perOwnerCache<K, V>(capacity: number): (owner: object) => BoundedCache<K, V> {
  const caches = new WeakMap<object, BoundedCache<K, V>>();
  return (owner) => {
    let c = caches.get(owner);
    if (!c) {
      c = new BoundedCache<K, V>(capacity);
      caches.set(owner, c);
    }
    return c;
  };
}
