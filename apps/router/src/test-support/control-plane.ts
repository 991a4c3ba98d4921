// A real grpc-js server implementing skiff.v1.RoutingService, driven by tests: they publish
// tables, read the load reports, drop the streams, or stop and restart it on the same port.
import {
  Server,
  ServerCredentials,
  status,
  type ServerWritableStream,
  type ServerReadableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import {
  AuthMode,
  ReplicaPhase,
  ReportRouterLoadResponse,
  RoutingServiceService,
  RoutingTable,
  type ServiceRoute,
  type ReportRouterLoadRequest,
  type WatchRoutingTableRequest,
  type WatchRoutingTableResponse,
} from '@skiff/proto';
import type { MessageInit } from '@skiff/client';

/** A RoutingService the test controls. */
export interface FakeControlPlane {
  /** `127.0.0.1:PORT`, stable across {@link FakeControlPlane.restart}. */
  readonly address: string;
  /** Sends `table` to every open stream, and to streams opened later. */
  publish(table: MessageInit<RoutingTable>): void;
  /** Requests of every WatchRoutingTable call so far. */
  readonly watchRequests: WatchRoutingTableRequest[];
  /** `authorization` metadata of every call so far. */
  readonly authorizations: string[];
  /** Every load report received. */
  readonly loadReports: ReportRouterLoadRequest[];
  /** Open WatchRoutingTable streams. */
  openWatches(): number;
  /** Fails every open watch stream with UNAVAILABLE (the server keeps running). */
  dropWatches(): void;
  /** Stops the server (streams cut). */
  stop(): Promise<void>;
  /** Starts it again on the same port, with the last published table. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Starts the fake on a kernel-chosen loopback port. */
export async function startFakeControlPlane(): Promise<FakeControlPlane> {
  let table: RoutingTable | undefined;
  const watches = new Set<
    ServerWritableStream<WatchRoutingTableRequest, WatchRoutingTableResponse>
  >();
  const watchRequests: WatchRoutingTableRequest[] = [];
  const authorizations: string[] = [];
  const loadReports: ReportRouterLoadRequest[] = [];
  const noteAuth = (call: { metadata: { get(key: string): unknown[] } }) =>
    authorizations.push(String(call.metadata.get('authorization')[0] ?? ''));

  const implementation = {
    watchRoutingTable(
      call: ServerWritableStream<WatchRoutingTableRequest, WatchRoutingTableResponse>,
    ) {
      noteAuth(call);
      watchRequests.push(call.request);
      watches.add(call);
      call.on('cancelled', () => watches.delete(call));
      call.on('close', () => watches.delete(call));
      if (table) call.write({ table });
    },
    reportRouterLoad(
      call: ServerReadableStream<ReportRouterLoadRequest, ReportRouterLoadResponse>,
      callback: sendUnaryData<ReportRouterLoadResponse>,
    ) {
      noteAuth(call);
      call.on('data', (report: ReportRouterLoadRequest) => loadReports.push(report));
      call.on('end', () => callback(null, ReportRouterLoadResponse.fromPartial({})));
      call.on('error', () => undefined);
    },
  };

  let server: Server | undefined;
  let port = 0;
  const start = async () => {
    const next = new Server();
    next.addService(RoutingServiceService, implementation as never);
    port = await new Promise<number>((resolve, reject) =>
      next.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    server = next;
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      const current = server;
      server = undefined;
      if (!current) return resolve();
      for (const call of watches) call.destroy();
      watches.clear();
      current.forceShutdown();
      resolve();
    });
  await start();

  return {
    address: `127.0.0.1:${port}`,
    publish(next) {
      table = RoutingTable.fromPartial(next);
      for (const call of watches) call.write({ table });
    },
    watchRequests,
    authorizations,
    loadReports,
    openWatches: () => watches.size,
    dropWatches() {
      for (const call of [...watches]) {
        call.emit('error', { code: status.UNAVAILABLE, details: 'dropped by the test' });
        watches.delete(call);
      }
    },
    stop,
    restart: start,
    close: stop,
  };
}

/** Defaults of {@link route}: an open service with one slot per replica. */
export function route(
  init: MessageInit<ServiceRoute> & { service: string },
): MessageInit<ServiceRoute> {
  return {
    workspace: 'team-a',
    generation: 1,
    authMode: AuthMode.AUTH_MODE_NONE,
    maxConcurrentPerReplica: 1,
    maxQueueWait: { seconds: 2, nanos: 0 },
    scoringTimeout: { seconds: 10, nanos: 0 },
    maxBodyBytes: 100 * 1024 * 1024,
    ...init,
  };
}

/** A READY replica (or in `phase`) at `address`. */
export function replica(
  address: string,
  phase: ReplicaPhase = ReplicaPhase.REPLICA_PHASE_READY,
  replicaId = `r-${address.split(':')[1]}`,
) {
  return { replicaId, address, phase, workspace: 'team-a' };
}

/** A table of `version` with `services`. */
export function table(
  version: number,
  services: MessageInit<ServiceRoute>[],
  extra: Omit<MessageInit<RoutingTable>, 'version' | 'services'> = {},
): MessageInit<RoutingTable> {
  return { version, services, ...extra };
}
