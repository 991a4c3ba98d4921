import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
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
});
