// ReportRouterLoad: the router's queued and in-flight counts per service, the demand the
// autoscaler adds to the replicas' own. Sent every interval while any service has demand, plus
// one report of zeros once it drops, so the control plane never keeps a stale queue.
import type { ReportRouterLoadRequest } from '@skiff/proto';
import type { Logger } from 'pino';
import { backoffDelay, pause } from './backoff.js';
import type { ControlPlaneLink } from './control-plane.js';
import type { ServiceLoadCount } from './replica-pool.js';

/** Options of {@link LoadReporter}. */
export interface LoadReporterOptions {
  readonly link: ControlPlaneLink;
  readonly routerId: string;
  /** Current counts of every service. */
  readonly load: () => ServiceLoadCount[];
  /** Interval between reports while there is demand (at most 1 s). */
  readonly intervalMs: number;
  readonly log: Logger;
}

/** Streams load reports to the control plane, reconnecting with backoff. */
export class LoadReporter {
  readonly #options: LoadReporterOptions;
  /** Services whose last report had demand: they get a zero report when it drops. */
  #reported = new Map<string, ServiceLoadCount>();
  #running: Promise<void> | undefined;

  constructor(options: LoadReporterOptions) {
    this.#options = options;
  }

  /** Starts reporting until the link closes. */
  start(): void {
    this.#running ??= this.#loop();
  }

  async stopped(): Promise<void> {
    await this.#running;
  }

  /** Waits (at most two intervals) until the last report says no demand, before a stop. */
  async settle(): Promise<void> {
    const deadline = Date.now() + 2 * this.#options.intervalMs;
    while (this.#reported.size > 0 && Date.now() < deadline && !this.#options.link.signal.aborted) {
      await pause(this.#options.intervalMs / 4, this.#options.link.signal);
    }
  }

  /** The next report, or undefined when there is nothing to say (no demand now or before). */
  next(now = new Date()): ReportRouterLoadRequest | undefined {
    const current = new Map<string, ServiceLoadCount>();
    for (const load of this.#options.load()) {
      if (load.queued > 0 || load.inFlight > 0) current.set(key(load), load);
    }
    if (current.size === 0 && this.#reported.size === 0) return undefined;
    const services = [...current.values()];
    for (const [name, load] of this.#reported) {
      if (!current.has(name)) services.push({ ...load, queued: 0, inFlight: 0 });
    }
    this.#reported = current;
    return {
      routerId: this.#options.routerId,
      time: now,
      services: services.map(({ workspace, service, queued, inFlight }) => ({
        workspace,
        service,
        queued,
        inFlight,
      })),
    };
  }

  async #loop(): Promise<void> {
    const { link, log } = this.#options;
    const { signal } = link;
    let attempt = 0;
    while (!signal.aborted) {
      const client = await link.client();
      if (!client) return;
      // A new stream starts from nothing: whatever had demand is reported again.
      let sent = false;
      try {
        await client.routing.reportLoad(
          this.#reports(signal, () => (sent = true)),
          { signal },
        );
      } catch (error) {
        if (signal.aborted) return;
        log.warn({ err: error }, 'load report stream failed; reconnecting');
      }
      if (sent) attempt = 0;
      await pause(backoffDelay(attempt++), signal);
    }
  }

  async *#reports(
    signal: AbortSignal,
    onSent: () => void,
  ): AsyncGenerator<ReportRouterLoadRequest> {
    while (!signal.aborted) {
      const report = this.next();
      if (report) {
        onSent();
        yield report;
      }
      await pause(this.#options.intervalMs, signal);
    }
  }
}

function key(load: ServiceLoadCount): string {
  return `${load.workspace}/${load.service}`;
}
