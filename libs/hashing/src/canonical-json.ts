/** A value that canonical JSON can encode: what the normalizers produce. */
export type CanonicalValue =
  null | boolean | string | readonly CanonicalValue[] | { readonly [key: string]: CanonicalValue };

/**
 * Encodes `value` as canonical JSON: object keys sorted by UTF-16 code units (as RFC 8785
 * does), no insignificant whitespace, strings escaped as `JSON.stringify` escapes them. Numbers
 * are deliberately not accepted: the normalizers keep every scalar as the text the user wrote,
 * so `3.10` never turns into `3.1`.
 */
export function canonicalJson(value: CanonicalValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] ?? null)}`).join(',')}}`;
}

// Array.isArray does not narrow readonly arrays out of a union.
function isArray(value: CanonicalValue): value is readonly CanonicalValue[] {
  return Array.isArray(value);
}
