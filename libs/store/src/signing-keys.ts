import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { guarded } from './redis.js';

/**
 * The control plane's token signing key ring (sealed by the caller before it gets here).
 * Every control-plane process must sign with the same ring, so the first one to start
 * creates it and the others adopt it.
 */
export class SigningKeyStore {
  constructor(private readonly redis: Redis) {}

  async get(): Promise<string | undefined> {
    return guarded(async () => (await this.redis.get(keys.signingKeys())) ?? undefined);
  }

  /** Stores `value` unless a ring exists; returns the ring in effect. */
  async initialize(value: string): Promise<string> {
    return guarded(async () => {
      const set = await this.redis.set(keys.signingKeys(), value, 'NX');
      if (set === 'OK') return value;
      return (await this.redis.get(keys.signingKeys())) ?? value;
    });
  }

  async replace(value: string): Promise<void> {
    await guarded(() => this.redis.set(keys.signingKeys(), value));
  }
}
