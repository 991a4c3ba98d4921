// deploy/agent: every object is valid against the Kubernetes schemas, the DaemonSet is wired to
// what the driver expects, and the Role grants exactly the requests the driver, the leader
// election and the image builder make — measured on the fake, which records the verbs a real
// API server would authorize.
import { readdirSync, readFileSync } from 'node:fs';
import { parseEnvironmentHash } from '@skiff/hashing';
import { startKubernetesFake, type KubernetesFake } from '@skiff/testing';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { ReplicaLogLine, WorkloadSpec } from '../driver.js';
import { KubernetesDriver } from './driver.js';
import { KubernetesImageBuilder } from './image-builder.js';
import { LeaderElection } from './lease.js';
import { DEFAULT_ARTIFACT_CACHE_HOST_PATH } from './manifests.js';

const DIR = new URL('../../../../deploy/agent/', import.meta.url);

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
} & Record<string, unknown>;

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace as never,
  'v1/ServiceAccount': ServiceAccount as never,
  'v1/ConfigMap': ConfigMap as never,
  'apps/v1/DaemonSet': DaemonSet as never,
  'rbac.authorization.k8s.io/v1/Role': Role as never,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding as never,
};

function loadManifests(): { file: string; object: Manifest }[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(new URL(file, DIR), 'utf8')).map((doc) => {
        if (doc.errors.length > 0)
          throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
        return { file, object: doc.toJS() as Manifest };
      }),
    );
}

const manifests = loadManifests();
const one = <T>(kind: string) =>
  manifests.find((m) => m.object.kind === kind)!.object as unknown as T;

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

describe('deploy/agent', () => {
  it('holds one valid object per kind, each validated against the official schema', () => {
    expect(manifests.map((m) => m.object.kind).sort()).toEqual([
      'ConfigMap',
      'DaemonSet',
      'Namespace',
      'Role',
      'RoleBinding',
      'ServiceAccount',
    ]);
    for (const { file, object } of manifests) {
      const model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(model, `${file}: ${object.apiVersion} ${object.kind}`).toBeDefined();
      expect(() => new model!(object as never).validate(), file).not.toThrow();
      if (object.kind !== 'Namespace') expect(object.metadata.namespace, file).toBe('skiff');
    }
    const kustomization = parseAllDocuments(
      readFileSync(new URL('kustomization.yaml', DIR), 'utf8'),
    )[0]!.toJS() as { resources: string[] };
    expect([...kustomization.resources].sort()).toEqual(
      [...new Set(manifests.map((m) => m.file))].sort(),
    );
  });

  it('the schema validation above catches a broken object', () => {
    const daemonSet = structuredClone(one<Record<string, unknown>>('DaemonSet')) as {
      spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } };
    };
    daemonSet.spec.template.spec.containers[0]!.ports[0]!.containerPort = 'http';
    expect(() => new DaemonSet(daemonSet as never).validate()).toThrow();
  });

  it('runs the agent as the bound ServiceAccount, with its node name and the replicas artifact cache', () => {
    const daemonSet = one<{
      spec: {
        template: {
          spec: {
            serviceAccountName: string;
            containers: {
              env: {
                name: string;
                valueFrom?: { fieldRef?: { fieldPath: string } };
                value?: string;
              }[];
              volumeMounts: { name: string; mountPath: string }[];
            }[];
            volumes: { name: string; hostPath?: { path: string } }[];
          };
        };
      };
    }>('DaemonSet');
    const pod = daemonSet.spec.template.spec;
    const account = one<{ metadata: { name: string } }>('ServiceAccount').metadata.name;
    const binding = one<{
      roleRef: { kind: string; name: string };
      subjects: { kind: string; name: string; namespace: string }[];
    }>('RoleBinding');
    expect(pod.serviceAccountName).toBe(account);
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: account, namespace: 'skiff' },
    ]);
    expect(binding.roleRef).toMatchObject({
      kind: 'Role',
      name: one<{ metadata: { name: string } }>('Role').metadata.name,
    });
    const env = pod.containers[0]!.env;
    expect(env.find((e) => e.name === 'SKIFF_NODE_NAME')?.valueFrom?.fieldRef?.fieldPath).toBe(
      'spec.nodeName',
    );
    const cache = pod.volumes.find((v) => v.hostPath?.path === DEFAULT_ARTIFACT_CACHE_HOST_PATH);
    expect(cache, 'a hostPath volume at the path the replica manifests mount').toBeDefined();
    expect(pod.containers[0]!.volumeMounts.find((m) => m.name === cache!.name)?.mountPath).toBe(
      env.find((e) => e.name === 'SKIFF_CACHE_DIR')?.value,
    );
  });
});

describe('the Role', () => {
  let fake: KubernetesFake;

  beforeAll(async () => {
    fake = await startKubernetesFake({ namespaces: ['skiff'] });
  });

  afterAll(async () => {
    await fake.close();
  });

  /** Drives every Kubernetes call the agent's code makes, as one agent over a lifetime. */
  async function exerciseEverything(): Promise<void> {
    const kubeConfig = fake.kubeConfig;
    const driver = await KubernetesDriver.connect({
      kubeConfig,
      namespaces: ['skiff'],
      nodeName: 'node-1',
      retryDelayMs: 20,
    });
    const spec: WorkloadSpec = {
      workspace: 'team-a',
      service: 'iris',
      generation: 1,
      replicas: 1,
      namespace: 'skiff',
      environmentHash: `sha256:v1:${'a'.repeat(64)}`,
      image: 'registry.invalid/envs:v1',
      entryScript: 'score.py',
      runtime: 'python',
      snapshotDigest: '',
      models: [],
      environmentVariables: {},
      resources: { cpu: 0.1, memoryInGB: 0.5, gpu: 0, fpga: 0 },
      liveness: {
        periodSeconds: 10,
        initialDelaySeconds: 0,
        timeoutSeconds: 1,
        successThreshold: 1,
        failureThreshold: 3,
      },
      maxConcurrentRequests: 1,
      scoringTimeoutMs: 1_000,
      dataCollection: false,
    };
    await driver.apply(spec); // creates
    await driver.apply({ ...spec, generation: 2 }); // updates
    await driver.scale(spec, 2);
    await vi.waitFor(
      async () =>
        expect((await driver.listReplicas(spec)).filter((r) => r.phase === 'ready')).toHaveLength(
          2,
        ),
      { timeout: 10_000, interval: 20 },
    );
    const followed: ReplicaLogLine[] = [];
    const stopFollowing = driver.followLogs((_, lines) => followed.push(...lines));
    const stopWatching = await driver.watchReplicas(() => undefined);
    const [replica] = await driver.listReplicas(spec);
    await vi.waitFor(
      () => {
        fake.appendLog('skiff', replica!.id, ['hello']);
        expect(followed.length).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 50 },
    );
    await driver.tailLogs(spec, 10);
    stopFollowing();
    stopWatching();
    await driver.delete(spec);
    await driver.close();

    const election = new LeaderElection({ kubeConfig, namespace: 'skiff', identity: 'agent-1' });
    await election.tryAcquireOrRenew(); // creates
    await election.tryAcquireOrRenew(); // renews

    const hex = 'b'.repeat(64);
    await new KubernetesImageBuilder({ kubeConfig, namespace: 'skiff', pollIntervalMs: 20 }).build({
      environmentHash: parseEnvironmentHash(`sha256:v1:${hex}`),
      image: `registry.invalid/envs:v1-${hex}`,
      destination: {
        registry: 'registry.invalid',
        repository: 'envs',
        tag: `v1-${hex}`,
        insecure: false,
      },
      context: { dockerfile: 'FROM base\n', files: {} },
    });
  }

  it('grants exactly the verbs and resources the agent code calls', async () => {
    await exerciseEverything();
    const used = new Set(
      fake.requests
        .filter((r) => r.verb !== undefined)
        .flatMap((r) =>
          r.authorizedVerbs.map(
            (verb) =>
              `${r.apiGroup}|${r.resource}${r.subresource ? `/${r.subresource}` : ''}|${verb}`,
          ),
        ),
    );
    const role = one<{ rules: Rule[] }>('Role');
    const granted = new Set(
      role.rules.flatMap((rule) =>
        rule.apiGroups.flatMap((g) =>
          rule.resources.flatMap((res) => rule.verbs.map((v) => `${g}|${res}|${v}`)),
        ),
      ),
    );
    expect([...used].sort()).toEqual([...granted].sort());
    expect(fake.requests.every((r) => r.namespace === 'skiff')).toBe(true); // nothing cluster-wide
  });
});
