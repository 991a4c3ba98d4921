/**
 * At most `limit` requests inside `run()` at once. The replica never queues: a request over the
 * limit is refused at once (503) and the router, which sees every replica, decides where it
 * waits (SPEC.md §3).
 */
export class ConcurrencyLimiter {
  private active = 0;

  constructor(readonly limit: number) {}

  /** Requests holding a slot now. */
  get inFlight(): number {
    return this.active;
  }

  /** A slot and the function that gives it back (idempotent), or undefined when all are taken. */
  tryAcquire(): (() => void) | undefined {
    if (this.active >= this.limit) return undefined;
    this.active += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active -= 1;
    };
  }
}
