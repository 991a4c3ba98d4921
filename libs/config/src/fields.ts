// Field schemas whose every failure reads "expected <what>, got <value>", and the conversion
// of zod's issues into ConfigIssues. zod's default messages ("Invalid input") do not say what a
// v1 user should write instead; these do.
import * as z from 'zod';
import type { ConfigIssue } from './issues.js';

/** Describes a JSON value briefly for "got ..." (values are user input; keep them short). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

/** zod `error` option producing "expected <what>, got <value>" (or "required, expected ..."). */
export function expecting(expected: string): { error: (issue: { input?: unknown }) => string } {
  return {
    error: (issue) =>
      issue.input === undefined
        ? `missing; expected ${expected}`
        : `expected ${expected}, got ${describeValue(issue.input)}`,
  };
}

/** An integer in [min, max] (max optional). */
export function integer(min: number, max?: number) {
  const expected = max === undefined ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  const e = expecting(expected);
  const schema = z.number(e).int(e).min(min, e);
  return max === undefined ? schema : schema.max(max, e);
}

/** A number strictly greater than zero. */
export function positiveNumber() {
  const e = expecting('a number > 0');
  return z.number(e).positive(e);
}

/** true or false. */
export function boolean() {
  return z.boolean(expecting('true or false'));
}

/** A string; non-empty unless told otherwise. */
export function string(what = 'a non-empty string', options: { allowEmpty?: boolean } = {}) {
  const e = expecting(what);
  return options.allowEmpty ? z.string(e) : z.string(e).min(1, e);
}

/** A string matching `pattern`, described to the user as `what`. */
export function matching(pattern: RegExp, what: string) {
  const e = expecting(what);
  return z.string(e).regex(pattern, e);
}

/** One of `values`, compared case-insensitively; yields the lower-case value. */
export function caseInsensitiveEnum<const T extends string>(values: readonly T[]) {
  const e = expecting(values.map((v) => JSON.stringify(v)).join(' or '));
  return z
    .string(e)
    .refine((v) => (values as readonly string[]).includes(v.toLowerCase()), e)
    .transform((v) => v.toLowerCase() as T);
}

/** A JSON array of `element`. */
export function array<T extends z.ZodType>(element: T, what = 'an array') {
  return z.array(element, expecting(what));
}

/** A JSON object of string values (tags, properties, environment variables). */
export function stringMap(what = 'an object of string values') {
  return z.record(z.string(), z.string(expecting('a string')), expecting(what));
}

/** A JSON object with exactly these fields; unknown ones are reported one by one. */
export function object<S extends z.ZodRawShape>(shape: S) {
  return z.strictObject(shape, expecting('an object'));
}

/**
 * Closest allowed key to a mistyped one: same letters in another case, a shortened name
 * (`period` for `periodSeconds`), or an edit distance of at most 2.
 */
function suggestion(key: string, allowed: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const exact = allowed.find((a) => a.toLowerCase() === lower);
  if (exact) return exact;
  if (lower.length >= 3) {
    const prefixed = allowed.filter((a) => a.toLowerCase().startsWith(lower));
    if (prefixed.length === 1) return prefixed[0];
  }
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The parts of a zod schema definition this module walks through. */
interface SchemaDef {
  readonly type: string;
  readonly innerType?: z.core.$ZodType;
  readonly in?: z.core.$ZodType;
  readonly shape?: Readonly<Record<string, z.core.$ZodType>>;
  readonly element?: z.core.$ZodType;
  readonly valueType?: z.core.$ZodType;
}

const defOf = (schema: z.core.$ZodType): SchemaDef => schema._zod.def as unknown as SchemaDef;

/** The schema itself, through optional/nullable/default/pipe wrappers. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  const def = defOf(schema);
  const inner = def.type === 'pipe' ? def.in : def.innerType;
  return inner ? unwrap(inner) : schema;
}

/** Field names of the object schema at `path` inside `schema` (none when it is not one). */
function objectKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.core.$ZodType | undefined = schema;
  for (const segment of path) {
    if (!current) return [];
    const def = defOf(unwrap(current));
    current =
      def.type === 'object'
        ? def.shape?.[String(segment)]
        : def.type === 'array'
          ? def.element
          : def.type === 'record'
            ? def.valueType
            : undefined;
  }
  const def = current ? defOf(unwrap(current)) : undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** Joins a zod path as the dotted JSON path users see in messages. */
export function joinPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/**
 * Converts zod's issues into ConfigIssues: one issue per unknown key (with a suggestion), and
 * duplicates (several failed checks on one field give the same message) dropped.
 */
export function toConfigIssues(
  file: string,
  schema: z.ZodType,
  issues: readonly z.core.$ZodIssue[],
  hints: Readonly<Record<string, string>> = {},
): ConfigIssue[] {
  const result: ConfigIssue[] = [];
  const seen = new Set<string>();
  const add = (path: string, message: string) => {
    const key = `${path}\0${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    result.push({ file, path, message });
  };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const allowed = objectKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const path = joinPath([...issue.path, key]);
        const hint = hints[path];
        const close = suggestion(key, allowed);
        add(
          path,
          hint
            ? `unknown field; ${hint}`
            : close
              ? `unknown field; did you mean "${close}"?`
              : `unknown field; expected one of: ${allowed.join(', ')}`,
        );
      }
    } else add(joinPath(issue.path), issue.message);
  }
  return result;
}
