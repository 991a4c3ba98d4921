import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { follow } from './follow.js';

/** A change feed in memory: `notify()` calls the subscribed listener. */
function memoryFeed() {
  let listener: (() => void) | undefined;
  let subscribed = 0;
  return {
    subscribe: (_topic: string, next: () => void) => {
      listener = next;
      subscribed++;
      return Promise.resolve(() => {
        listener = undefined;
        subscribed--;
        return Promise.resolve();
      });
    },
    notify: () => listener?.(),
    subscribed: () => subscribed,
  };
}

describe('follow', () => {
  it('holds at most one abort listener however many times it polls, and unsubscribes at the end', async () => {
    const feed = memoryFeed();
    const controller = new AbortController();
    let steps = 0;
    let mostListeners = 0;
    await follow(
      feed,
      controller.signal,
      'topic',
      () => {
        steps++;
        mostListeners = Math.max(
          mostListeners,
          getEventListeners(controller.signal, 'abort').length,
        );
        return Promise.resolve(steps === 50);
      },
      1,
    );
    expect(steps).toBe(50);
    expect(mostListeners).toBe(0); // none while a step runs: each wait removed its own
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(feed.subscribed()).toBe(0);
  });

  it('runs a step at once for a notification, also one that came during the previous step', async () => {
    const feed = memoryFeed();
    const controller = new AbortController();
    let steps = 0;
    const done = follow(
      feed,
      controller.signal,
      'topic',
      () => {
        steps++;
        if (steps === 1) feed.notify(); // arrives while step 1 runs
        return Promise.resolve(steps === 3);
      },
      60_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(steps).toBe(2); // step 2 ran without waiting a minute
    feed.notify();
    await done;
    expect(steps).toBe(3);
  });

  it('ends when the call is cancelled', async () => {
    const feed = memoryFeed();
    const controller = new AbortController();
    const done = follow(feed, controller.signal, 'topic', () => Promise.resolve(false), 60_000);
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    await done;
    expect(feed.subscribed()).toBe(0);
  });
});
