import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import {
  Server,
  ServerCredentials,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadFileDescriptorSetFromBuffer } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import {
  createAuthInterceptor,
  createBearerAuthenticator,
  type EntraIdAuthenticator,
} from '@skiff/auth';
import {
  AgentServiceService,
  ComputeServiceService,
  descriptorSetPath,
  EnvironmentServiceService,
  ModelServiceService,
  RoutingServiceService,
  SnapshotServiceService,
  WebserviceServiceService,
  WorkspaceServiceService,
} from '@skiff/proto';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { METHOD_PERMISSIONS, PUBLIC_METHODS } from './permissions.js';
import { agentService } from './services/agents.js';
import { computeService } from './services/computes.js';
import { environmentService } from './services/environments.js';
import type { ServiceDeps } from './services/deps.js';
import { modelService } from './services/models.js';
import { snapshotService } from './services/snapshots.js';
import { webserviceService } from './services/webservices.js';
import { workspaceService } from './services/workspaces.js';
import { routingService } from './services/routing.js';
import { statusName } from './rpc/status.js';
import { withDecodeErrors } from './rpc/decode.js';

/** A running control plane's network side. */
export interface ControlPlaneServer {
  /** host:port of the gRPC API. */
  readonly grpcAddress: string;
  /** host:port of the HTTP side (/metrics, /healthz, /readyz). */
  readonly httpAddress: string;
  /** Stops accepting calls, lets in-flight ones finish for `graceMs`, then cancels the rest. */
  close(graceMs: number): Promise<void>;
}

/** Options of {@link startServer}. */
export interface ServerOptions {
  grpcListen: string;
  httpListen: string;
  registry: Registry;
  entraId?: EntraIdAuthenticator;
}

/** Binds the gRPC API (all skiff.v1 services, health, reflection) and the HTTP side. */
export async function startServer(
  deps: ServiceDeps,
  options: ServerOptions,
): Promise<ControlPlaneServer> {
  const server = new Server({
    interceptors: [
      createAuthInterceptor({
        authenticator: createBearerAuthenticator({
          credentials: deps.store.credentials,
          entraId: options.entraId,
        }),
        methodPermissions: METHOD_PERMISSIONS,
        publicMethods: PUBLIC_METHODS,
        onRejected: ({ method, code, caller }) =>
          deps.log.warn(
            { method, code: statusName(code), principal: caller?.principal },
            'rpc rejected',
          ),
      }),
    ],
    'grpc.max_receive_message_length': 8 * 1024 * 1024,
  });
  server.addService(
    withDecodeErrors(WorkspaceServiceService),
    workspaceService(deps) as unknown as UntypedServiceImplementation,
  );
  server.addService(
    withDecodeErrors(ComputeServiceService),
    computeService(deps) as unknown as UntypedServiceImplementation,
  );
  server.addService(
    withDecodeErrors(ModelServiceService),
    modelService(deps) as unknown as UntypedServiceImplementation,
  );
  server.addService(
    withDecodeErrors(EnvironmentServiceService),
    environmentService(deps) as unknown as UntypedServiceImplementation,
  );
  server.addService(
    withDecodeErrors(SnapshotServiceService),
    snapshotService(deps) as unknown as UntypedServiceImplementation,
  );
  server.addService(
    withDecodeErrors(WebserviceServiceService),
    webserviceService(deps) as unknown as UntypedServiceImplementation,
  );
  server.addService(
    withDecodeErrors(AgentServiceService),
    agentService(deps) as unknown as UntypedServiceImplementation,
  );
  server.addService(
    withDecodeErrors(RoutingServiceService),
    routingService(deps) as unknown as UntypedServiceImplementation,
  );

  const health = new HealthImplementation({
    '': 'SERVING',
    'skiff.v1.WebserviceService': 'SERVING',
  });
  health.addToServer(server);
  const reflection = new ReflectionService(
    loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath)),
  );
  reflection.addToServer(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.grpcListen, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  const grpcHost = options.grpcListen.slice(0, options.grpcListen.lastIndexOf(':'));

  // Health follows Redis: NOT_SERVING while the state store is away, SERVING when it is back.
  let ready = true;
  const setReady = (value: boolean) => {
    ready = value;
    const state: ServingStatus = value ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', state);
    health.setStatus('skiff.v1.WebserviceService', state);
  };
  const probe = setInterval(() => {
    deps.store.ping().then(
      () => setReady(true),
      () => setReady(false),
    );
  }, 2_000);
  probe.unref();

  collectDefaultMetrics({ register: options.registry });
  const http = createHttpServer((request, response) => {
    if (request.url === '/metrics') {
      options.registry.metrics().then(
        (text) =>
          response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    } else if (request.url === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (request.url === '/readyz') {
      response
        .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ready ? 'ready\n' : 'state store unreachable\n');
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  const httpAddress = await listenHttp(http, options.httpListen);

  return {
    grpcAddress: `${grpcHost}:${port}`,
    httpAddress,
    close: async (graceMs) => {
      clearInterval(probe);
      health.setStatus('', 'NOT_SERVING');
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

async function listenHttp(http: HttpServer, listen: string): Promise<string> {
  const separator = listen.lastIndexOf(':');
  const host = listen.slice(0, separator).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(separator + 1));
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => resolve());
  });
  const address = http.address();
  return address && typeof address === 'object'
    ? `${listen.slice(0, separator)}:${address.port}`
    : listen;
}

export { status };
