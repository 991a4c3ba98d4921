import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { startGrpcTestServer, type GrpcTestServer } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeploymentStep,
  WebserviceServiceClient,
  WebserviceServiceService,
  WebserviceState,
  type DeploymentEvent,
  type GetWebserviceResponse,
  type WebserviceServiceServer,
} from './index.js';

// A real grpc-js server on port 0 with a hand-written WebserviceService, called through the
// generated client: proves the generated service definitions, codecs and clients agree.
const notImplemented = (_call: unknown, callback: (e: ServiceError) => void): void =>
  callback(Object.assign(new Error('not implemented'), { code: status.UNIMPLEMENTED }) as never);

const events: DeploymentEvent[] = [
  {
    sequence: 1,
    generation: 2,
    step: DeploymentStep.DEPLOYMENT_STEP_QUEUED,
    message: 'queued',
    terminal: false,
    time: new Date('2026-01-01T00:00:00Z'),
  },
  {
    sequence: 2,
    generation: 2,
    step: DeploymentStep.DEPLOYMENT_STEP_REPLICAS,
    message: 'replicas ready 1/2',
    terminal: false,
    detail: {
      $case: 'replicas',
      replicas: { desired: 2, ready: 1, inFlight: 0, queued: 0, current: 2 },
    },
  },
  {
    sequence: 3,
    generation: 2,
    step: DeploymentStep.DEPLOYMENT_STEP_HEALTHY,
    message: 'healthy',
    terminal: true,
  },
];

const implementation: WebserviceServiceServer = {
  deployWebservice: notImplemented,
  updateWebservice: notImplemented,
  listWebservices: notImplemented,
  deleteWebservice: notImplemented,
  getWebserviceLogs: (call) =>
    call.destroy(Object.assign(new Error('no'), { code: status.UNIMPLEMENTED })),
  getWebserviceKeys: notImplemented,
  regenerateWebserviceKey: notImplemented,
  getWebserviceToken: notImplemented,
  getWebservice: (call, callback) => {
    if (call.request.name !== 'iris') {
      callback(
        Object.assign(new Error(`webservice "${call.request.name}" not found`), {
          code: status.NOT_FOUND,
        }),
      );
      return;
    }
    callback(null, {
      webservice: {
        workspace: call.request.workspace,
        name: 'iris',
        state: WebserviceState.WEBSERVICE_STATE_HEALTHY,
        scoringUri: 'http://127.0.0.1:8080/api/v1/service/iris/score',
        swaggerUri: 'http://127.0.0.1:8080/api/v1/service/iris/swagger.json',
        generation: 3,
        appliedGeneration: 3,
        environmentHash: 'sha256:v1:' + 'a'.repeat(64),
        authMode: 2,
        updatedBy: call.metadata.get('x-caller')[0]?.toString() ?? '',
        createTime: new Date('2026-11-26T10:00:00.123Z'),
        replicas: { desired: 2, ready: 2, inFlight: 1, queued: 0, current: 2 },
      },
    });
  },
  watchDeployment: (call) => {
    for (const event of events.filter((e) => e.sequence > call.request.afterSequence)) {
      call.write({ event });
    }
    call.end();
  },
};

describe('skiff.v1 over a real grpc-js server', () => {
  let server: GrpcTestServer;
  let client: WebserviceServiceClient;

  beforeAll(async () => {
    server = await startGrpcTestServer((s) =>
      s.addService(WebserviceServiceService, implementation),
    );
    client = new WebserviceServiceClient(server.address, credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('round-trips a unary call with metadata, enums, timestamps and nested messages', async () => {
    const metadata = new Metadata();
    metadata.set('x-caller', 'cred-1');
    const response = await new Promise<GetWebserviceResponse>((resolve, reject) =>
      client.getWebservice({ workspace: 'team-a', name: 'iris' }, metadata, (error, value) =>
        error ? reject(error) : resolve(value),
      ),
    );
    expect(response.webservice).toMatchObject({
      workspace: 'team-a',
      name: 'iris',
      state: WebserviceState.WEBSERVICE_STATE_HEALTHY,
      generation: 3,
      updatedBy: 'cred-1',
      replicas: { desired: 2, ready: 2, inFlight: 1, queued: 0, current: 2 },
    });
    expect(response.webservice?.createTime).toEqual(new Date('2026-11-26T10:00:00.123Z'));
  });

  it('carries status codes and messages of failed calls', async () => {
    const error = await new Promise<ServiceError>((resolve) =>
      client.getWebservice({ workspace: 'team-a', name: 'nope' }, (e) => resolve(e!)),
    );
    expect(error.code).toBe(status.NOT_FOUND);
    expect(error.details).toBe('webservice "nope" not found');
  });

  it('streams server events including oneof details, resuming after a sequence', async () => {
    const received: DeploymentEvent[] = [];
    const stream = client.watchDeployment({
      workspace: 'team-a',
      name: 'iris',
      generation: 2,
      afterSequence: 1,
    });
    for await (const message of stream)
      received.push((message as { event: DeploymentEvent }).event);
    expect(received.map((e) => e.sequence)).toEqual([2, 3]);
    expect(received[0]?.detail).toEqual({
      $case: 'replicas',
      replicas: { desired: 2, ready: 1, inFlight: 0, queued: 0, current: 2 },
    });
    expect(received[1]?.terminal).toBe(true);
  });
});
