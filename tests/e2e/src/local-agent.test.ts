import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebserviceState } from '@skiff/proto';
import { ComputeQueue } from '@skiff/queue';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from './support/platform.js';
import { repoRoot, waitFor, type AppProcess } from './support/processes.js';
import { reportedReplicas, scoreReplica } from './support/replicas.js';

// The local runtime end to end, every part a real process: control plane, agent, Redis and
// the scoring-server replicas, driven by the `skiff` CLI from a copy of examples/iris-python.
describe('a local agent runs deployments', () => {
  let redis: IsolatedRedis;
  let platform: LocalPlatform;
  let agent: AppProcess;
  let project: string;
  let state: Redis;

  /** What the agent last reported, per the control plane's Redis. */
  const reported = (service = 'iris') =>
    reportedReplicas(state, redis.prefix, 'local', ['node-1'], service);
  const ready = async (service = 'iris') =>
    (await reported(service)).filter((replica) => replica.phase === 'ready');
  const service = (name = 'iris') =>
    platform.admin.webservices.get({ workspace: 'team-a', name }).then((r) => r.webservice!);
  /** Processes of a service (its SKIFF_SERVICE_ID in their environment): launchers, servers, workers. */
  const processesOf = (name: string) =>
    readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .flatMap((pid) => {
        try {
          const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
          if (!environ.includes(`SKIFF_SERVICE_ID=team-a/${name}`)) return [];
          const replica = environ.find((v) => v.startsWith('SKIFF_REPLICA_ID=')) ?? '';
          const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
          return [{ pid: Number(pid), replica, command }];
        } catch {
          return []; // gone meanwhile, or not ours to read
        }
      });
  /** The replicas that have processes running, by replica id. */
  const replicasRunning = (name: string) => new Set(processesOf(name).map((p) => p.replica)).size;
  const context = () => `agent output:\n${agent.output()}`;

  beforeAll(async () => {
    redis = isolatedRedis();
    state = new Redis(redis.url);
    platform = await startLocalPlatform(redis);
    agent = await platform.startAgent();
    project = await mkdtemp(join(tmpdir(), 'skiff-e2e-iris-'));
    await cp(join(repoRoot, 'examples/iris-python'), project, { recursive: true });
    await writeFile(
      join(project, 'deploymentconfig.json'),
      JSON.stringify({
        computeType: 'aks',
        numReplicas: 2,
        authEnabled: true,
        scoringTimeoutMs: 5000,
      }),
    );
    const model = join(repoRoot, 'examples/models/iris-logreg/1/iris-logreg.json');
    const registered = await platform.cli(['model', 'register', '-n', 'iris-logreg', '-p', model]);
    expect(registered.code, registered.out).toBe(0);
  });
  afterAll(async () => {
    await platform?.stop();
    // Replicas outlive a stopped agent by design; the test's own go with the service delete,
    // and anything left by a failed test is stopped here.
    for (const name of ['iris', 'broken']) {
      for (const { pid } of processesOf(name)) process.kill(pid, 'SIGKILL');
    }
    state?.disconnect();
    await redis?.cleanup();
    await rm(project, { recursive: true, force: true });
  });

  it('deploys examples/iris-python from its v1 files to Healthy, with replicas that score', async () => {
    const deployed = await platform.cli(
      [
        'model',
        'deploy',
        '-n',
        'iris',
        '-m',
        'iris-logreg:1',
        '--ic',
        'inferenceconfig.json',
        '--dc',
        'deploymentconfig.json',
        '--ct',
        'local',
      ],
      project,
    );
    expect(deployed.code, `${deployed.out}\n${context()}`).toBe(0);
    expect(deployed.out).toMatch(/Healthy/);
    const healthy = await service();
    expect(healthy.state).toBe(WebserviceState.WEBSERVICE_STATE_HEALTHY);
    const replicas = await waitFor(
      '2 ready replicas reported',
      async () => {
        const found = await ready();
        return found.length === 2 ? found : undefined;
      },
      30_000,
      context,
    );
    expect(new Set(replicas.map((r) => r.address)).size).toBe(2);
    for (const replica of replicas) {
      expect((await scoreReplica(replica.address)).predictions).toEqual(['setosa']);
    }
    expect(replicasRunning('iris')).toBe(2);
  });

  it('scales 2 → 3 → 1 while a client scores every ready replica, failing no request', async () => {
    const queue = await ComputeQueue.connect({
      redisUrl: redis.url,
      prefix: `${redis.prefix.replace(/:$/, '')}:bull`,
      workspace: 'team-a',
      compute: 'local',
    });
    let failures: string[] = [];
    let scored = 0;
    let loading = true;
    const load = (async () => {
      while (loading) {
        for (const replica of await ready()) {
          await scoreReplica(replica.address).then(
            () => scored++,
            (error: Error) => failures.push(error.message),
          );
        }
      }
    })();
    try {
      for (const [index, replicas] of [3, 1].entries()) {
        await queue.enqueue({
          kind: 'scale',
          workspace: 'team-a',
          service: 'iris',
          generation: 1,
          replicas,
          reason: 'test',
          sequence: index + 1,
        });
        await waitFor(
          `${replicas} ready replicas and nothing draining`,
          async () => {
            const all = await reported();
            return all.length === replicas && all.every((r) => r.phase === 'ready')
              ? all
              : undefined;
          },
          60_000,
          context,
        );
      }
      expect(replicasRunning('iris')).toBe(1);
    } finally {
      loading = false;
      await load;
      await queue.close();
    }
    expect(scored).toBeGreaterThan(0);
    expect(failures).toEqual([]);
    failures = [];
  });

  it('restarts a replica killed with SIGKILL and reports the restart', async () => {
    const server = processesOf('iris').find(
      (p) => p.command.includes('skiff-scoring-server') && !p.command.includes('launcher'),
    );
    process.kill(server!.pid, 'SIGKILL');
    const restarted = await waitFor(
      'the replica to come back',
      async () => {
        const found = (await ready()).find((replica) => replica.restartCount >= 1);
        return found;
      },
      60_000,
      context,
    );
    expect((await scoreReplica(restarted.address)).predictions).toEqual(['setosa']);
    expect(replicasRunning('iris')).toBe(1);
  });

  it('finishes a deployment whose agent was killed mid-way, with no duplicate replica', async () => {
    await writeFile(
      join(project, 'deploymentconfig.json'),
      JSON.stringify({
        computeType: 'aks',
        numReplicas: 2,
        authEnabled: true,
        scoringTimeoutMs: 6000,
      }),
    );
    const update = await platform.cli(
      ['service', 'update', '-n', 'iris', '--dc', 'deploymentconfig.json', '--no-wait'],
      project,
    );
    expect(update.code, update.out).toBe(0);
    await waitFor(
      'the agent to start generation 2',
      async () =>
        (await reported()).some((replica) => replica.generation === 2) ? true : undefined,
      60_000,
      context,
    );
    await agent.kill('SIGKILL');
    agent = await platform.startAgent();
    const done = await waitFor(
      'generation 2 Healthy',
      async () => {
        const current = await service();
        return current.state === WebserviceState.WEBSERVICE_STATE_HEALTHY &&
          current.appliedGeneration === 2
          ? current
          : undefined;
      },
      90_000,
      context,
    );
    expect(done.generation).toBe(2);
    const all = await waitFor(
      'only generation 2 left',
      async () => {
        const found = await reported();
        return found.length === 2 && found.every((r) => r.generation === 2 && r.phase === 'ready')
          ? found
          : undefined;
      },
      60_000,
      context,
    );
    expect(all).toHaveLength(2);
    expect(replicasRunning('iris')).toBe(2);
  });

  it('fails a deployment whose init() raises, with the traceback in the failure and in get-logs', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'skiff-e2e-broken-'));
    try {
      await writeFile(
        join(broken, 'score.py'),
        'def init():\n    raise ValueError("no model here")\n\ndef run(raw):\n    return raw\n',
      );
      await writeFile(
        join(broken, 'inferenceconfig.json'),
        JSON.stringify({ entryScript: 'score.py', runtime: 'python', sourceDirectory: '.' }),
      );
      await writeFile(
        join(broken, 'deploymentconfig.json'),
        JSON.stringify({ computeType: 'aks', numReplicas: 1 }),
      );
      const deployed = await platform.cli(
        [
          'model',
          'deploy',
          '-n',
          'broken',
          '--ic',
          'inferenceconfig.json',
          '--dc',
          'deploymentconfig.json',
          '--ct',
          'local',
        ],
        broken,
      );
      expect(deployed.code, `${deployed.out}\n${context()}`).toBe(1);
      expect(deployed.out).toMatch(/EntryScriptInitFailed/);
      expect(deployed.out).toMatch(/ValueError: no model here/);
      const failed = await service('broken');
      expect(failed.state).toBe(WebserviceState.WEBSERVICE_STATE_FAILED);
      const logs = await platform.cli(['service', 'get-logs', '-n', 'broken', '--tail', '100']);
      expect(logs.out).toMatch(/Traceback/);
      expect(logs.out).toMatch(/ValueError: no model here/);
      const deleted = await platform.cli(['service', 'delete', '-n', 'broken']);
      expect(deleted.code, deleted.out).toBe(0);
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('deletes a service: no process, file or Redis key of it is left', async () => {
    const deleted = await platform.cli(['service', 'delete', '-n', 'iris']);
    expect(deleted.code, deleted.out).toBe(0);
    await waitFor(
      'the service to be gone',
      async () =>
        (await service().then(
          () => false,
          () => true,
        ))
          ? true
          : undefined,
      60_000,
      context,
    );
    await waitFor(
      'its processes to be gone',
      async () => (processesOf('iris').length === 0 ? true : undefined),
      30_000,
      context,
    );
    const files = await readdir(join(platform.dataDir, 'agent', 'replicas', 'team-a')).catch(
      () => [],
    );
    expect(files.filter((name) => name === 'iris')).toEqual([]);
    expect(await state.keys(`${redis.prefix}ws:team-a:svc:iris:*`)).toEqual([]);
    // The next report (at most an interval later) no longer lists them.
    await waitFor(
      'no replica reported',
      async () => ((await reported()).length === 0 ? true : undefined),
      10_000,
      context,
    );
  });
});
