import { Server, ServerCredentials, type ServerOptions } from '@grpc/grpc-js';

/** A grpc-js server listening on 127.0.0.1 with a kernel-assigned port. */
export interface GrpcTestServer {
  readonly server: Server;
  /** `127.0.0.1:PORT`, ready to pass to a generated client constructor. */
  readonly address: string;
  readonly port: number;
  /** Stops accepting calls; cancels those still running after `graceMs` (default 1000). */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts a real grpc-js server on port 0 of the loopback interface, after `register` has added
 * its services. Insecure credentials: loopback only, tests only.
 */
export async function startGrpcTestServer(
  register: (server: Server) => void,
  options: ServerOptions = {},
): Promise<GrpcTestServer> {
  // Interceptors can only be given to the constructor, hence the options.
  const server = new Server(options);
  register(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    close: (graceMs = 1_000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
