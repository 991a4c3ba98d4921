import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  GetWebserviceResponse,
  WebserviceServiceService,
  WebserviceState,
  type GetWebserviceLogsRequest,
  type WatchDeploymentResponse,
} from '@skiff/proto';
import { freePort, startGrpcTestServer, type GrpcTestServer } from '@skiff/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { SkiffApiError, SkiffClient } from './index.js';

const servers: GrpcTestServer[] = [];
const clients: SkiffClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((server) => server.close(100)));
});

async function serve(implementation: Record<string, unknown>): Promise<GrpcTestServer> {
  const server = await startGrpcTestServer((s) =>
    s.addService(WebserviceServiceService, implementation as never),
  );
  servers.push(server);
  return server;
}

async function connect(server: GrpcTestServer, token?: string, timeoutMs?: number) {
  const client = await SkiffClient.connect({
    endpoint: server.address,
    ...(token === undefined ? {} : { token }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  clients.push(client);
  return client;
}

function serviceError(code: status, details: string, field?: string): ServiceError {
  const metadata = new Metadata();
  metadata.set('x-request-id', 'req-123');
  if (field !== undefined) metadata.set('skiff-field', field);
  return Object.assign(new Error(details), { code, details, metadata });
}

type Callback = (error: ServiceError | null, response?: unknown) => void;
interface UnaryCall {
  request: { workspace: string; name: string };
  metadata: Metadata;
}

describe('SkiffClient.connect', () => {
  it('fails UNAVAILABLE when nothing listens at the endpoint', async () => {
    const port = await freePort();
    const error = await SkiffClient.connect({ endpoint: `127.0.0.1:${port}` }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SkiffApiError);
    expect((error as SkiffApiError).code).toBe('UNAVAILABLE');
    expect((error as SkiffApiError).status).toBe(status.UNAVAILABLE);
    expect((error as SkiffApiError).details).toContain(`127.0.0.1:${port}`);
  });

  it('rejects an endpoint that is not host:port, naming the field', async () => {
    const error = (await SkiffClient.connect({ endpoint: 'http://x/y' }).catch(
      (e: unknown) => e,
    )) as SkiffApiError;
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.field).toBe('endpoint');
  });
});

describe('unary calls', () => {
  it('send the token as a bearer credential and resolve with the typed response', async () => {
    const seen: string[] = [];
    const server = await serve({
      getWebservice: (call: UnaryCall, callback: Callback) => {
        seen.push(String(call.metadata.get('authorization')[0]));
        callback(
          null,
          GetWebserviceResponse.fromPartial({
            webservice: { workspace: call.request.workspace, name: call.request.name, state: 2 },
          }),
        );
      },
    });
    const client = await connect(server, 'skf_abc_secret');
    const { webservice } = await client.webservices.get({ workspace: 'team-a', name: 'iris' });
    expect(webservice?.name).toBe('iris');
    expect(webservice?.state).toBe(WebserviceState.WEBSERVICE_STATE_HEALTHY);
    expect(seen).toEqual(['Bearer skf_abc_secret']);
  });

  it('reject with SkiffApiError carrying the code, details, field and request id', async () => {
    const server = await serve({
      deployWebservice: (_call: UnaryCall, callback: Callback) =>
        callback(
          serviceError(
            status.INVALID_ARGUMENT,
            'spec.deployment_config.namespace: expected a DNS label',
            'spec.deployment_config.namespace',
          ),
        ),
    });
    const client = await connect(server);
    const error = (await client.webservices
      .deploy({ workspace: 'team-a', name: 'iris' })
      .catch((e: unknown) => e)) as SkiffApiError;
    expect(error).toBeInstanceOf(SkiffApiError);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.status).toBe(3);
    expect(error.details).toBe('spec.deployment_config.namespace: expected a DNS label');
    expect(error.field).toBe('spec.deployment_config.namespace');
    expect(error.requestId).toBe('req-123');
    expect(error.message).toBe(
      'INVALID_ARGUMENT: spec.deployment_config.namespace: expected a DNS label',
    );
  });

  it('give up at the deadline with DEADLINE_EXCEEDED', async () => {
    const server = await serve({ getWebservice: () => undefined });
    const client = await connect(server, undefined, 50);
    const error = (await client.webservices
      .get({ workspace: 'w', name: 'never' })
      .catch((e: unknown) => e)) as SkiffApiError;
    expect(error.code).toBe('DEADLINE_EXCEEDED');
  });

  it('are cancelled by an aborted signal', async () => {
    const server = await serve({ getWebservice: () => undefined });
    const client = await connect(server);
    const controller = new AbortController();
    const pending = client.webservices.get(
      { workspace: 'w', name: 'x' },
      { signal: controller.signal },
    );
    controller.abort();
    expect(((await pending.catch((e: unknown) => e)) as SkiffApiError).code).toBe('CANCELLED');
  });
});

interface StreamCall {
  request: GetWebserviceLogsRequest;
  write(message: unknown): boolean;
  end(): void;
  emit(event: 'error', error: ServiceError): boolean;
  on(event: 'cancelled', listener: () => void): void;
}

const event = (sequence: number, terminal = false): WatchDeploymentResponse => ({
  event: { sequence, generation: 1, step: 1, message: `step ${sequence}`, terminal },
});

describe('server streams', () => {
  it('yield every message in order, then end', async () => {
    const server = await serve({
      watchDeployment: (call: StreamCall) => {
        for (const sequence of [1, 2, 3]) call.write(event(sequence, sequence === 3));
        call.end();
      },
    });
    const client = await connect(server);
    const sequences: number[] = [];
    for await (const message of client.webservices.watchDeployment({ workspace: 'w', name: 's' }))
      sequences.push(message.event?.sequence ?? 0);
    expect(sequences).toEqual([1, 2, 3]);
  });

  it('yield what arrived before an error, then throw it as SkiffApiError', async () => {
    const server = await serve({
      watchDeployment: (call: StreamCall) => {
        call.write(event(1));
        call.emit('error', serviceError(status.NOT_FOUND, 'no webservice named s', 'name'));
      },
    });
    const client = await connect(server);
    const sequences: number[] = [];
    const error = await (async () => {
      for await (const message of client.webservices.watchDeployment({ workspace: 'w', name: 's' }))
        sequences.push(message.event?.sequence ?? 0);
    })().catch((e: unknown) => e);
    expect(sequences).toEqual([1]);
    expect((error as SkiffApiError).code).toBe('NOT_FOUND');
    expect((error as SkiffApiError).field).toBe('name');
  });

  it('end quietly when the signal aborts, and the server sees the cancellation', async () => {
    let cancelled!: () => void;
    const serverSawCancel = new Promise<void>((resolve) => (cancelled = resolve));
    const server = await serve({
      getWebserviceLogs: (call: StreamCall) => {
        call.on('cancelled', cancelled);
        call.write({ lines: [{ id: '1', replica: 'r', stream: 'stdout', text: 'hello' }] });
      },
    });
    const client = await connect(server);
    const controller = new AbortController();
    const texts: string[] = [];
    for await (const message of client.webservices.logs(
      { workspace: 'w', name: 's', follow: true },
      { signal: controller.signal },
    )) {
      texts.push(...message.lines.map((line) => line.text));
      controller.abort();
    }
    expect(texts).toEqual(['hello']);
    await serverSawCancel;
  });

  it('are cancelled when the consumer stops iterating early', async () => {
    let cancelled!: () => void;
    const serverSawCancel = new Promise<void>((resolve) => (cancelled = resolve));
    const server = await serve({
      watchDeployment: (call: StreamCall) => {
        call.on('cancelled', cancelled);
        call.write(event(1));
        call.write(event(2));
      },
    });
    const client = await connect(server);
    for await (const message of client.webservices.watchDeployment({ workspace: 'w', name: 's' })) {
      expect(message.event?.sequence).toBe(1);
      break;
    }
    await serverSawCancel;
  });
});
