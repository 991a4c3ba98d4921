// vitest globalSetup: one real Redis for the whole run, shared by every project that asks for
// it. Vitest may load this module once per project, so the shared state lives on globalThis.
import type { TestProject } from 'vitest/node';
import { provideTestRedis, type TestRedis } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

interface Shared {
  redis: Promise<TestRedis>;
  users: number;
}

const KEY = Symbol.for('skiff.testing.redis');
const holder = globalThis as unknown as Record<symbol, Shared | undefined>;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let shared = holder[KEY];
  if (!shared) {
    shared = { redis: provideTestRedis(), users: 0 };
    holder[KEY] = shared;
  }
  shared.users += 1;
  const redis = await shared.redis;
  project.provide('redisUrl', redis.url);
  return async () => {
    const current = holder[KEY];
    if (!current) return;
    current.users -= 1;
    if (current.users === 0) {
      holder[KEY] = undefined;
      await redis.stop();
    }
  };
}
