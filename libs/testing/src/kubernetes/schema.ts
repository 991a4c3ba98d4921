// Two checks against the official OpenAPI schema, from two independent generations of it:
// - unknown fields (what `fieldValidation=Strict` refuses) by walking the attribute maps that
//   @kubernetes/client-node generated from the schema — kubernetes-models' JSON schemas allow
//   additional properties, so they cannot tell;
// - value validation (types, required fields, formats such as quantities) with
//   kubernetes-models, the way the brief and ARCHITECTURE.md ask every manifest to be checked.
import * as k8s from '@kubernetes/client-node';
import { isObject } from './json.js';
import type { StatusCause } from './status.js';

interface AttributeType {
  readonly baseName: string;
  readonly type: string;
}

interface GeneratedModel {
  getAttributeTypeMap(): readonly AttributeType[];
}

const models = k8s as unknown as Readonly<Record<string, unknown>>;

function generatedModel(type: string): GeneratedModel | undefined {
  const candidate = models[type];
  if (typeof candidate !== 'function') return undefined;
  const model = candidate as unknown as Partial<GeneratedModel>;
  return typeof model.getAttributeTypeMap === 'function' ? (model as GeneratedModel) : undefined;
}

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/**
 * The paths of fields in `value` that type `type` (a client-node model name such as
 * `V1Deployment`) does not declare, as `spec.template.spec.containers[0].bogus`.
 */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  const array = ARRAY.exec(type);
  if (array) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((item, i) => unknownFields(item, array[1] ?? 'any', `${path}[${i}]`));
  }
  const map = MAP.exec(type);
  if (map) {
    if (!isObject(value)) return [];
    return Object.entries(value).flatMap(([key, item]) =>
      unknownFields(item, map[1] ?? 'any', path ? `${path}.${key}` : key),
    );
  }
  const model = generatedModel(type);
  if (!model || !isObject(value)) return [];
  const declared = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  const found: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    const fieldPath = path ? `${path}.${key}` : key;
    const fieldType = declared.get(key);
    if (fieldType === undefined) found.push(fieldPath);
    else found.push(...unknownFields(item, fieldType, fieldPath));
  }
  return found;
}

/** Removes the fields at `paths` (as {@link unknownFields} names them) from `value`. */
export function dropFields(value: unknown, paths: readonly string[]): void {
  for (const path of paths) {
    const parts = path.match(/[^.[\]]+/g) ?? [];
    let current: unknown = value;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i] ?? '';
      current = Array.isArray(current)
        ? current[Number(part)]
        : isObject(current)
          ? current[part]
          : undefined;
    }
    const last = parts[parts.length - 1];
    if (isObject(current) && last !== undefined) delete current[last];
  }
}

/** A kubernetes-models class: constructed from plain data, `validate()` throws when invalid. */
export type ValidatingModel = new (data: never) => { validate(): void };

interface AjvError {
  readonly instancePath?: string;
  readonly keyword?: string;
  readonly message?: string;
  readonly params?: { readonly missingProperty?: string };
}

/** `/spec/template/spec/containers/0/name` → `spec.template.spec.containers[0].name`. */
function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .filter((p) => p !== '')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce(
      (path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part),
      '',
    );
}

/**
 * Validates `object` with a kubernetes-models class and returns one cause per invalid field
 * (kubernetes-models reports a quantity three times — number, format, oneOf — merged here).
 */
export function schemaCauses(model: ValidatingModel, object: unknown): StatusCause[] {
  try {
    new model(object as never).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: readonly AjvError[] }).errors;
    if (!Array.isArray(errors)) {
      return [{ reason: 'FieldValueInvalid', field: '', message: String(error) }];
    }
    const byField = new Map<string, StatusCause>();
    for (const e of errors) {
      const base = fieldPath(e.instancePath ?? '');
      if (e.keyword === 'required' && e.params?.missingProperty) {
        const field = base ? `${base}.${e.params.missingProperty}` : e.params.missingProperty;
        byField.set(field, { reason: 'FieldValueRequired', field, message: 'Required value' });
      } else if (!byField.has(base)) {
        byField.set(base, {
          reason: 'FieldValueInvalid',
          field: base,
          message: `Invalid value: ${e.message ?? 'does not match the schema'}`,
        });
      }
    }
    return [...byField.values()];
  }
}
