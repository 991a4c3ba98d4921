import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addExact, ceilQuotient, exactDecimal, multiplyExact } from './exact.js';

describe('exact decimals', () => {
  it.each([
    [0.7, 7n, -1],
    [-12.5, -125n, -1],
    [1e21, 1n, 21],
    [1.5e-7, 15n, -8],
    [300, 300n, 0],
  ])('reads %d back as the decimal it was written as', (value, coefficient, exponent) => {
    expect(exactDecimal(value)).toEqual({ coefficient, exponent });
  });

  it('rejects non-finite numbers', () => {
    expect(() => exactDecimal(Infinity)).toThrow(RangeError);
    expect(() => exactDecimal(Number.NaN)).toThrow(RangeError);
  });

  it('adds and multiplies without rounding', () => {
    const sum = addExact(exactDecimal(0.1), exactDecimal(0.2));
    expect(ceilQuotient(sum, exactDecimal(0.3))).toBe(1n); // 0.1 + 0.2 is 0.30000000000000004 in doubles
    expect(ceilQuotient(multiplyExact(exactDecimal(0.7), exactDecimal(10)), exactDecimal(7))).toBe(
      1n,
    );
  });

  it('takes the ceiling of integer quotients like bigint arithmetic does', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 20n }),
        (top, bottom) => {
          const quotient = ceilQuotient(
            { coefficient: top, exponent: 0 },
            { coefficient: bottom, exponent: 0 },
          );
          expect(quotient * bottom >= top).toBe(true);
          expect((quotient - 1n) * bottom < top).toBe(true);
        },
      ),
    );
  });

  it('refuses a negative numerator or a zero denominator', () => {
    expect(() => ceilQuotient(exactDecimal(-1), exactDecimal(1))).toThrow(RangeError);
    expect(() => ceilQuotient(exactDecimal(1), exactDecimal(0))).toThrow(RangeError);
  });
});
