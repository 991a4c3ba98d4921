import {
  Channel,
  type ChannelCredentials,
  connectivityState,
  credentials,
  type ChannelOptions,
} from '@grpc/grpc-js';
import {
  AgentServiceClient,
  ComputeServiceClient,
  EnvironmentServiceClient,
  ModelServiceClient,
  RoutingServiceClient,
  SnapshotServiceClient,
  WebserviceServiceClient,
  WorkspaceServiceClient,
} from '@skiff/proto';
import { AgentApi } from './agents.js';
import { ComputeApi } from './computes.js';
import { EnvironmentApi } from './environments.js';
import { SkiffApiError } from './errors.js';
import { ModelApi } from './models.js';
import { RoutingApi } from './routing.js';
import { RpcInvoker } from './rpc.js';
import { SnapshotApi } from './snapshots.js';
import { WebserviceApi } from './webservices.js';
import { WorkspaceApi } from './workspaces.js';

/** How {@link SkiffClient.connect} reaches a control plane. */
export interface SkiffClientOptions {
  /** The control plane's gRPC address, `host:port` (e.g. `127.0.0.1:50051`). Required. */
  readonly endpoint: string;
  /**
   * API credential (`skf_<id>_<secret>`), sent as `authorization: Bearer <token>` on every
   * call. Default: none (every skiff.v1 call then fails UNAUTHENTICATED).
   */
  readonly token?: string;
  /** Connect over TLS. Default false (plaintext, for loopback and in-cluster traffic). */
  readonly tls?: boolean;
  /** PEM root certificates that TLS trusts. Default: Node's bundled roots. Needs `tls`. */
  readonly rootCertificates?: Buffer;
  /** Deadline of each unary call in milliseconds. Default 30,000. Streams have none. */
  readonly timeoutMs?: number;
  /**
   * How long `connect` waits for the channel to come up, in milliseconds. Default 10,000.
   * `connect` fails sooner when the endpoint refuses connections.
   */
  readonly connectTimeoutMs?: number;
  /** Extra grpc-js channel options (keepalive, message sizes). Default none. */
  readonly channelOptions?: ChannelOptions;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * A connection to a skiff control plane with one facade per skiff.v1 service. Every method
 * returns a promise (unary calls, uploads) or an async iterable (server streams), and fails
 * with {@link SkiffApiError}. Create it with {@link SkiffClient.connect}; `close()` it when done.
 *
 * @example
 * const client = await SkiffClient.connect({ endpoint: '127.0.0.1:50051', token });
 * const { webservice } = await client.webservices.get({ workspace: 'team-a', name: 'iris' });
 * client.close();
 */
export class SkiffClient {
  /** WorkspaceService: workspaces, credentials, audit log. */
  readonly workspaces: WorkspaceApi;
  /** ComputeService: compute targets. */
  readonly computes: ComputeApi;
  /** ModelService: registered models, including uploads from a path. */
  readonly models: ModelApi;
  /** EnvironmentService: registered environment definitions. */
  readonly environments: EnvironmentApi;
  /** SnapshotService: source snapshots, including uploads from a zip file. */
  readonly snapshots: SnapshotApi;
  /** WebserviceService: deploy, update, watch, logs, keys, tokens. */
  readonly webservices: WebserviceApi;
  /** AgentService: for agents (credentials of role AGENT). */
  readonly agents: AgentApi;
  /** RoutingService: for routers (credentials of role AGENT). */
  readonly routing: RoutingApi;

  protected constructor(
    /** The `host:port` this client talks to. */
    readonly endpoint: string,
    private readonly channel: Channel,
    rpc: RpcInvoker,
  ) {
    // Every service client shares the one channel (one HTTP/2 connection).
    const shared = { channelOverride: channel };
    const insecure = credentials.createInsecure();
    this.workspaces = new WorkspaceApi(rpc, new WorkspaceServiceClient(endpoint, insecure, shared));
    this.computes = new ComputeApi(rpc, new ComputeServiceClient(endpoint, insecure, shared));
    this.models = new ModelApi(rpc, new ModelServiceClient(endpoint, insecure, shared));
    this.environments = new EnvironmentApi(
      rpc,
      new EnvironmentServiceClient(endpoint, insecure, shared),
    );
    this.snapshots = new SnapshotApi(rpc, new SnapshotServiceClient(endpoint, insecure, shared));
    this.webservices = new WebserviceApi(
      rpc,
      new WebserviceServiceClient(endpoint, insecure, shared),
    );
    this.agents = new AgentApi(rpc, new AgentServiceClient(endpoint, insecure, shared));
    this.routing = new RoutingApi(rpc, new RoutingServiceClient(endpoint, insecure, shared));
  }

  /**
   * Opens a channel to the control plane and waits until it is connected.
   *
   * @throws SkiffApiError `UNAVAILABLE` when the endpoint cannot be reached within
   *   `connectTimeoutMs` or refuses the connection; `INVALID_ARGUMENT` for a malformed
   *   endpoint.
   */
  static async connect(options: SkiffClientOptions): Promise<SkiffClient> {
    const endpoint = options.endpoint.trim();
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(endpoint)) {
      throw new SkiffApiError({
        status: 3,
        details: `endpoint: expected host:port, e.g. 127.0.0.1:50051, got '${options.endpoint}'`,
        field: 'endpoint',
      });
    }
    const channelCredentials: ChannelCredentials = options.tls
      ? credentials.createSsl(options.rootCertificates ?? null)
      : credentials.createInsecure();
    const channel = new Channel(endpoint, channelCredentials, options.channelOptions ?? {});
    try {
      await waitUntilReady(
        channel,
        endpoint,
        options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      );
    } catch (error) {
      channel.close();
      throw error;
    }
    return new SkiffClient(
      endpoint,
      channel,
      new RpcInvoker(options.token, options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    );
  }

  /** Closes the channel; calls still running are cancelled. */
  close(): void {
    this.channel.close();
  }
}

// Resolves once the channel is READY. A refused connection shows as TRANSIENT_FAILURE, which
// fails at once instead of retrying until the deadline: nothing listens there.
function waitUntilReady(channel: Channel, endpoint: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const unavailable = (why: string) =>
    new SkiffApiError({
      status: 14,
      details: `cannot reach the control plane at ${endpoint}: ${why}`,
    });
  return new Promise((resolve, reject) => {
    const check = (state: connectivityState) => {
      if (state === connectivityState.READY) return resolve();
      if (state === connectivityState.TRANSIENT_FAILURE)
        return reject(unavailable('the connection failed (is the control plane running?)'));
      if (state === connectivityState.SHUTDOWN) return reject(unavailable('the channel closed'));
      channel.watchConnectivityState(state, deadline, (error) => {
        if (error) reject(unavailable(`no connection within ${timeoutMs} ms`));
        else check(channel.getConnectivityState(true));
      });
    };
    check(channel.getConnectivityState(true));
  });
}
