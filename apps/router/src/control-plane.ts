// The router's one connection to the control plane, opened with retries: a router starts (and
// serves its last table) whether or not the control plane is up.
import { SkiffClient } from '@skiff/client';
import type { Logger } from 'pino';
import { backoffDelay, pause } from './backoff.js';

/** Options of {@link ControlPlaneLink}. */
export interface ControlPlaneLinkOptions {
  /** `host:port` of the control plane's gRPC API. */
  readonly endpoint: string;
  /** The router's credential (role AGENT, bound to the compute target). */
  readonly token: string;
  readonly log: Logger;
}

/** Connects once, lazily and with backoff; every stream of the router shares the channel. */
export class ControlPlaneLink {
  readonly #options: ControlPlaneLinkOptions;
  readonly #stop = new AbortController();
  #client: Promise<SkiffClient | undefined> | undefined;

  constructor(options: ControlPlaneLinkOptions) {
    this.#options = options;
  }

  /** Aborts when the link closes. */
  get signal(): AbortSignal {
    return this.#stop.signal;
  }

  /** The connected client; undefined once the link is closed. */
  client(): Promise<SkiffClient | undefined> {
    this.#client ??= this.#connect();
    return this.#client;
  }

  async #connect(): Promise<SkiffClient | undefined> {
    const { endpoint, token, log } = this.#options;
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      try {
        const client = await SkiffClient.connect({
          endpoint,
          token,
          connectTimeoutMs: 5_000,
          channelOptions: {
            'grpc.keepalive_time_ms': 20_000,
            'grpc.keepalive_timeout_ms': 10_000,
            'grpc.keepalive_permit_without_calls': 1,
            // Reconnect soon after the control plane comes back.
            'grpc.max_reconnect_backoff_ms': 2_000,
            'grpc.initial_reconnect_backoff_ms': 100,
          },
        });
        if (this.#stop.signal.aborted) {
          client.close();
          return undefined;
        }
        log.info({ endpoint }, 'connected to the control plane');
        return client;
      } catch (error) {
        const delay = backoffDelay(attempt);
        log.warn(
          { err: error, endpoint, retryInMs: Math.round(delay) },
          'control plane unreachable',
        );
        await pause(delay, this.#stop.signal);
      }
    }
    return undefined;
  }

  /** Cancels every stream and closes the channel. */
  async close(): Promise<void> {
    this.#stop.abort();
    const client = await this.#client;
    client?.close();
  }
}
