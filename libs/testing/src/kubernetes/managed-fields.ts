// metadata.managedFields entries in the FieldsV1 shape (`f:` keys). Lists are recorded as one
// field each, matching the fake's atomic treatment of lists in server-side apply.
import { apiTime, isObject, type JsonObject } from './json.js';

function fieldSet(value: JsonObject): JsonObject {
  const set: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    set[`f:${key}`] = isObject(item) ? fieldSet(item) : {};
  }
  return set;
}

/** One managedFields entry for `manager` having written `fields` with `operation`. */
export function managedFieldsEntry(
  manager: string,
  operation: 'Apply' | 'Update',
  apiVersion: string,
  fields: JsonObject,
  subresource?: string,
): JsonObject {
  const owned: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'status') continue;
    if (key === 'metadata' && isObject(value)) {
      const metadata: JsonObject = {};
      for (const k of ['labels', 'annotations']) {
        const v = value[k];
        if (isObject(v)) metadata[k] = v;
      }
      if (Object.keys(metadata).length > 0) owned['metadata'] = metadata;
      continue;
    }
    owned[key] = value;
  }
  const entry: JsonObject = {
    manager,
    operation,
    apiVersion,
    time: apiTime(),
    fieldsType: 'FieldsV1',
    fieldsV1: fieldSet(owned),
  };
  if (subresource) entry['subresource'] = subresource;
  return entry;
}

/** `entries` with the entry of the same manager, operation and subresource replaced. */
export function upsertManagedFields(entries: unknown, entry: JsonObject): JsonObject[] {
  const list = Array.isArray(entries) ? entries.filter(isObject) : [];
  const same = (e: JsonObject) =>
    e['manager'] === entry['manager'] &&
    e['operation'] === entry['operation'] &&
    (e['subresource'] ?? '') === (entry['subresource'] ?? '');
  return [...list.filter((e) => !same(e)), entry];
}
