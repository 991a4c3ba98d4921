import { UnavailableError } from '@skiff/errors';
import type { Redis } from 'ioredis';

/**
 * Compare-and-set of a JSON record in a hash field, by its `revision` number: the write
 * happens only if the stored record still has the revision the caller read (0: absent) and,
 * when a guard field is given (KEYS[2] / ARGV[4]), that field still holds the value the caller
 * read ('' for absent). An empty value deletes the record's field.
 */
const CAS_JSON = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
local expected = tonumber(ARGV[2])
if current then
  if cjson.decode(current)['revision'] ~= expected then return 0 end
elseif expected ~= 0 then
  return 0
end
if #KEYS > 1 then
  local guard = redis.call('HGET', KEYS[2], ARGV[1]) or ''
  if guard ~= ARGV[4] then return 0 end
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 1
`;

type CasClient = Redis & {
  skiffCasJson(...keysThenArgs: [number, ...string[]]): Promise<number>;
};

/** Registers the script on `client` once and returns the typed client. */
export function withCas(client: Redis): CasClient {
  const typed = client as CasClient;
  if (typeof typed.skiffCasJson !== 'function') {
    // The number of keys is passed per call: 1 without a guard, 2 with one.
    client.defineCommand('skiffCasJson', { lua: CAS_JSON });
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

/**
 * Decides the next value of a record from the current one (undefined: absent) and, when the
 * caller named a guard field, that field's value (undefined: absent).
 */
export type Mutator<T> = (
  current: T | undefined,
  guard: string | undefined,
) => T | typeof UNCHANGED | typeof DELETE;

/** Options of {@link mutateJson}. */
export interface MutateOptions {
  /**
   * A field in another hash (same field name) read together with the record and checked
   * unchanged by the write, for state that outlives the record (a purged service's last
   * generation).
   */
  guardKey?: string;
  /** Attempts before giving up with UnavailableError (default 100). */
  maxAttempts?: number;
}

/**
 * Read-modify-write of one JSON record with optimistic concurrency: retries when another
 * writer got there first, with jittered exponential backoff (up to 50 ms a wait) so many
 * concurrent writers of one record spread out instead of colliding in lockstep. Returns the
 * record as stored afterwards (undefined when deleted or absent).
 * @throws UnavailableError when contention outlasts every attempt (retryable by the caller)
 */
export async function mutateJson<T extends Revisioned>(
  client: Redis,
  key: string,
  field: string,
  mutate: Mutator<T>,
  options: MutateOptions = {},
): Promise<T | undefined> {
  const cas = withCas(client);
  const { guardKey } = options;
  const maxAttempts = options.maxAttempts ?? 100;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    if (attempt > 0) await sleep(Math.random() * Math.min(50, 2 ** attempt));
    const [raw, guard] = guardKey
      ? await readTogether(client, key, guardKey, field)
      : [await client.hget(key, field), null];
    const current = raw === null ? undefined : (JSON.parse(raw) as T);
    const next = mutate(current, guard ?? undefined);
    if (next === UNCHANGED) return current;
    const expected = String(current?.revision ?? 0);
    const value =
      next === DELETE ? '' : JSON.stringify({ ...next, revision: (current?.revision ?? 0) + 1 });
    const written = guardKey
      ? await cas.skiffCasJson(2, key, guardKey, field, expected, value, guard ?? '')
      : await cas.skiffCasJson(1, key, field, expected, value);
    if (written === 1) return next === DELETE ? undefined : (JSON.parse(value) as T);
  }
  throw new UnavailableError(
    `too many concurrent changes to '${field}' (${maxAttempts} attempts); retry shortly`,
  );
}

/** The record and its guard field as of one instant (MULTI), so neither is older. */
async function readTogether(
  client: Redis,
  key: string,
  guardKey: string,
  field: string,
): Promise<[string | null, string | null]> {
  const replies = await client.multi().hget(key, field).hget(guardKey, field).exec();
  const values = (replies ?? []).map(([error, value]) => {
    if (error) throw error;
    return value as string | null;
  });
  return [values[0] ?? null, values[1] ?? null];
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
