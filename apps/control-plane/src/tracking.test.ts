import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { DeploymentStep, WebserviceState } from '@skiff/proto';
import { ComputeQueue } from '@skiff/queue';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  attachCompute,
  call,
  clientsFor,
  eventually,
  failure,
  minimalSpec,
  newAdminToken,
  startHarness,
  watchDeployment,
  type Clients,
  type Harness,
} from './test-support/harness.js';
import { startControlPlaneProcess } from './test-support/process.js';
import { startStandInAgent, type StandInAgent } from './test-support/stand-in-agent.js';

// Deployment tracking against real Redis, real BullMQ and a stand-in agent: what happens when
// a name is reused, when no control plane listens, and when several run at once.
describe('deployment tracking', () => {
  let redis: IsolatedRedis;
  let dataDir: string;
  let adminToken: string;
  const running: Array<{ stop(): Promise<void> }> = [];

  beforeEach(async () => {
    redis = isolatedRedis();
    dataDir = await mkdtemp(join(tmpdir(), 'skiff-tracking-'));
    adminToken = newAdminToken();
  });
  afterEach(async () => {
    for (const thing of running.splice(0).reverse()) await thing.stop();
    await redis.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A control plane in this process on the shared state, stopped after the test. */
  async function controlPlane(reconcileSeconds = '3600'): Promise<Harness> {
    const harness = await startHarness({
      redisUrl: redis.url,
      prefix: redis.prefix,
      dataDir,
      env: { SKIFF_ADMIN_TOKEN: adminToken, SKIFF_RECONCILE_SECONDS: reconcileSeconds },
    });
    running.push(harness);
    return harness;
  }
  function agent(options: Partial<Parameters<typeof startStandInAgent>[0]> = {}): StandInAgent {
    const started = startStandInAgent({
      redisUrl: redis.url,
      prefix: redis.prefix,
      workspace: 'team-a',
      ...options,
    });
    running.push({ stop: () => started.close() });
    return started;
  }
  async function team(harness: Harness): Promise<Clients> {
    const { deployer, admin } = await harness.team('team-a');
    await attachCompute(admin, 'team-a');
    return deployer;
  }
  const deploy = (clients: Clients, name: string) =>
    call(
      clients.webservices,
      clients.webservices.deployWebservice,
      { workspace: 'team-a', name, spec: minimalSpec(), overwrite: false },
      clients.metadata,
    );
  const get = async (clients: Clients, name: string) =>
    (
      await call(
        clients.webservices,
        clients.webservices.getWebservice,
        { workspace: 'team-a', name },
        clients.metadata,
      )
    ).webservice!;
  const healthy = (clients: Clients, name: string) =>
    eventually(async () => {
      const service = await get(clients, name);
      if (service.state !== WebserviceState.WEBSERVICE_STATE_HEALTHY) {
        throw new Error(`${name} is ${WebserviceState[service.state]}`);
      }
      return service;
    });
  const steps = (events: Awaited<ReturnType<typeof watchDeployment>>) =>
    events.map((e) => `${e.sequence} ${DeploymentStep[e.step].replace('DEPLOYMENT_STEP_', '')}`);

  it('deploys a name again after deleting it: a new generation, its own job, Healthy', async () => {
    const harness = await controlPlane();
    const deployer = await team(harness);
    const standIn = agent();
    expect((await deploy(deployer, 'iris')).operationId).toBe('deploy.team-a.iris.1');
    await healthy(deployer, 'iris');
    await call(
      deployer.webservices,
      deployer.webservices.deleteWebservice,
      { workspace: 'team-a', name: 'iris' },
      deployer.metadata,
    );
    await eventually(async () => {
      const gone = await failure(get(deployer, 'iris'));
      expect(gone.code).toBe(status.NOT_FOUND);
    });

    const again = await deploy(deployer, 'iris');
    expect(again.operationId).toBe('deploy.team-a.iris.2');
    expect(again.webservice?.generation).toBe(2);
    const events = await watchDeployment(deployer, 'team-a', 'iris');
    expect(steps(events)).toEqual([
      '1 QUEUED',
      '2 STARTED',
      '3 WORKLOAD_APPLIED',
      '4 REPLICAS',
      '5 REPLICAS',
      '6 HEALTHY',
    ]);
    const service = await healthy(deployer, 'iris');
    expect([service.generation, service.replicas?.ready]).toEqual([2, 2]);
    expect(standIn.seen).toEqual(['deploy iris 1', 'delete iris 1', 'deploy iris 2']);
  });

  it('settles a deployment an agent finished while no control plane was running', async () => {
    const first = await controlPlane();
    const deployer = await team(first);
    await deploy(deployer, 'iris');
    await first.stop();
    running.splice(running.indexOf(first), 1);

    agent();
    const queue = await ComputeQueue.connect({
      redisUrl: redis.url,
      prefix: `${redis.prefix.replace(/:$/, '')}:bull`,
      workspace: 'team-a',
      compute: 'local',
    });
    running.push({ stop: () => queue.close() });
    await eventually(async () => {
      expect((await queue.status('deploy.team-a.iris.1'))?.state).toBe('completed');
    });

    const second = await controlPlane();
    const reader = clientsFor(second.address, adminToken);
    const service = await healthy(reader, 'iris');
    expect([service.appliedGeneration, service.replicas?.ready]).toEqual([1, 2]);
    reader.close();
  });

  it('tracks a compute target attached through another control plane', async () => {
    // B runs before the compute target exists; everything happens through A, which then stops.
    const b = await controlPlane('0.2');
    const a = await controlPlane();
    const deployer = await team(a);
    await deploy(deployer, 'iris');
    await a.stop();
    running.splice(running.indexOf(a), 1);
    agent();
    const throughB = clientsFor(b.address, adminToken);
    const service = await healthy(throughB, 'iris');
    expect(service.replicas?.ready).toBe(2);
    throughB.close();
  });

  it('runs two control-plane processes at once: deploys through either are tracked once each, also after one is killed mid-deploy', async () => {
    const env = {
      REDIS_URL: redis.url,
      SKIFF_REDIS_PREFIX: redis.prefix,
      SKIFF_DATA_DIR: dataDir,
      SKIFF_ADMIN_TOKEN: adminToken,
      SKIFF_RECONCILE_SECONDS: '0.5',
    };
    const one = await startControlPlaneProcess(env);
    running.push({ stop: () => one.kill() });
    const two = await startControlPlaneProcess(env);
    running.push({ stop: () => two.kill() });
    const viaOne = clientsFor(one.address, adminToken);
    const viaTwo = clientsFor(two.address, adminToken);
    running.push({ stop: async () => (viaOne.close(), viaTwo.close()) });
    await call(
      viaOne.workspaces,
      viaOne.workspaces.createWorkspace,
      { workspace: { name: 'team-a', description: '', defaultNamespace: '' } },
      viaOne.metadata,
    );
    await attachCompute(viaOne, 'team-a');

    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reachedMiddle = 0;
    const standIn = agent({
      midDeploy: async () => {
        reachedMiddle++;
        await held;
      },
    });
    await deploy(viaOne, 'alpha');
    await deploy(viaTwo, 'beta');
    await eventually(async () => expect(reachedMiddle).toBe(2));
    await one.kill('SIGKILL');
    release();

    for (const name of ['alpha', 'beta']) {
      const service = await healthy(viaTwo, name);
      expect([service.generation, service.appliedGeneration, service.replicas?.ready]).toEqual([
        1, 1, 2,
      ]);
      expect(steps(await watchDeployment(viaTwo, 'team-a', name))).toEqual([
        '1 QUEUED',
        '2 STARTED',
        '3 WORKLOAD_APPLIED',
        '4 REPLICAS',
        '5 REPLICAS',
        '6 HEALTHY',
      ]);
    }
    expect(standIn.seen.sort()).toEqual(['deploy alpha 1', 'deploy beta 1']);
  });
});
