// Label and field selectors with the API server's grammar: `a=b,c!=d,e in (f,g),!h` and
// `spec.nodeName=node-1`. A malformed selector is a 400, as on a real cluster.
import { badRequest } from './status.js';
import { isObject, stringMapAt, type JsonObject } from './json.js';

/** One requirement of a label selector. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: 'exists' | 'notexists' | 'equals' | 'notequals' | 'in' | 'notin';
  readonly values: readonly string[];
}

/** One requirement of a field selector. */
export interface FieldRequirement {
  readonly field: string;
  readonly operator: 'equals' | 'notequals';
  readonly value: string;
}

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside `( )`. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function checkKey(key: string, selector: string): string {
  if (!LABEL_KEY.test(key) || key.length > 317) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${selector}"`);
  }
  return key;
}

function checkValue(value: string, selector: string): string {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    throw badRequest(
      `unable to parse requirement: invalid label value "${value}" in "${selector}"`,
    );
  }
  return value;
}

/** Parses a `labelSelector` query parameter; throws a 400 ApiError when malformed. */
export function parseLabelSelector(selector: string | undefined): LabelRequirement[] {
  if (!selector) return [];
  return splitTopLevel(selector).map((part): LabelRequirement => {
    const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part);
    if (set) {
      const values = (set[3] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '')
        .map((v) => checkValue(v, selector));
      return {
        key: checkKey(set[1] ?? '', selector),
        operator: set[2] === 'in' ? 'in' : 'notin',
        values,
      };
    }
    const comparison = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (comparison) {
      return {
        key: checkKey(comparison[1] ?? '', selector),
        operator: comparison[2] === '!=' ? 'notequals' : 'equals',
        values: [checkValue(comparison[3] ?? '', selector)],
      };
    }
    if (part.startsWith('!')) {
      return { key: checkKey(part.slice(1).trim(), selector), operator: 'notexists', values: [] };
    }
    if (/^\S+$/.test(part))
      return { key: checkKey(part, selector), operator: 'exists', values: [] };
    throw badRequest(`unable to parse requirement: "${part}" in "${selector}"`);
  });
}

/** The requirements of a metav1.LabelSelector object (`matchLabels` + `matchExpressions`). */
export function labelSelectorRequirements(selector: unknown): LabelRequirement[] {
  const requirements: LabelRequirement[] = Object.entries(stringMapAt(selector, 'matchLabels')).map(
    ([key, value]) => ({ key, operator: 'equals', values: [value] }),
  );
  const expressions = isObject(selector) ? selector['matchExpressions'] : undefined;
  if (Array.isArray(expressions)) {
    for (const e of expressions) {
      if (!isObject(e)) continue;
      const values = Array.isArray(e['values']) ? e['values'].map(String) : [];
      const key = String(e['key'] ?? '');
      const op = String(e['operator'] ?? '');
      const operator =
        op === 'In' ? 'in' : op === 'NotIn' ? 'notin' : op === 'Exists' ? 'exists' : 'notexists';
      requirements.push({ key, operator, values });
    }
  }
  return requirements;
}

/** `a=b,c in (d)`: a metav1.LabelSelector as query text (Scale's status.selector). */
export function formatLabelSelector(requirements: readonly LabelRequirement[]): string {
  return requirements
    .map((r) => {
      switch (r.operator) {
        case 'equals':
          return `${r.key}=${r.values[0] ?? ''}`;
        case 'notequals':
          return `${r.key}!=${r.values[0] ?? ''}`;
        case 'in':
          return `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return `${r.key} notin (${r.values.join(',')})`;
        case 'exists':
          return r.key;
        case 'notexists':
          return `!${r.key}`;
      }
    })
    .join(',');
}

/** Whether `labels` satisfy every requirement. */
export function matchesLabels(
  requirements: readonly LabelRequirement[],
  labels: Readonly<Record<string, string>>,
): boolean {
  return requirements.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    switch (r.operator) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'equals':
        return has && value === r.values[0];
      case 'notequals':
        return !has || value !== r.values[0];
      case 'in':
        return has && value !== undefined && r.values.includes(value);
      case 'notin':
        return !has || value === undefined || !r.values.includes(value);
    }
  });
}

/** Parses a `fieldSelector`; only `supported` fields are allowed (the rest is a 400). */
export function parseFieldSelector(
  selector: string | undefined,
  supported: ReadonlySet<string>,
): FieldRequirement[] {
  if (!selector) return [];
  return splitTopLevel(selector).map((part): FieldRequirement => {
    const match = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (!match) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = match[1] ?? '';
    if (!supported.has(field)) throw badRequest(`field label not supported: ${field}`);
    return {
      field,
      operator: match[2] === '!=' ? 'notequals' : 'equals',
      value: (match[3] ?? '').trim(),
    };
  });
}

/** The value of a dotted field path (`spec.nodeName`), '' when absent. */
export function fieldValue(object: JsonObject, field: string): string {
  let current: unknown = object;
  for (const part of field.split('.')) current = isObject(current) ? current[part] : undefined;
  return current === undefined || current === null ? '' : String(current);
}

/** Whether `object` satisfies every field requirement. */
export function matchesFields(
  requirements: readonly FieldRequirement[],
  object: JsonObject,
): boolean {
  return requirements.every((r) =>
    r.operator === 'equals'
      ? fieldValue(object, r.field) === r.value
      : fieldValue(object, r.field) !== r.value,
  );
}
