import type { Redis } from 'ioredis';

/** A stream entry's fields as a flat [k, v, k, v] list, turned into a record. */
export function fieldsOf(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i] ?? ''] = flat[i + 1] ?? '';
  return out;
}

/** Entries after `afterId` (exclusive), oldest first. */
export async function rangeAfter(
  redis: Redis,
  key: string,
  afterId: string,
  count: number,
): Promise<Array<[string, Record<string, string>]>> {
  const start = afterId === '' || afterId === '0' ? '-' : `(${afterId}`;
  const entries = await redis.xrange(key, start, '+', 'COUNT', count);
  return entries.map(([id, flat]) => [id, fieldsOf(flat)]);
}
