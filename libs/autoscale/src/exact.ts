// Exact decimal arithmetic for the few places where a float ceiling would be off by one
// replica: 7 / 0.7 is 10.000000000000002 in binary floating point, so Math.ceil says 11.
// Every number a caller writes (0.7, 12.5, 1e-3) is converted back to the decimal it was
// written as, and the ceiling is taken with bigint arithmetic on those decimals.

/** An exact decimal value: `coefficient × 10^exponent`. */
export interface ExactDecimal {
  readonly coefficient: bigint;
  readonly exponent: number;
}

const DECIMAL_TEXT = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/;

/**
 * The decimal a finite number stands for: `Number#toString` yields the shortest decimal that
 * reads back as the same double, which is the literal the caller wrote.
 */
export function exactDecimal(value: number): ExactDecimal {
  const match = Number.isFinite(value) ? DECIMAL_TEXT.exec(String(value)) : null;
  if (match === null) {
    throw new RangeError(`${String(value)} is not a finite number`);
  }
  const [, sign = '', whole = '0', fraction = '', exponent = '0'] = match;
  const magnitude = BigInt(whole + fraction);
  return {
    coefficient: sign === '-' ? -magnitude : magnitude,
    exponent: Number(exponent) - fraction.length,
  };
}

/** `a + b`, exactly. */
export function addExact(a: ExactDecimal, b: ExactDecimal): ExactDecimal {
  const exponent = Math.min(a.exponent, b.exponent);
  return {
    coefficient:
      scaleUp(a.coefficient, a.exponent - exponent) + scaleUp(b.coefficient, b.exponent - exponent),
    exponent,
  };
}

/** `a × b`, exactly. */
export function multiplyExact(a: ExactDecimal, b: ExactDecimal): ExactDecimal {
  return { coefficient: a.coefficient * b.coefficient, exponent: a.exponent + b.exponent };
}

/** `ceil(numerator / denominator)` for `numerator ≥ 0` and `denominator > 0`, exactly. */
export function ceilQuotient(numerator: ExactDecimal, denominator: ExactDecimal): bigint {
  if (numerator.coefficient < 0n || denominator.coefficient <= 0n) {
    throw new RangeError('ceilQuotient needs a non-negative numerator and a positive denominator');
  }
  const shift = numerator.exponent - denominator.exponent;
  const top = shift >= 0 ? scaleUp(numerator.coefficient, shift) : numerator.coefficient;
  const bottom = shift >= 0 ? denominator.coefficient : scaleUp(denominator.coefficient, -shift);
  return (top + bottom - 1n) / bottom;
}

function scaleUp(coefficient: bigint, powerOfTen: number): bigint {
  return powerOfTen === 0 ? coefficient : coefficient * 10n ** BigInt(powerOfTen);
}
