import type { Redis } from 'ioredis';

/**
 * Compare-and-set of a JSON record in a hash field, by its `revision` number: the write
 * happens only if the stored record still has the revision the caller read (0: absent).
 * An empty value deletes the field.
 */
const CAS_JSON = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
local expected = tonumber(ARGV[2])
if current then
  if cjson.decode(current)['revision'] ~= expected then return 0 end
elseif expected ~= 0 then
  return 0
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 1
`;

type CasClient = Redis & {
  skiffCasJson(key: string, field: string, expected: string, value: string): Promise<number>;
};

/** Registers the script on `client` once and returns the typed client. */
export function withCas(client: Redis): CasClient {
  const typed = client as CasClient;
  if (typeof typed.skiffCasJson !== 'function') {
    client.defineCommand('skiffCasJson', { numberOfKeys: 1, lua: CAS_JSON });
  }
  return typed;
}

/** A record versioned for compare-and-set. */
export interface Revisioned {
  /** Increments on every write; 1 for a new record. */
  revision: number;
}

/** Returned by a mutator to leave the record as it is. */
export const UNCHANGED: unique symbol = Symbol('unchanged');
/** Returned by a mutator to delete the record. */
export const DELETE: unique symbol = Symbol('delete');

/** Decides the next value of a record from the current one (undefined: absent). */
export type Mutator<T> = (current: T | undefined) => T | typeof UNCHANGED | typeof DELETE;

/**
 * Read-modify-write of one JSON record with optimistic concurrency: retries when another
 * writer got there first, so concurrent deploys of one service serialize on its revision.
 * Returns the record as stored afterwards (undefined when deleted or absent).
 */
export async function mutateJson<T extends Revisioned>(
  client: Redis,
  key: string,
  field: string,
  mutate: Mutator<T>,
  maxAttempts = 50,
): Promise<T | undefined> {
  const cas = withCas(client);
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const raw = await client.hget(key, field);
    const current = raw === null ? undefined : (JSON.parse(raw) as T);
    const next = mutate(current);
    if (next === UNCHANGED) return current;
    const expected = String(current?.revision ?? 0);
    const value =
      next === DELETE ? '' : JSON.stringify({ ...next, revision: (current?.revision ?? 0) + 1 });
    if ((await cas.skiffCasJson(key, field, expected, value)) === 1) {
      return next === DELETE ? undefined : (JSON.parse(value) as T);
    }
  }
  throw new Error(`too much write contention on ${key} ${field}`);
}
