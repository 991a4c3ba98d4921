import type { ChangeFeed } from '@skiff/store';

/** How often watchers re-read even without a notification (covers missed Pub/Sub messages). */
export const FOLLOW_POLL_MS = 1_000;

/**
 * Runs `step` now, on every notification of `topic` (or any of several topics), and every
 * `pollMs`, until it returns true
 * or `signal` aborts. Steps never overlap; a notification that arrives during a step runs the
 * next one at once. Each wait removes its own abort listener and timer, so a stream that
 * follows for hours holds no more than one of each.
 */
export async function follow(
  feed: Pick<ChangeFeed, 'subscribe'>,
  signal: AbortSignal,
  topic: string | readonly string[],
  step: () => Promise<boolean>,
  pollMs = FOLLOW_POLL_MS,
): Promise<void> {
  let notified = false;
  let wake: (() => void) | undefined;
  const listener = () => {
    notified = true;
    wake?.();
  };
  const unsubscribes: (() => Promise<void>)[] = [];
  const unsubscribe = async () => {
    for (const stop of unsubscribes.splice(0)) await stop();
  };
  try {
    for (const one of typeof topic === 'string' ? [topic] : topic) {
      unsubscribes.push(await feed.subscribe(one, listener));
    }
  } catch (error) {
    await unsubscribe();
    throw error;
  }
  try {
    while (!signal.aborted) {
      notified = false;
      if (await step()) return;
      if (notified) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, pollMs);
        wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  } finally {
    await unsubscribe();
  }
}
