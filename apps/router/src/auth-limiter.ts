// Per-client-address limit on authentication failures: a client guessing keys gets 429 once it
// has failed `limit` times within a window, without costing other clients anything (one map
// lookup). Fixed windows: cheap, and precise enough for a brute-force brake.

/** Options of {@link AuthFailureLimiter}. */
export interface AuthFailureLimiterOptions {
  /** Failures allowed per address and window. */
  readonly limit: number;
  readonly windowMs: number;
  /** Current time in ms; default Date.now (tests inject a clock). */
  readonly now?: () => number;
}

interface Window {
  start: number;
  failures: number;
}

/** Counts authentication failures by client address. */
export class AuthFailureLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #windows = new Map<string, Window>();
  #lastSweep: number;

  constructor(options: AuthFailureLimiterOptions) {
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
    this.#lastSweep = this.#now();
  }

  /** Seconds until `address` may try again; 0 when it is not blocked. */
  blockedFor(address: string): number {
    const window = this.#current(address);
    if (!window || window.failures < this.#limit) return 0;
    return Math.max(1, Math.ceil((window.start + this.#windowMs - this.#now()) / 1_000));
  }

  /** Records one failure of `address`. */
  fail(address: string): void {
    const now = this.#now();
    this.#sweep(now);
    const window = this.#current(address);
    if (window) window.failures += 1;
    else this.#windows.set(address, { start: now, failures: 1 });
  }

  /** Addresses currently tracked (for tests and metrics). */
  get size(): number {
    return this.#windows.size;
  }

  #current(address: string): Window | undefined {
    const window = this.#windows.get(address);
    if (!window) return undefined;
    if (this.#now() - window.start >= this.#windowMs) {
      this.#windows.delete(address);
      return undefined;
    }
    return window;
  }

  // Drops expired windows once per window, so the map holds at most two windows' worth of
  // failing addresses.
  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#windowMs) return;
    this.#lastSweep = now;
    for (const [address, window] of this.#windows) {
      if (now - window.start >= this.#windowMs) this.#windows.delete(address);
    }
  }
}
