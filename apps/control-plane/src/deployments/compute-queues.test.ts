import { ComputeQueue } from '@skiff/queue';
import { Store } from '@skiff/store';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStandInAgent } from '../test-support/stand-in-agent.js';
import { ComputeQueues, type JobEvent } from './compute-queues.js';
import { HandledPrefix } from './handled-prefix.js';

describe('ComputeQueues', () => {
  let redis: IsolatedRedis;
  let store: Store;

  beforeEach(async () => {
    redis = isolatedRedis();
    store = await Store.connect({ url: redis.url, keyPrefix: redis.prefix });
  });
  afterEach(async () => {
    await store.close();
    await redis.cleanup();
  });

  const queues = (listener: (event: JobEvent) => Promise<void>) =>
    new ComputeQueues(
      {
        redisUrl: redis.url,
        prefix: `${redis.prefix.replace(/:$/, '')}:bull`,
        cursors: store.cursors,
        log: pino({ level: 'silent' }),
      },
      (_workspace, _compute, event) => listener(event),
    );

  it('delivers the events sent while nobody watched, in order, to the next watcher', async () => {
    const first = queues(() => Promise.resolve());
    await first.watch('team-a', 'local'); // sets the queue's cursor
    await first.close();

    // A producer that is not a watcher (a watcher would handle, and so pass, the events).
    const producer = await ComputeQueue.connect({
      redisUrl: redis.url,
      prefix: `${redis.prefix.replace(/:$/, '')}:bull`,
      workspace: 'team-a',
      compute: 'local',
    });
    await producer.enqueue({ kind: 'deploy', workspace: 'team-a', service: 'iris', generation: 1 });
    const agent = startStandInAgent({
      redisUrl: redis.url,
      prefix: redis.prefix,
      workspace: 'team-a',
    });
    while ((await producer.status('deploy.team-a.iris.1'))?.state !== 'completed') {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await agent.close();
    await producer.close();

    const seen: string[] = [];
    let completed!: () => void;
    const done = new Promise<void>((resolve) => (completed = resolve));
    const second = queues((event) => {
      seen.push(
        event.kind === 'progress'
          ? `progress ${String((event.data as { step: string }).step)}`
          : event.kind,
      );
      if (event.kind === 'completed') completed();
      return Promise.resolve();
    });
    await second.watch('team-a', 'local');
    await done;
    await second.close();
    expect(seen).toEqual([
      'progress STARTED',
      'progress WORKLOAD_APPLIED',
      'progress REPLICAS',
      'progress REPLICAS',
      'completed',
    ]);
  });
});

describe('HandledPrefix', () => {
  it('advances past an event only once it and every earlier one are handled', () => {
    const advanced: string[] = [];
    const prefix = new HandledPrefix((id) => advanced.push(id));
    for (const id of ['1-1', '1-2', '1-3', '1-4']) prefix.received(id);
    prefix.done('1-2');
    expect(advanced).toEqual([]);
    prefix.done('1-1');
    expect(advanced).toEqual(['1-2']);
    prefix.done('1-4');
    expect(advanced).toEqual(['1-2']);
    prefix.done('1-3');
    expect(advanced).toEqual(['1-2', '1-4']);
  });
});
