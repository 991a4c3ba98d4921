import { rm } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import { WebserviceState, type WebserviceSpec } from '@skiff/proto';
import { ComputeQueue } from '@skiff/queue';
import { startRedisServer } from '@skiff/testing';
import { describe, expect, it } from 'vitest';
import { attachCompute, call, eventually, failure, startHarness } from './test-support/harness.js';

// SPEC: Redis holds all state; production runs it with AOF (appendonly yes). These tests use a
// Redis of their own so they can kill it.
const spec: WebserviceSpec = {
  compute: 'local',
  models: [],
  snapshotDigest: '',
  inferenceConfig: { entryScript: 'score.py', runtime: '', sourceDirectory: '', description: '' },
  deploymentConfig: { computeType: 1, tags: {}, properties: {}, namespace: '', description: '' },
};

describe('the control plane when Redis fails', () => {
  it('answers UNAVAILABLE while Redis is down, and with AOF loses no service, key or queued job across a Redis crash — without a control-plane restart', async () => {
    const redis = await startRedisServer({ appendOnly: true });
    const prefix = 'skiff-durability:';
    const harness = await startHarness({ redisUrl: redis.url, prefix });
    let restarted: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    try {
      const team = await harness.team('team-a');
      const { deployer, admin } = team;
      await attachCompute(admin, 'team-a');
      await call(
        deployer.webservices,
        deployer.webservices.deployWebservice,
        { workspace: 'team-a', name: 'iris', spec, overwrite: false },
        deployer.metadata,
      );
      const keys = await call(
        deployer.webservices,
        deployer.webservices.getWebserviceKeys,
        { workspace: 'team-a', name: 'iris' },
        deployer.metadata,
      );

      await redis.crash();
      const during = await failure(
        call(
          deployer.webservices,
          deployer.webservices.getWebservice,
          { workspace: 'team-a', name: 'iris' },
          deployer.metadata,
        ),
      );
      expect(during.code).toBe(status.UNAVAILABLE);
      expect(during.details).toContain('state store');
      // The readiness probe follows Redis (checked every 2 s).
      await eventually(async () => {
        const readyz = await fetch(`http://${harness.controlPlane.server.httpAddress}/readyz`);
        if (readyz.status !== 503) throw new Error(`readyz ${readyz.status}`);
      });

      restarted = await startRedisServer({ port: redis.port, dir: redis.dir, appendOnly: true });
      const after = await eventually(() =>
        call(
          deployer.webservices,
          deployer.webservices.getWebservice,
          { workspace: 'team-a', name: 'iris' },
          deployer.metadata,
        ),
      );
      expect(after.webservice?.state).toBe(WebserviceState.WEBSERVICE_STATE_TRANSITIONING);
      expect(after.webservice?.generation).toBe(1);
      const keysAfter = await call(
        deployer.webservices,
        deployer.webservices.getWebserviceKeys,
        { workspace: 'team-a', name: 'iris' },
        deployer.metadata,
      );
      expect(keysAfter).toEqual(keys);
      await eventually(async () => {
        const readyz = await fetch(`http://${harness.controlPlane.server.httpAddress}/readyz`);
        if (readyz.status !== 200) throw new Error(`readyz ${readyz.status}`);
      });

      const queue = await ComputeQueue.connect({
        redisUrl: restarted.url,
        prefix: 'skiff-durability:bull',
        workspace: 'team-a',
        compute: 'local',
      });
      try {
        expect(await queue.pendingCount()).toBe(1);
      } finally {
        await queue.close();
      }
    } finally {
      await harness.stop();
      await restarted?.stop();
      await rm(redis.dir, { recursive: true, force: true });
    }
  });
});
