import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { create, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachCompute,
  call,
  failure,
  minimalSpec,
  startHarness,
  type Harness,
} from './test-support/harness.js';
import { everyRpc, rawCall, rawClient, type RawOutcome } from './test-support/raw-call.js';
import { skiffSchema } from './rpc/descriptors.js';

// Requests a careless or hostile team can send that used to reach Redis or a JavaScript
// object's prototype and came back INTERNAL (issue 13): each must be INVALID_ARGUMENT (or
// RESOURCE_EXHAUSTED) naming the field.

/** The status a server stream ends with (OK when it ends cleanly). */
function streamStatus(stream: ClientReadableStream<unknown>): Promise<ServiceError | 'OK'> {
  return new Promise((resolve) => {
    stream.on('data', () => undefined);
    stream.on('error', (error: ServiceError) => resolve(error));
    stream.on('end', () => resolve('OK'));
  });
}

/** A request encoded by protobuf-es, which keeps int64 as bigint (ts-proto cannot send 2^63). */
function encode(typeName: string, init: Record<string, unknown>): Buffer {
  const desc = skiffSchema().getMessage(typeName) as DescMessage;
  return Buffer.from(toBinary(desc, create(desc, init)));
}

const rpc = (path: string) => {
  const found = everyRpc().find((m) => m.path === path);
  if (!found) throw new Error(`no RPC ${path}`);
  return found;
};

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const SAFE_PLUS_ONE = BigInt(Number.MAX_SAFE_INTEGER) + 1n;

function expectInvalid(error: ServiceError | 'OK', field: string, mention = field): void {
  expect(error).not.toBe('OK');
  const failed = error as ServiceError;
  expect({ code: status[failed.code], details: failed.details }).toEqual({
    code: 'INVALID_ARGUMENT',
    details: expect.stringContaining(mention) as unknown,
  });
  expect(failed.metadata.get('skiff-field')).toEqual([field]);
}

describe('malformed requests on a real control plane', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let team: Awaited<ReturnType<Harness['team']>>;
  let client: ReturnType<typeof rawClient> | undefined;
  const raw = (path: string, token: string, messages: Buffer[]): Promise<RawOutcome> => {
    client ??= rawClient(harness.address);
    return rawCall(client, rpc(path), token, messages);
  };

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({ redisUrl: redis.url, prefix: redis.prefix });
    team = await harness.team('team-m');
    await attachCompute(team.admin, 'team-m');
    await call(
      team.deployer.webservices,
      team.deployer.webservices.deployWebservice,
      { workspace: 'team-m', name: 'iris', spec: minimalSpec(), overwrite: false },
      team.deployer.metadata,
    );
  });
  afterAll(async () => {
    client?.close();
    await harness.stop();
    await redis.cleanup();
  });

  describe('stream positions that are not Redis stream ids', () => {
    const positions = [
      'garbage',
      '-',
      '+',
      '1-',
      '-1',
      '1-2-3',
      '1.5-0',
      ' 1-0',
      '18446744073709551616-0', // 2^64
      '0-18446744073709551616',
      '18446744073709551615-18446744073709551615', // nothing can follow the largest id
    ];

    it.each(positions)(
      'GetWebserviceLogs after_id %j, with and without follow',
      async (afterId) => {
        for (const follow of [false, true]) {
          const stream = team.reader.webservices.getWebserviceLogs(
            { workspace: 'team-m', name: 'iris', replica: '', tail: 0, follow, afterId },
            team.reader.metadata,
          );
          expectInvalid(await streamStatus(stream), 'after_id');
        }
      },
    );

    it.each(positions)('ListAuditEvents after_id %j', async (afterId) => {
      const error = await failure(
        call(
          team.admin.workspaces,
          team.admin.workspaces.listAuditEvents,
          { workspace: 'team-m', afterId, pageSize: 0 },
          team.admin.metadata,
        ),
      );
      expectInvalid(error, 'after_id');
    });

    it('accepts the positions the API hands out', async () => {
      const events = await call(
        team.admin.workspaces,
        team.admin.workspaces.listAuditEvents,
        { workspace: 'team-m', afterId: '', pageSize: 0 },
        team.admin.metadata,
      );
      const first = events.events[0]?.id ?? '';
      expect(first).toMatch(/^\d+-\d+$/);
      const after = await call(
        team.admin.workspaces,
        team.admin.workspaces.listAuditEvents,
        { workspace: 'team-m', afterId: first, pageSize: 0 },
        team.admin.metadata,
      );
      expect(after.events.map((e) => e.id)).toEqual(events.events.slice(1).map((e) => e.id));
      const logs = team.reader.webservices.getWebserviceLogs(
        { workspace: 'team-m', name: 'iris', replica: '', tail: 0, follow: false, afterId: '0-0' },
        team.reader.metadata,
      );
      expect(await streamStatus(logs)).toBe('OK');
    });
  });

  describe('update masks naming what every JavaScript object has', () => {
    const paths = [
      'toString',
      'constructor',
      'hasOwnProperty',
      '__proto__',
      'prototype',
      'valueOf',
      '__proto__.polluted',
      'constructor.prototype.polluted',
      'deployment_config.tags.constructor',
      'deployment_config.tags.__proto__',
      'deployment_config.__proto__',
      'deployment_config.auto_scaler.constructor',
      'inference_config.valueOf',
      'models.length',
      'deploymentConfig',
      '',
      'deployment_config.',
    ];

    it.each(paths)(
      'UpdateWebservice update_mask [%j] is INVALID_ARGUMENT naming it',
      async (path) => {
        const patch = minimalSpec();
        const error = await failure(
          call(
            team.deployer.webservices,
            team.deployer.webservices.updateWebservice,
            { workspace: 'team-m', name: 'iris', spec: patch, updateMask: [path] },
            team.deployer.metadata,
          ),
        );
        expectInvalid(error, 'update_mask', `'${path}'`);
        expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      },
    );

    it('still applies real paths, nested and whole', async () => {
      const updated = await call(
        team.deployer.webservices,
        team.deployer.webservices.updateWebservice,
        {
          workspace: 'team-m',
          name: 'iris',
          spec: minimalSpec({
            deploymentConfig: {
              computeType: 1,
              numReplicas: 3,
              tags: { team: 'm' },
              properties: {},
              namespace: '',
              description: 'ignored: not in the mask',
            },
          }),
          updateMask: ['deployment_config.num_replicas', 'deployment_config.tags'],
        },
        team.deployer.metadata,
      );
      const config = updated.webservice?.spec?.deploymentConfig;
      expect(config?.numReplicas).toBe(3);
      expect(config?.tags).toEqual({ team: 'm' });
      expect(config?.description).toBe('');
    });
  });

  describe('64-bit integers beyond what a JavaScript number holds exactly', () => {
    const watch = '/skiff.v1.WebserviceService/WatchDeployment';
    it.each([
      ['generation', { generation: INT64_MAX }],
      ['generation', { generation: SAFE_PLUS_ONE }],
      ['generation', { generation: INT64_MIN }],
      ['after_sequence', { afterSequence: INT64_MAX }],
      ['after_sequence', { afterSequence: -SAFE_PLUS_ONE }],
    ])('WatchDeployment %s %o → INVALID_ARGUMENT naming it', async (field, values) => {
      const request = encode('skiff.v1.WatchDeploymentRequest', {
        workspace: 'team-m',
        name: 'iris',
        ...values,
      });
      const outcome = await raw(watch, team.tokens.reader, [request]);
      expect(outcome).toMatchObject({ code: 'INVALID_ARGUMENT', field });
      expect(outcome.details).toContain(field);
    });

    it('UploadSnapshot: a declared size over 2^53 is RESOURCE_EXHAUSTED before any byte, and audited', async () => {
      const digest = `sha256:${'ab'.repeat(32)}`;
      const outcome = await raw('/skiff.v1.SnapshotService/UploadSnapshot', team.tokens.deployer, [
        encode('skiff.v1.UploadSnapshotRequest', {
          part: {
            case: 'header',
            value: { workspace: 'team-m', digest, sizeBytes: INT64_MAX },
          },
        }),
        encode('skiff.v1.UploadSnapshotRequest', {
          part: { case: 'chunk', value: new Uint8Array(1024) },
        }),
      ]);
      expect(outcome).toMatchObject({ code: 'RESOURCE_EXHAUSTED', field: 'header.size_bytes' });
      expect(outcome.details).toContain(String(INT64_MAX));
      const stored = await failure(
        call(
          team.reader.snapshots,
          team.reader.snapshots.getSnapshot,
          { workspace: 'team-m', digest },
          team.reader.metadata,
        ),
      );
      expect(status[stored.code]).toBe('NOT_FOUND');
      const audit = await call(
        team.admin.workspaces,
        team.admin.workspaces.listAuditEvents,
        { workspace: 'team-m', afterId: '', pageSize: 0 },
        team.admin.metadata,
      );
      expect(
        audit.events.filter((e) => e.action.endsWith('/UploadSnapshot')).map((e) => e.outcome),
      ).toContain('RESOURCE_EXHAUSTED');
    });

    it('UploadSnapshot: a negative size beyond -2^53 is INVALID_ARGUMENT', async () => {
      const outcome = await raw('/skiff.v1.SnapshotService/UploadSnapshot', team.tokens.deployer, [
        encode('skiff.v1.UploadSnapshotRequest', {
          part: {
            case: 'header',
            value: {
              workspace: 'team-m',
              digest: `sha256:${'cd'.repeat(32)}`,
              sizeBytes: INT64_MIN,
            },
          },
        }),
      ]);
      expect(outcome).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'header.size_bytes' });
    });

    const header = (totalBytes: bigint) =>
      encode('skiff.v1.RegisterModelRequest', {
        part: {
          case: 'header',
          value: {
            workspace: 'team-m',
            name: 'big',
            digest: `sha256:${'ef'.repeat(32)}`,
            totalBytes,
            fileCount: 1,
          },
        },
      });
    const file = (sizeBytes: bigint) =>
      encode('skiff.v1.RegisterModelRequest', {
        part: { case: 'file', value: { path: 'model.bin', sizeBytes } },
      });

    it.each([
      ['header.total_bytes', 'RESOURCE_EXHAUSTED', [header(INT64_MAX), file(1n)]],
      ['header.total_bytes', 'INVALID_ARGUMENT', [header(INT64_MIN)]],
      ['file.size_bytes', 'RESOURCE_EXHAUSTED', [header(1n), file(SAFE_PLUS_ONE)]],
      ['file.size_bytes', 'INVALID_ARGUMENT', [header(1n), file(-SAFE_PLUS_ONE)]],
    ] as const)('RegisterModel %s out of range → %s', async (field, code, messages) => {
      const outcome = await raw('/skiff.v1.ModelService/RegisterModel', team.tokens.deployer, [
        ...messages,
      ]);
      expect(outcome).toMatchObject({ code, field });
    });

    it('bytes that are no protobuf message at all are INVALID_ARGUMENT, not INTERNAL', async () => {
      const outcome = await raw('/skiff.v1.WorkspaceService/GetWorkspace', team.tokens.reader, [
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      ]);
      expect(outcome.code).toBe('INVALID_ARGUMENT');
    });
  });
});
