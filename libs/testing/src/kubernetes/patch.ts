// Patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and server-side apply as one
// field manager sees it. Strategic merge patch is refused (415) rather than imitated.
import { badRequest } from './status.js';
import { clone, isObject, type JsonObject } from './json.js';

/** RFC 7386: `null` removes, objects merge, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`invalid JSON pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(root: unknown, parts: readonly string[]): unknown {
  let current = root;
  for (const part of parts.slice(0, -1)) {
    current = Array.isArray(current)
      ? current[Number(part)]
      : isObject(current)
        ? current[part]
        : undefined;
    if (current === undefined) throw badRequest(`jsonpatch: path not found: /${parts.join('/')}`);
  }
  return current;
}

/** RFC 6902 `add`, `remove`, `replace` and `test`. */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations))
    throw badRequest('json patch body must be an array of operations');
  const root = { value: clone(target) };
  for (const op of operations) {
    if (!isObject(op) || typeof op['path'] !== 'string')
      throw badRequest('invalid json patch operation');
    const parts = ['value', ...pointer(op['path'])];
    const parent = parentOf(root, parts);
    const last = parts[parts.length - 1] ?? '';
    const current = Array.isArray(parent)
      ? parent[last === '-' ? parent.length : Number(last)]
      : isObject(parent)
        ? parent[last]
        : undefined;
    switch (op['op']) {
      case 'add':
        if (Array.isArray(parent))
          parent.splice(last === '-' ? parent.length : Number(last), 0, clone(op['value']));
        else if (isObject(parent)) parent[last] = clone(op['value']);
        break;
      case 'replace':
        if (current === undefined)
          throw badRequest(
            `jsonpatch replace operation does not apply: doc is missing key: ${op['path']}`,
          );
        if (Array.isArray(parent)) parent[Number(last)] = clone(op['value']);
        else if (isObject(parent)) parent[last] = clone(op['value']);
        break;
      case 'remove':
        if (current === undefined)
          throw badRequest(
            `jsonpatch remove operation does not apply: doc is missing path: ${op['path']}`,
          );
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else if (isObject(parent)) delete parent[last];
        break;
      case 'test':
        if (JSON.stringify(current) !== JSON.stringify(op['value']))
          throw badRequest(`testing value ${op['path']} failed`);
        break;
      default:
        throw badRequest(`unsupported json patch operation: ${String(op['op'])}`);
    }
  }
  return root.value;
}

/**
 * Removes from `live` every field `previous` set and `next` no longer sets: with one field
 * manager, a field left out of the next apply is a field the manager gives up. Lists count as
 * one field each (atomic): they are never merged item by item.
 */
function removeAbandoned(live: JsonObject, previous: JsonObject, next: JsonObject): void {
  for (const [key, value] of Object.entries(previous)) {
    if (!(key in next)) {
      delete live[key];
      continue;
    }
    const liveValue = live[key];
    const nextValue = next[key];
    if (isObject(value) && isObject(nextValue) && isObject(liveValue))
      removeAbandoned(liveValue, value, nextValue);
  }
}

/** Objects merge key by key; lists and scalars are replaced by what was applied. */
function overlay(live: JsonObject, applied: JsonObject): void {
  for (const [key, value] of Object.entries(applied)) {
    const liveValue = live[key];
    if (isObject(value) && isObject(liveValue)) overlay(liveValue, value);
    else live[key] = clone(value);
  }
}

/**
 * Server-side apply for a single field manager: the result is `live` with the fields the
 * manager applied last time but not now removed, and `applied` laid over it.
 */
export function serverSideApply(
  live: JsonObject,
  previous: JsonObject | undefined,
  applied: JsonObject,
): JsonObject {
  const result = clone(live);
  if (previous) removeAbandoned(result, previous, applied);
  overlay(result, applied);
  return result;
}
