import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebserviceState } from '@skiff/proto';
import { ComputeQueue } from '@skiff/queue';
import { isolatedRedis, type IsolatedRedis, type KubernetesJson } from '@skiff/testing';
import { Redis } from 'ioredis';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMPUTE,
  SERVICE_NAMESPACE,
  startKubernetesPlatform,
  type KubernetesPlatform,
} from './support/kubernetes-platform.js';
import { repoRoot, waitFor, type AppProcess } from './support/processes.js';
import { reportedReplicas, scoreReplica } from './support/replicas.js';

const NODES = ['node-1', 'node-2'];
// Not `iris`: local-agent.test.ts counts the processes of team-a/iris on this machine, and
// these pods' scoring servers are processes here too.
const SERVICE = 'iris-k8s';

type Json = KubernetesJson;
const field = (object: Json | undefined, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (value, key) =>
      typeof value === 'object' && value !== null ? (value as Json)[key] : undefined,
    object,
  );
const isReady = (pod: Json) =>
  ((field(pod, 'status', 'conditions') as Json[] | undefined) ?? []).some(
    (c) => c['type'] === 'Ready' && c['status'] === 'True',
  );

// The Kubernetes runtime end to end: control plane, Redis and one agent per node as real
// processes, with SKIFF_RUNTIME=kubernetes against the API fake of @skiff/testing, whose kubelets
// run every replica pod as a real scoring-server process; environment images resolved through
// two real registries (the build is a Job whose pod pushes the image).
describe('agents on Kubernetes run deployments', () => {
  let redis: IsolatedRedis;
  let platform: KubernetesPlatform;
  const agents: AppProcess[] = [];
  let project: string;
  let state: Redis;

  /** What the agents last reported (every node), per the control plane's Redis. */
  const reported = (service = SERVICE) =>
    reportedReplicas(state, redis.prefix, COMPUTE, NODES, service);
  const service = () =>
    platform.admin.webservices
      .get({ workspace: 'team-a', name: SERVICE })
      .then((r) => r.webservice!);
  const pods = () => platform.fake.objects('Pod', SERVICE_NAMESPACE);
  const context = () =>
    agents.map((agent, i) => `agent on ${NODES[i]}:\n${agent.output()}`).join('\n');
  /** Waits until exactly `count` replicas of `generation` are reported, all ready. */
  const readyReplicas = (count: number, generation: number) =>
    waitFor(
      `${count} ready replicas of generation ${generation} reported, nothing else`,
      async () => {
        const all = await reported();
        return all.length === count &&
          all.every((r) => r.phase === 'ready' && r.generation === generation)
          ? all
          : undefined;
      },
      60_000,
      context,
    );
  const writeDeploymentConfig = (scoringTimeoutMs: number) =>
    writeFile(
      join(project, 'deploymentconfig.json'),
      JSON.stringify({ computeType: 'aks', numReplicas: 1, authEnabled: true, scoringTimeoutMs }),
    );

  beforeAll(async () => {
    redis = isolatedRedis();
    state = new Redis(redis.url);
    platform = await startKubernetesPlatform(redis, NODES);
    for (const node of NODES) agents.push(await platform.startAgent(node));
    project = await mkdtemp(join(tmpdir(), 'skiff-e2e-k8s-iris-'));
    await cp(join(repoRoot, 'examples/iris-python'), project, { recursive: true });
    await writeDeploymentConfig(5000);
    const model = join(repoRoot, 'examples/models/iris-logreg/1/iris-logreg.json');
    const registered = await platform.cli(['model', 'register', '-n', 'iris-logreg', '-p', model]);
    expect(registered.code, registered.out).toBe(0);
  });
  afterAll(async () => {
    await platform?.stop();
    state?.disconnect();
    await redis?.cleanup();
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('deploys examples/iris-python: the environment image is built once, the pod scores', async () => {
    const deployed = await platform.cli(
      [
        'model',
        'deploy',
        '-n',
        SERVICE,
        '-m',
        'iris-logreg:1',
        '--ic',
        'inferenceconfig.json',
        '--dc',
        'deploymentconfig.json',
        '--ct',
        COMPUTE,
      ],
      project,
    );
    expect(deployed.code, `${deployed.out}\n${context()}`).toBe(0);
    expect(deployed.out).toMatch(/not in the workspace registry/);
    expect(deployed.out).toMatch(/not in the global registry/);
    expect(deployed.out).toMatch(/Building the environment image/);
    expect(deployed.out).toMatch(/Healthy/);
    expect((await service()).state).toBe(WebserviceState.WEBSERVICE_STATE_HEALTHY);

    // One BuildKit Job, whose pod pushed to the workspace registry; the pods run that image,
    // pinned by digest.
    expect(platform.builds).toHaveLength(1);
    expect(platform.builds[0]).toMatch(
      new RegExp(`^${platform.workspaceRegistry.registry}/skiff/environments:v1-[0-9a-f]{64}$`),
    );
    expect(platform.fake.objects('Job', 'skiff')).toHaveLength(1);
    const image = field(pods()[0], 'spec', 'containers', '0', 'image');
    expect(image).toMatch(
      new RegExp(`^${platform.workspaceRegistry.registry}/skiff/environments@sha256:[0-9a-f]{64}$`),
    );

    const [replica] = await readyReplicas(1, 1);
    expect((await scoreReplica(replica!.address)).predictions).toEqual(['setosa']);
  });

  /** A scale decision as the autoscaler enqueues it (each with the next sequence number). */
  const scaleJob = (replicas: number, sequence: number) => {
    const job = {
      kind: 'scale' as const,
      workspace: 'team-a',
      service: SERVICE,
      generation: 1,
      replicas,
      reason: 'test',
      sequence,
    };
    return job;
  };

  it('scales 1 → 3 → 1; replicas on the other node get their artifacts from its agent', async () => {
    const queue = await ComputeQueue.connect({
      redisUrl: redis.url,
      prefix: `${redis.prefix.replace(/:$/, '')}:bull`,
      workspace: 'team-a',
      compute: COMPUTE,
    });
    try {
      await queue.enqueue(scaleJob(3, 1));
      const three = await readyReplicas(3, 1);
      // The scheduler spreads them: both nodes run replicas, each reported by its own agent,
      // and each scores — node-2's from the artifacts node-2's agent put in its cache.
      expect(new Set(three.map((r) => r.nodeName))).toEqual(new Set(NODES));
      for (const replica of three) {
        expect((await scoreReplica(replica.address)).predictions).toEqual(['setosa']);
      }
      await queue.enqueue(scaleJob(1, 2));
      await readyReplicas(1, 1);
      await platform.fake.until(() => pods().length === 1, 'one pod left', 30_000);
    } finally {
      await queue.close();
    }
  });

  it('rolls a new generation over: new pods ready before old ones go, no new build', async () => {
    const from = platform.fake.events.length;
    await writeDeploymentConfig(6000);
    const updated = await platform.cli(
      ['service', 'update', '-n', SERVICE, '--dc', 'deploymentconfig.json'],
      project,
    );
    expect(updated.code, `${updated.out}\n${context()}`).toBe(0);
    expect(updated.out).toMatch(/found in the workspace registry/);
    expect(platform.builds).toHaveLength(1);
    const [replica] = await readyReplicas(1, 2);
    expect((await scoreReplica(replica!.address)).predictions).toEqual(['setosa']);

    // Replay the pod changes of the rollout: whenever an old pod started to go, a new one
    // was ready (maxUnavailable 0).
    const live = new Map<string, { generation: string; ready: boolean; going: boolean }>();
    const readyNewWhenOldWent: number[] = [];
    for (const event of platform.fake.events.slice(from)) {
      if (
        event.resource.plural !== 'pods' ||
        field(event.object, 'metadata', 'namespace') !== SERVICE_NAMESPACE
      )
        continue;
      const name = String(field(event.object, 'metadata', 'name'));
      const generation = String(field(event.object, 'metadata', 'labels', 'skiff.dev/generation'));
      const going =
        event.type === 'DELETED' ||
        field(event.object, 'metadata', 'deletionTimestamp') !== undefined;
      const before = live.get(name);
      if (generation === '1' && going && !before?.going) {
        readyNewWhenOldWent.push(
          [...live.values()].filter((p) => p.generation === '2' && p.ready && !p.going).length,
        );
      }
      if (event.type === 'DELETED') live.delete(name);
      else live.set(name, { generation, ready: isReady(event.object), going });
    }
    expect(readyNewWhenOldWent).toHaveLength(1);
    expect(readyNewWhenOldWent.every((n) => n >= 1)).toBe(true);
  });

  it('deletes the service: its Deployment, Service and pods are gone', async () => {
    const deleted = await platform.cli(['service', 'delete', '-n', SERVICE]);
    expect(deleted.code, deleted.out).toBe(0);
    await platform.fake.until(
      () =>
        platform.fake.objects('Deployment', SERVICE_NAMESPACE).length === 0 &&
        platform.fake.objects('Service', SERVICE_NAMESPACE).length === 0 &&
        pods().length === 0,
      'no Deployment, Service or pod of the service',
      30_000,
    );
    await waitFor(
      'no replica reported',
      async () => ((await reported()).length === 0 ? true : undefined),
      10_000,
      context,
    );
  });

  it('sent only schema-valid manifests, none refused', () => {
    const sent = platform.fake.accepted.filter((m) => m.fieldManager === 'skiff-agent');
    expect(new Set(sent.map((m) => m.kind))).toEqual(
      new Set(['Service', 'Deployment', 'ConfigMap', 'Job']),
    );
    expect(new Set(sent.map((m) => m.operation))).toEqual(
      new Set(['apply', 'create', 'patch', 'scale']),
    );
    const models: Record<string, (body: Json) => { validate(): void }> = {
      Deployment: (body) => new Deployment(body as never),
      Service: (body) => new Service(body as never),
      Job: (body) => new Job(body as never),
      ConfigMap: (body) => new ConfigMap(body as never),
    };
    for (const manifest of sent) {
      const model = models[manifest.kind];
      // A merge patch (the ConfigMap's owner, a scale) is a fragment, not a manifest.
      if (!model || manifest.operation === 'patch' || manifest.operation === 'scale') continue;
      expect(
        () => model(manifest.body).validate(),
        `${manifest.kind} ${manifest.name}`,
      ).not.toThrow();
    }
    const refused = platform.fake.requests.filter((r) => r.code === 400 || r.code === 422);
    expect(refused.map((r) => `${r.method} ${r.path}: ${r.code}`)).toEqual([]);
  });
});
