import { afterEach, describe, expect, it } from 'vitest';
import { isolatedRedis, type IsolatedRedis } from './index.js';

describe('isolatedRedis', () => {
  let redis: IsolatedRedis | undefined;
  afterEach(async () => redis?.cleanup());

  it('prefixes keys and removes them on cleanup', async () => {
    redis = isolatedRedis();
    await redis.client.set('k', 'v');
    const other = isolatedRedis();
    expect(await other.client.get('k')).toBeNull();
    expect(await redis.client.get('k')).toBe('v');
    await other.cleanup();
  });
});
