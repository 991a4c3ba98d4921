// @peculiar/x509 registers its algorithms through tsyringe, which refuses to load without
// the Reflect metadata API and only needs define/get(Own)Metadata on classes. This is the
// smallest version of that API, so tests need no extra package. Import it before the library.
type MetadataTarget = object;
const store = new WeakMap<MetadataTarget, Map<unknown, unknown>>();
const reflect = Reflect as unknown as Record<string, unknown>;

if (typeof reflect['getMetadata'] !== 'function') {
  const getOwn = (key: unknown, target: MetadataTarget): unknown => store.get(target)?.get(key);
  reflect['defineMetadata'] = (key: unknown, value: unknown, target: MetadataTarget): void => {
    const entries = store.get(target) ?? new Map<unknown, unknown>();
    entries.set(key, value);
    store.set(target, entries);
  };
  reflect['getOwnMetadata'] = getOwn;
  reflect['getMetadata'] = (key: unknown, target: MetadataTarget): unknown => {
    for (
      let current: MetadataTarget | null = target;
      current !== null;
      current = Object.getPrototypeOf(current) as MetadataTarget | null
    ) {
      const value = getOwn(key, current);
      if (value !== undefined) return value;
    }
    return undefined;
  };
}

export {};
