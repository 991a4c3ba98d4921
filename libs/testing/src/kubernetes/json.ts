// Plain-JSON helpers for objects as the fake stores them: what went over the wire, never class
// instances, so a stored object serializes back exactly as the real API server would send it.

/** A JSON object as it travels over the Kubernetes API. */
export type JsonObject = { [key: string]: unknown };

/** Whether `value` is a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep copy (objects in the store are never shared with callers). */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** JSON with object keys sorted: equal content gives equal text, whatever the key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const key of Object.keys(value).sort()) {
    if (value[key] !== undefined) out[key] = sortKeys(value[key]);
  }
  return out;
}

/** Whether two JSON values have the same content. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** The object at `key` of `parent`, created empty when absent. */
export function child(parent: JsonObject, key: string): JsonObject {
  const existing = parent[key];
  if (isObject(existing)) return existing;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

/** The object at `key`, or undefined. */
export function objectAt(parent: unknown, key: string): JsonObject | undefined {
  if (!isObject(parent)) return undefined;
  const value = parent[key];
  return isObject(value) ? value : undefined;
}

/** The array at `key`, or an empty one. */
export function arrayAt(parent: unknown, key: string): unknown[] {
  if (!isObject(parent)) return [];
  const value = parent[key];
  return Array.isArray(value) ? value : [];
}

/** The string at `key`, or undefined. */
export function stringAt(parent: unknown, key: string): string | undefined {
  if (!isObject(parent)) return undefined;
  const value = parent[key];
  return typeof value === 'string' ? value : undefined;
}

/** The number at `key`, or undefined. */
export function numberAt(parent: unknown, key: string): number | undefined {
  if (!isObject(parent)) return undefined;
  const value = parent[key];
  return typeof value === 'number' ? value : undefined;
}

/** A string-to-string map at `key` (labels, annotations, selectors), empty when absent. */
export function stringMapAt(parent: unknown, key: string): Record<string, string> {
  const value = objectAt(parent, key);
  const out: Record<string, string> = {};
  if (!value) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The object's metadata (created when absent). */
export function meta(object: JsonObject): JsonObject {
  return child(object, 'metadata');
}

/** metadata.name, or ''. */
export function nameOf(object: unknown): string {
  return stringAt(objectAt(object, 'metadata'), 'name') ?? '';
}

/** metadata.namespace, or ''. */
export function namespaceOf(object: unknown): string {
  return stringAt(objectAt(object, 'metadata'), 'namespace') ?? '';
}

/** Time as the API writes metav1.Time: RFC 3339, whole seconds. */
export function apiTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
