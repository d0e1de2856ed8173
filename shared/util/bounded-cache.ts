/**
 * A small least-recently-used map with a fixed capacity, and a family of them keyed by an owner object
 * (a database handle): an in-process memo of rows that never change once written (a backtest's stored
 * settings, a strategy version, a decision's market snapshot), so a chain of steps in one process reads
 * them once instead of once per step. Keyed by the owner, two databases in one process (tests, the CLI
 * beside the server) never see each other's rows; the owner going away drops its entries.
 *
 * Only for immutable values: nothing here knows when a row changes.
 */
export class BoundedCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('capacity must be at least 1');
  }

  get size(): number {
    return this.map.size;
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
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next().value as K;
      this.map.delete(oldest);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
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
