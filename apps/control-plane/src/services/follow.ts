import type { ChangeFeed } from '@skiff/store';

/** How often watchers re-read even without a notification (covers missed Pub/Sub messages). */
export const FOLLOW_POLL_MS = 1_000;

/**
 * Runs `step` now, on every notification of `topic`, and every `pollMs`, until it returns true
 * or `signal` aborts. Steps never overlap; a notification that arrives during a step runs the
 * next one at once. Each wait removes its own abort listener and timer, so a stream that
 * follows for hours holds no more than one of each.
 */
export async function follow(
  feed: Pick<ChangeFeed, 'subscribe'>,
  signal: AbortSignal,
  topic: string,
  step: () => Promise<boolean>,
  pollMs = FOLLOW_POLL_MS,
): Promise<void> {
  let notified = false;
  let wake: (() => void) | undefined;
  const unsubscribe = await feed.subscribe(topic, () => {
    notified = true;
    wake?.();
  });
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
