import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type ServerInterceptor,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';

/** JSON on the wire: lets tests define a gRPC service by hand, without a .proto. */
const serialize = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const deserialize = (bytes: Buffer): unknown => JSON.parse(bytes.toString('utf8')) as unknown;

function method(path: string, responseStream: boolean) {
  return {
    path,
    requestStream: false,
    responseStream,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  };
}

/** Full paths of the probe service's methods. */
export const PROBE = {
  read: '/skiff.test.v1.Probe/Read',
  deploy: '/skiff.test.v1.Probe/Deploy',
  unmapped: '/skiff.test.v1.Probe/Unmapped',
  health: '/skiff.test.v1.Probe/Health',
  watch: '/skiff.test.v1.Probe/Watch',
} as const;

/** A hand-built service definition with JSON serializers. */
export const probeService: ServiceDefinition = {
  Read: method(PROBE.read, false),
  Deploy: method(PROBE.deploy, false),
  Unmapped: method(PROBE.unmapped, false),
  Health: method(PROBE.health, false),
  Watch: method(PROBE.watch, true),
};

/** A real grpc-js server with `interceptors`, listening on 127.0.0.1:0. */
export interface ProbeServer {
  readonly address: string;
  close(): Promise<void>;
}

/**
 * Starts a server with `interceptors` on a kernel-assigned loopback port. `@skiff/testing`'s
 * `startGrpcTestServer` constructs its `Server` without options, and grpc-js takes interceptors
 * only in the constructor, hence this small twin.
 */
export async function startProbeServer(
  interceptors: ServerInterceptor[],
  implementation: UntypedServiceImplementation,
): Promise<ProbeServer> {
  const server = new Server({ interceptors });
  server.addService(probeService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.tryShutdown(() => resolve());
      }),
  };
}

/** Outcome of one call: the response, or the status code and details. */
export type ProbeResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly code: number; readonly details: string };

/** A plain grpc-js client for the probe service. */
export class ProbeClient extends Client {
  constructor(address: string) {
    super(address, credentials.createInsecure());
  }

  /** Calls a unary method with `authorization` metadata when given. */
  unary(path: string, authorization?: string | string[]): Promise<ProbeResult> {
    return new Promise((resolve) => {
      this.makeUnaryRequest(
        path,
        serialize,
        deserialize,
        {},
        metadataWith(authorization),
        (error: ServiceError | null, value?: unknown) =>
          resolve(
            error ? { ok: false, code: error.code, details: error.details } : { ok: true, value },
          ),
      );
    });
  }

  /** Calls the server-streaming method and collects every message. */
  stream(path: string, authorization?: string): Promise<ProbeResult> {
    return new Promise((resolve) => {
      const values: unknown[] = [];
      const call = this.makeServerStreamRequest(
        path,
        serialize,
        deserialize,
        {},
        metadataWith(authorization),
      );
      call.on('data', (value: unknown) => values.push(value));
      call.on('error', (error: ServiceError) =>
        resolve({ ok: false, code: error.code, details: error.details }),
      );
      call.on('end', () => resolve({ ok: true, value: values }));
    });
  }
}

function metadataWith(authorization: string | string[] | undefined): Metadata {
  const metadata = new Metadata();
  for (const value of [authorization ?? []].flat()) metadata.add('authorization', value);
  return metadata;
}
