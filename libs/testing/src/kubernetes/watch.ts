// Watch semantics of the API server: replay from a resourceVersion (or the current state as
// ADDED when none is given), selector transitions as ADDED/DELETED, BOOKMARK events, and an
// ERROR event with a 410 Status when the requested version is older than the history kept.
import { expired } from './status.js';
import { clone, namespaceOf, objectAt, stringMapAt, type JsonObject } from './json.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import {
  matchesFields,
  matchesLabels,
  type FieldRequirement,
  type LabelRequirement,
} from './selectors.js';
import type { ObjectStore, StoreEvent } from './store.js';

/** One line of a watch stream. */
export interface WireEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  readonly object: JsonObject;
}

/** What a watch is about. */
export interface WatchFilter {
  readonly resource: ResourceType;
  readonly namespace: string | undefined;
  readonly labels: readonly LabelRequirement[];
  readonly fields: readonly FieldRequirement[];
}

/** Whether `object` is in the set the filter describes. */
export function inFilter(filter: WatchFilter, object: JsonObject | undefined): boolean {
  if (!object) return false;
  if (filter.namespace !== undefined && namespaceOf(object) !== filter.namespace) return false;
  return (
    matchesLabels(filter.labels, stringMapAt(objectAt(object, 'metadata'), 'labels')) &&
    matchesFields(filter.fields, object)
  );
}

/**
 * The event a filtered watch sees for a store event: an object entering the filter is ADDED,
 * one leaving it is DELETED (as the API server's watch cache reports selector transitions).
 */
export function filterEvent(filter: WatchFilter, event: StoreEvent): WireEvent | undefined {
  if (event.resource !== filter.resource) return undefined;
  const now = event.type !== 'DELETED' && inFilter(filter, event.object);
  const before = event.type !== 'ADDED' && inFilter(filter, event.previous);
  if (event.type === 'DELETED')
    return before ? { type: 'DELETED', object: event.object } : undefined;
  if (now && before) return { type: 'MODIFIED', object: event.object };
  if (now) return { type: 'ADDED', object: event.object };
  if (before) {
    const gone = clone(event.object);
    return { type: 'DELETED', object: gone };
  }
  return undefined;
}

/** A BOOKMARK event at the store's current version. */
export function bookmark(resource: ResourceType, resourceVersion: number): WireEvent {
  return {
    type: 'BOOKMARK',
    object: {
      kind: resource.kind,
      apiVersion: apiVersionOf(resource),
      metadata: { resourceVersion: String(resourceVersion) },
    },
  };
}

/** The ERROR event the API server sends when a watch starts from a forgotten version. */
export function tooOld(requested: number, oldest: number): WireEvent {
  return {
    type: 'ERROR',
    object: expired(`too old resource version: ${requested} (${oldest})`).toStatus(),
  };
}

/**
 * The events a new watch starts with: the current objects as ADDED when `resourceVersion` is
 * absent or "0", else the history after it; an ERROR 410 when that history is gone.
 */
export function initialEvents(
  store: ObjectStore,
  filter: WatchFilter,
  resourceVersion: string | undefined,
): WireEvent[] {
  if (resourceVersion === undefined || resourceVersion === '' || resourceVersion === '0') {
    return store
      .list(filter.resource, filter.namespace)
      .filter((o) => inFilter(filter, o))
      .map((object) => ({ type: 'ADDED', object }));
  }
  const requested = Number(resourceVersion);
  const events = Number.isFinite(requested) ? store.eventsAfter(requested) : undefined;
  if (!events) return [tooOld(requested, store.compactedThrough + 1)];
  return events.flatMap((e) => {
    const wire = filterEvent(filter, e);
    return wire ? [wire] : [];
  });
}
