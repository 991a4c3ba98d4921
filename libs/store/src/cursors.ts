import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { guarded } from './redis.js';

/** Sets the cursor only forward: stream ids compare as (milliseconds, sequence). */
const ADVANCE = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local cm, cs = string.match(current, '^(%d+)-(%d+)$')
  local nm, ns = string.match(ARGV[2], '^(%d+)-(%d+)$')
  cm, cs, nm, ns = tonumber(cm), tonumber(cs), tonumber(nm), tonumber(ns)
  if nm < cm or (nm == cm and ns <= cs) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

type CursorClient = Redis & {
  skiffAdvanceCursor(key: string, queue: string, id: string): Promise<number>;
};

const STREAM_ID = /^\d+-\d+$/;

/**
 * Where each BullMQ queue's event stream was read up to: every event before the cursor has
 * been handled by some control plane. A control plane starting (or watching a queue for the
 * first time) resumes there, so events sent while none listened are not lost. Several control
 * planes share one cursor per queue; it only moves forward.
 */
export class QueueEventCursors {
  private readonly client: CursorClient;

  constructor(redis: Redis) {
    this.client = redis as CursorClient;
    if (typeof this.client.skiffAdvanceCursor !== 'function') {
      redis.defineCommand('skiffAdvanceCursor', { numberOfKeys: 1, lua: ADVANCE });
    }
  }

  /** The stream id to resume after, or undefined when the queue was never read. */
  async get(queue: string): Promise<string | undefined> {
    return guarded(
      async () => (await this.client.hget(keys.queueEventCursors(), queue)) ?? undefined,
    );
  }

  /** Moves the cursor to `id` unless it is there or further already. */
  async advance(queue: string, id: string): Promise<void> {
    if (!STREAM_ID.test(id)) throw new Error(`not a stream id: '${id}'`);
    await guarded(() => this.client.skiffAdvanceCursor(keys.queueEventCursors(), queue, id));
  }

  /** Forgets a queue's cursor (its compute target was detached). */
  async forget(queue: string): Promise<void> {
    await guarded(() => this.client.hdel(keys.queueEventCursors(), queue));
  }
}
