// Follows WatchRoutingTable: applies each newer table, keeps the last one while the control
// plane is away, and resumes the stream with backoff.
import type { Logger } from 'pino';
import { backoffDelay, pause } from './backoff.js';
import type { ControlPlaneLink } from './control-plane.js';
import { compileTable, type RouteTable } from './table.js';

/** Options of {@link RoutingTableSource}. */
export interface RoutingTableSourceOptions {
  readonly link: ControlPlaneLink;
  readonly workspace: string;
  readonly compute: string;
  readonly routerId: string;
  readonly log: Logger;
}

/** The newest routing table the router has seen, and change notifications. */
export class RoutingTableSource {
  readonly #options: RoutingTableSourceOptions;
  readonly #listeners: ((table: RouteTable) => void)[] = [];
  #current: RouteTable | undefined;
  #connected = false;
  #running: Promise<void> | undefined;

  constructor(options: RoutingTableSourceOptions) {
    this.#options = options;
  }

  /** The table in effect; undefined until the first one arrived. */
  get current(): RouteTable | undefined {
    return this.#current;
  }

  /**
   * The table in effect, waiting up to `timeoutMs` for the first one (a router that just
   * started holds its first requests for a moment instead of refusing them); undefined when
   * none arrived in time.
   */
  async tableWithin(timeoutMs: number): Promise<RouteTable | undefined> {
    if (this.#current || timeoutMs <= 0) return this.#current;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#listeners.splice(this.#listeners.indexOf(listener), 1);
        resolve(this.#current);
      }, timeoutMs);
      const listener = (table: RouteTable) => {
        clearTimeout(timer);
        this.#listeners.splice(this.#listeners.indexOf(listener), 1);
        resolve(table);
      };
      this.#listeners.push(listener);
    });
  }

  /** Whether the table stream is open right now. */
  get connected(): boolean {
    return this.#connected;
  }

  /** Calls `listener` with every table that takes effect (after `current` changed). */
  onChange(listener: (table: RouteTable) => void): void {
    this.#listeners.push(listener);
  }

  /** Starts following the stream until the link closes. */
  start(): void {
    this.#running ??= this.#follow();
  }

  /** Resolves when the follow loop has ended (after the link closed). */
  async stopped(): Promise<void> {
    await this.#running;
  }

  /** Applies a table; older or equal versions are ignored. Returns whether it took effect. */
  apply(table: RouteTable): boolean {
    if (this.#current && table.version <= this.#current.version) return false;
    this.#current = table;
    for (const listener of [...this.#listeners]) listener(table);
    return true;
  }

  async #follow(): Promise<void> {
    const { link, workspace, compute, routerId, log } = this.#options;
    const { signal } = link;
    let attempt = 0;
    while (!signal.aborted) {
      const client = await link.client();
      if (!client) return;
      try {
        const stream = client.routing.watchTable({ workspace, compute, routerId }, { signal });
        for await (const message of stream) {
          this.#connected = true;
          attempt = 0;
          if (!message.table) continue;
          const { table, problems } = compileTable(message.table);
          for (const problem of problems) log.warn(problem, 'routing table entry refused');
          const before = this.#current?.version;
          if (this.apply(table)) {
            log.info(
              { version: table.version, services: table.services.size },
              'routing table applied',
            );
          } else if (before !== undefined && table.version < before) {
            log.warn({ version: table.version, current: before }, 'older routing table ignored');
          }
        }
        if (signal.aborted) return;
        log.warn('routing table stream ended; resuming');
      } catch (error) {
        if (signal.aborted) return;
        log.warn(
          { err: error, servingVersion: this.#current?.version ?? null },
          'routing table stream failed; serving the last table and reconnecting',
        );
      } finally {
        this.#connected = false;
      }
      await pause(backoffDelay(attempt++), signal);
    }
  }
}
