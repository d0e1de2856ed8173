import Decimal from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dec, fromDec, toDec } from './book';
import {
  add,
  cmp,
  decString,
  divTo,
  type Fixed,
  fixedString,
  floorToStep,
  mul,
  parseFixed,
  roundTo,
  stepPlaces,
  sub,
} from './exact';

/** A reference with digits to spare: every product and quotient below is exact or far finer. */
const Wide = Decimal.clone({ precision: 200, rounding: Decimal.ROUND_HALF_EVEN });

/** Decimal strings with up to 20 integer and 20 fractional digits, either sign, some exponent forms. */
const decimalText = fc
  .tuple(
    fc.boolean(),
    fc.bigInt({ min: 0n, max: 10n ** 20n }),
    fc.integer({ min: 0, max: 20 }),
    fc.constantFrom('plain', 'exp'),
  )
  .map(([negative, m, s, form]) => {
    const digits = m.toString();
    const sign = negative ? '-' : '';
    if (form === 'exp') return `${sign}${digits}e-${s}`;
    if (s === 0) return `${sign}${digits}`;
    const padded = digits.padStart(s + 1, '0');
    return `${sign}${padded.slice(0, -s)}.${padded.slice(-s)}`;
  });
const ledgerAmount = fc.bigInt({ min: 1n, max: 10n ** 20n }).map((m) => new Dec(m.toString()).div(1e12));

describe('exact scaled decimals agree with decimal.js', () => {
  it('parses and prints like Decimal#toFixed and Decimal#toString', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        const x = parseFixed(text);
        const d = new Dec(text);
        expect(fixedString(x)).toBe(d.toFixed());
        expect(decString(x)).toBe(d.toString());
        expect(fixedString(fromDec(d))).toBe(d.toFixed());
        expect(toDec(x).eq(d)).toBe(true);
      }),
      { numRuns: 500 },
    );
    // Hand-checked edges: exponent notation below 1e-6 and from 1e21, as decimal.js prints them.
    expect(decString(parseFixed('0.000000998'))).toBe('9.98e-7');
    expect(decString(parseFixed('0.000001'))).toBe('0.000001');
    expect(decString(parseFixed('1500000000000000000000'))).toBe('1.5e+21');
    expect(fixedString(parseFixed('-0.00'))).toBe('0');
    expect(fixedString(parseFixed(1e-7))).toBe('0.0000001');
    expect(() => parseFixed('1.2.3')).toThrow(/not a finite decimal/);
  });

  it('adds, subtracts, multiplies and compares exactly', () => {
    fc.assert(
      fc.property(decimalText, decimalText, (a, b) => {
        const x = parseFixed(a);
        const y = parseFixed(b);
        const wa = new Wide(a);
        const wb = new Wide(b);
        expect(fixedString(add(x, y))).toBe(wa.plus(wb).toFixed());
        expect(fixedString(sub(x, y))).toBe(wa.minus(wb).toFixed());
        expect(fixedString(mul(x, y))).toBe(wa.times(wb).toFixed());
        expect(cmp(x, y)).toBe(wa.comparedTo(wb));
      }),
      { numRuns: 500 },
    );
  });

  it('rounds once, on the exact value: down and half-even, at any number of places', () => {
    fc.assert(
      fc.property(decimalText, fc.integer({ min: 0, max: 14 }), (a, places) => {
        const w = new Wide(a);
        expect(fixedString(roundTo(parseFixed(a), places, 'down'))).toBe(
          w.toDecimalPlaces(places, Decimal.ROUND_DOWN).toFixed(),
        );
        expect(fixedString(roundTo(parseFixed(a), places, 'half_even'))).toBe(
          w.toDecimalPlaces(places, Decimal.ROUND_HALF_EVEN).toFixed(),
        );
      }),
      { numRuns: 500 },
    );
    // Ties go to the even neighbour, on both signs.
    expect(fixedString(roundTo(parseFixed('2.5'), 0, 'half_even'))).toBe('2');
    expect(fixedString(roundTo(parseFixed('3.5'), 0, 'half_even'))).toBe('4');
    expect(fixedString(roundTo(parseFixed('-2.5'), 0, 'half_even'))).toBe('-2');
  });

  it('divides to the exact quotient rounded at the asked places, and says when it was exact', () => {
    fc.assert(
      fc.property(ledgerAmount, ledgerAmount, fc.integer({ min: 0, max: 12 }), (a, b, places) => {
        const x = fromDec(a);
        const y = fromDec(b);
        // 200 digits: the reference quotient is exact far below the 12th decimal.
        const q = new Wide(a.toFixed()).div(new Wide(b.toFixed()));
        const down = divTo(x, y, places, 'down');
        expect(fixedString(down.q)).toBe(q.toDecimalPlaces(places, Decimal.ROUND_DOWN).toFixed());
        expect(down.exact).toBe(q.toDecimalPlaces(places, Decimal.ROUND_DOWN).eq(q));
        expect(fixedString(divTo(x, y, places, 'half_even').q)).toBe(
          q.toDecimalPlaces(places, Decimal.ROUND_HALF_EVEN).toFixed(),
        );
      }),
      { numRuns: 500 },
    );
    expect(() => divTo(parseFixed('1'), parseFixed('0'), 2, 'down')).toThrow(/division by zero/);
  });

  it('floors to LOT_SIZE steps, powers of ten or not', () => {
    const step = (s: string): [Fixed, number | null] => {
      const f = parseFixed(s);
      return [f, stepPlaces(f)];
    };
    expect(stepPlaces(parseFixed('0.00001000'))).toBe(5);
    expect(stepPlaces(parseFixed('1'))).toBe(0);
    expect(stepPlaces(parseFixed('0.5'))).toBeNull();
    expect(fixedString(floorToStep(parseFixed('1.23456789'), ...step('0.00001000')))).toBe('1.23456');
    expect(fixedString(floorToStep(parseFixed('1.3'), ...step('0.25')))).toBe('1.25');
    expect(fixedString(floorToStep(parseFixed('-1'), ...step('0.01')))).toBe('0');
    const x: Fixed = parseFixed('123.456');
    expect(fixedString(floorToStep(x, ...step('10')))).toBe('120');
  });
});
