import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { InvalidArgumentError } from '@skiff/errors';
import type { WebserviceSpec } from '@skiff/proto';
import { skiffSchema } from '../rpc/descriptors.js';

type Fields = Record<string, unknown>;

function unknownPath(path: string, reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`update_mask: '${path}' ${reason}`, { field: 'update_mask' });
}

/**
 * The fields a mask path names, from the message's descriptor: each segment must be a field of
 * the message the previous one named (proto names, `deployment_config.auto_scaler`). Maps,
 * lists and messages outside skiff.v1 (Duration) are leaves: a path may name them, not go
 * into them.
 */
function resolve(root: DescMessage, path: string): DescField[] {
  const resolved: DescField[] = [];
  let message: DescMessage | undefined = root;
  for (const segment of path.split('.')) {
    if (!message) {
      const whole = resolved.at(-1)?.name ?? '';
      throw unknownPath(path, `goes into '${whole}', which a mask can only name whole`);
    }
    const field: DescField | undefined = message.fields.find((f) => f.name === segment);
    if (!field) {
      throw unknownPath(
        path,
        `is not a field of the webservice spec ('${segment}' is not in ${message.typeName})`,
      );
    }
    resolved.push(field);
    // A oneof member is stored under its group; masks name such a member whole.
    message =
      field.oneof === undefined &&
      field.fieldKind === 'message' &&
      field.message.typeName.startsWith('skiff.v1.')
        ? field.message
        : undefined;
  }
  return resolved;
}

/** The object at a message field (creating an empty one in `into` when `create`). */
function child(object: Fields | undefined, field: DescField, create: boolean): Fields | undefined {
  const value =
    object && Object.hasOwn(object, field.localName) ? object[field.localName] : undefined;
  if (typeof value === 'object' && value !== null) return value as Fields;
  if (!create || !object) return undefined;
  const fresh: Fields = {};
  object[field.localName] = fresh;
  return fresh;
}

/** Copies one field's value (its oneof group's, for a member) from `from` into `into`. */
function copyField(into: Fields, from: Fields | undefined, field: DescField): void {
  // ts-proto (oneof=unions) keeps a oneof's member under the group: { $case, [member]: value }.
  const key = field.oneof ? field.oneof.localName : field.localName;
  const present = (object: Fields | undefined): unknown => {
    const value = object && Object.hasOwn(object, key) ? object[key] : undefined;
    if (!field.oneof) return value;
    return (value as { $case?: unknown } | undefined)?.$case === field.localName
      ? value
      : undefined;
  };
  const value = present(from);
  if (value !== undefined) into[key] = structuredClone(value);
  else if (!field.oneof || present(into) !== undefined) delete into[key];
}

/**
 * Copies the fields named by `paths` (proto field names relative to the spec, e.g.
 * `models`, `deployment_config.auto_scaler.max_replicas`) from `patch` into a copy of
 * `current`. Paths are resolved against the WebserviceSpec descriptor, so a name every
 * JavaScript object has (`constructor`, `__proto__`) is an unknown field like any other:
 * INVALID_ARGUMENT naming the path.
 */
export function applyFieldMask(
  current: WebserviceSpec,
  patch: WebserviceSpec,
  paths: readonly string[],
): WebserviceSpec {
  const root = skiffSchema().getMessage('skiff.v1.WebserviceSpec');
  if (!root) throw new Error('skiff.v1.WebserviceSpec is missing from the descriptor set');
  const resolved = paths.map((path) => resolve(root, path));
  const result = structuredClone(current) as unknown as Fields;
  for (const fields of resolved) {
    let into = result;
    let from: Fields | undefined = patch as unknown as Fields;
    for (const field of fields.slice(0, -1)) {
      into = child(into, field, true) ?? {};
      from = child(from, field, false);
    }
    const last = fields.at(-1);
    if (last) copyField(into, from, last);
  }
  return result as unknown as WebserviceSpec;
}
