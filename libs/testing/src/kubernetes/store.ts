// Every object of the fake cluster, one resourceVersion counter for all of them (as etcd's
// revision), and a bounded window of change events that watches replay from.
import { canonical, clone, meta, nameOf, namespaceOf, type JsonObject } from './json.js';
import { apiVersionOf, type ResourceType } from './resources.js';

/** What happened to an object. */
export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One change, as watches see it. */
export interface StoreEvent {
  readonly type: StoreEventType;
  readonly resourceVersion: number;
  readonly resource: ResourceType;
  /** The object after the change; for DELETED, its last state at the deletion's version. */
  readonly object: JsonObject;
  /** The object before the change (undefined for ADDED). */
  readonly previous: JsonObject | undefined;
}

function typeKey(type: ResourceType): string {
  return `${type.group}/${type.plural}`;
}

function withoutVersion(object: JsonObject): string {
  const copy = clone(object);
  delete meta(copy)['resourceVersion'];
  delete meta(copy)['managedFields'];
  return canonical(copy);
}

/** The objects of the fake cluster and their change history. */
export class ObjectStore {
  readonly #objects = new Map<string, Map<string, JsonObject>>();
  readonly #history: StoreEvent[] = [];
  readonly #journal: StoreEvent[] = [];
  readonly #listeners = new Set<(event: StoreEvent) => void>();
  #resourceVersion = 100;
  #compactedThrough = 100;

  /** @param historyLimit change events kept for watches; older resourceVersions get 410. */
  constructor(readonly historyLimit: number) {}

  /** The newest resourceVersion handed out. */
  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  /** Watches from a version older than this one get 410 Gone. */
  get compactedThrough(): number {
    return this.#compactedThrough;
  }

  /** Every change since the store was created (unbounded; for test assertions). */
  get journal(): readonly StoreEvent[] {
    return this.#journal;
  }

  #bucket(type: ResourceType): Map<string, JsonObject> {
    const key = typeKey(type);
    let bucket = this.#objects.get(key);
    if (!bucket) {
      bucket = new Map();
      this.#objects.set(key, bucket);
    }
    return bucket;
  }

  /** A copy of the object, or undefined. */
  get(type: ResourceType, namespace: string, name: string): JsonObject | undefined {
    const found = this.#bucket(type).get(`${namespace}/${name}`);
    return found ? clone(found) : undefined;
  }

  /** Copies of the objects of `type` (in `namespace`, or all), ordered by namespace and name. */
  list(type: ResourceType, namespace?: string): JsonObject[] {
    return [...this.#bucket(type).entries()]
      .filter(([, o]) => namespace === undefined || namespaceOf(o) === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => clone(o));
  }

  #stamp(type: ResourceType, object: JsonObject): JsonObject {
    const copy = clone(object);
    copy['apiVersion'] = apiVersionOf(type);
    copy['kind'] = type.kind;
    meta(copy)['resourceVersion'] = String(++this.#resourceVersion);
    return copy;
  }

  /** Stores a new object (the caller checked it does not exist) and returns it as stored. */
  create(type: ResourceType, object: JsonObject): JsonObject {
    const stored = this.#stamp(type, object);
    this.#bucket(type).set(`${namespaceOf(stored)}/${nameOf(stored)}`, stored);
    this.#emit({
      type: 'ADDED',
      resourceVersion: this.#resourceVersion,
      resource: type,
      object: clone(stored),
      previous: undefined,
    });
    return clone(stored);
  }

  /**
   * Replaces an existing object. An update that changes nothing is a no-op that keeps the
   * resourceVersion, as on a real server.
   */
  replace(type: ResourceType, object: JsonObject): JsonObject {
    const key = `${namespaceOf(object)}/${nameOf(object)}`;
    const previous = this.#bucket(type).get(key);
    if (!previous) throw new Error(`replace of a missing object ${key}`);
    const candidate = clone(object);
    candidate['apiVersion'] = apiVersionOf(type);
    candidate['kind'] = type.kind;
    if (withoutVersion(candidate) === withoutVersion(previous)) return clone(previous);
    const stored = this.#stamp(type, candidate);
    this.#bucket(type).set(key, stored);
    this.#emit({
      type: 'MODIFIED',
      resourceVersion: this.#resourceVersion,
      resource: type,
      object: clone(stored),
      previous: clone(previous),
    });
    return clone(stored);
  }

  /** Removes an object; returns its last state (at the deletion's resourceVersion). */
  remove(type: ResourceType, namespace: string, name: string): JsonObject | undefined {
    const bucket = this.#bucket(type);
    const previous = bucket.get(`${namespace}/${name}`);
    if (!previous) return undefined;
    bucket.delete(`${namespace}/${name}`);
    const last = this.#stamp(type, previous);
    this.#emit({
      type: 'DELETED',
      resourceVersion: this.#resourceVersion,
      resource: type,
      object: clone(last),
      previous: clone(previous),
    });
    return last;
  }

  /** Events after `resourceVersion`, or undefined when some of them were already forgotten. */
  eventsAfter(resourceVersion: number): StoreEvent[] | undefined {
    if (resourceVersion < this.#compactedThrough) return undefined;
    return this.#history.filter((e) => e.resourceVersion > resourceVersion);
  }

  /** Forgets every event so far, as etcd compaction does: older versions get 410 Gone. */
  compact(): void {
    this.#history.length = 0;
    this.#compactedThrough = this.#resourceVersion;
  }

  /** Calls `listener` synchronously after every change; returns the unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: StoreEvent): void {
    this.#history.push(event);
    this.#journal.push(event);
    while (this.#history.length > this.historyLimit) {
      const dropped = this.#history.shift();
      if (dropped) this.#compactedThrough = dropped.resourceVersion;
    }
    for (const listener of [...this.#listeners]) listener(event);
  }
}
