import { describe, expect, it } from 'vitest';
import { BoundedCache, perOwnerCache } from './bounded-cache';

describe('BoundedCache', () => {
  it('keeps at most `capacity` entries and drops the least recently used', () => {
    const c = new BoundedCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // a is now the most recent
    c.set('c', 3); // evicts b
    expect(c.size).toBe(2);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
    c.set('a', 10); // replacing does not grow it
    expect(c.size).toBe(2);
    expect(c.get('a')).toBe(10);
    c.delete('a');
    expect(c.get('a')).toBeUndefined();
  });

  it('with a weight bound, drops the least recently used until the total fits', () => {
    const c = new BoundedCache<string, number>(10, { maxWeight: 5, weigh: (k) => k.length });
    c.set('aa', 1);
    c.set('bb', 2);
    expect(c.weight).toBe(4);
    c.set('ccc', 3); // 7 > 5: aa goes, then 5 fits
    expect(c.get('aa')).toBeUndefined();
    expect(c.weight).toBe(5);
    c.delete('bb');
    expect(c.weight).toBe(3);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.weight).toBe(0);
  });

  it('refuses a capacity below 1', () => {
    expect(() => new BoundedCache(0)).toThrow(RangeError);
  });

  it('per owner: two owners never see each other’s entries', () => {
    const of = perOwnerCache<string, string>(4);
    const db1 = {};
    const db2 = {};
    of(db1).set('id', 'one');
    expect(of(db1).get('id')).toBe('one');
    expect(of(db2).get('id')).toBeUndefined();
    expect(of(db1)).toBe(of(db1));
  });
});
