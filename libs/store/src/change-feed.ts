import type { Redis } from 'ioredis';

type Listener = () => void;

/**
 * "Something changed" notifications across control-plane processes, over Redis Pub/Sub:
 * writers publish a topic (e.g. a service's events) after writing to a stream, and watchers
 * re-read the stream from their last position. A notification carries no data, so a missed
 * one (a reconnect) costs only latency: watchers also re-read on a slow timer.
 */
export class ChangeFeed {
  private readonly listeners = new Map<string, Set<Listener>>();
  private subscriber: Redis | undefined;

  constructor(
    private readonly publisher: Redis,
    /** Channel prefix (channels are not keys, so the client's keyPrefix does not apply). */
    private readonly channelPrefix: string,
  ) {}

  /** Tells every watcher of `topic` to look. Failures are ignored: watchers also poll. */
  async publish(topic: string): Promise<void> {
    try {
      await this.publisher.publish(this.channelPrefix + topic, '1');
    } catch {
      // Redis away: the writer's own write failed already or will be retried; nothing to add.
    }
  }

  /** Calls `listener` on every notification of `topic` until the returned function is called. */
  async subscribe(topic: string, listener: Listener): Promise<() => Promise<void>> {
    const channel = this.channelPrefix + topic;
    let set = this.listeners.get(channel);
    if (!set) {
      set = new Set();
      this.listeners.set(channel, set);
      await this.connection()
        .subscribe(channel)
        .catch(() => undefined);
    }
    set.add(listener);
    return async () => {
      const current = this.listeners.get(channel);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) {
        this.listeners.delete(channel);
        await this.subscriber?.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private connection(): Redis {
    if (!this.subscriber) {
      // Subscriptions must survive reconnects: this connection queues while offline.
      const subscriber = this.publisher.duplicate({
        keyPrefix: '',
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
      });
      subscriber.on('error', () => undefined);
      subscriber.on('message', (channel: string) => {
        for (const listener of this.listeners.get(channel) ?? []) listener();
      });
      this.subscriber = subscriber;
    }
    return this.subscriber;
  }
}
