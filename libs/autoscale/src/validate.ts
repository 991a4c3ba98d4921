// Argument checks shared by the sizing functions and the policy. Every message names the
// parameter, because these values come from users' deploymentconfig.json files.

/** Throws a RangeError unless `value` is a finite number ≥ `min` (and ≤ `max` when given). */
export function requireNumber(name: string, value: unknown, min: number, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range =
      max === Infinity ? `a finite number ≥ ${min}` : `a number between ${min} and ${max}`;
    throw new RangeError(`${name} must be ${range}, got ${describe(value)}`);
  }
  return value;
}

/** Throws a RangeError unless `value` is a finite number > 0. */
export function requirePositive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a finite number > 0, got ${describe(value)}`);
  }
  return value;
}

/** Throws a RangeError unless `value` is a safe integer ≥ `min`. */
export function requireCount(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
