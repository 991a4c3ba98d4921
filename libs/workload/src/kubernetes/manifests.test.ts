import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { describe, expect, it } from 'vitest';
import type { WorkloadSpec } from '../driver.js';
import {
  cpuQuantity,
  DEFAULT_WAIT_IMAGE,
  deploymentManifest,
  LABELS,
  labelSelector,
  memoryQuantity,
  resourceRequirements,
  serviceManifest,
  workloadName,
} from './manifests.js';

/** A complete WorkloadSpec with SPEC.md's defaults, for tests; `overrides` win. */
function workloadSpec(overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return {
    workspace: 'team-a',
    service: 'iris',
    generation: 1,
    replicas: 2,
    namespace: 'skiff',
    environmentHash: `sha256:${'a'.repeat(64)}`,
    image: `registry.invalid/team-a/envs:v1-${'a'.repeat(64)}`,
    entryScript: 'score.py',
    runtime: 'python',
    snapshotDigest: `sha256:${'b'.repeat(64)}`,
    models: [{ name: 'iris-model', version: 3, digest: `sha256:${'c'.repeat(64)}` }],
    environmentVariables: { GREETING: 'hello' },
    resources: { cpu: 0.1, memoryInGB: 0.5, gpu: 0, fpga: 0 },
    liveness: {
      periodSeconds: 10,
      initialDelaySeconds: 310,
      timeoutSeconds: 2,
      successThreshold: 1,
      failureThreshold: 3,
    },
    maxConcurrentRequests: 1,
    scoringTimeoutMs: 60_000,
    dataCollection: false,
    ...overrides,
  };
}

const variants = {
  defaults: workloadSpec(),
  accelerators: workloadSpec({
    resources: { cpu: 2, memoryInGB: 4, cpuLimit: 4, memoryInGBLimit: 8, gpu: 1, fpga: 2 },
  }),
  'several models, data collection': workloadSpec({
    models: [
      { name: 'a', version: 1, digest: `sha256:${'1'.repeat(64)}` },
      { name: 'b', version: 2, digest: `sha256:${'2'.repeat(64)}` },
    ],
    dataCollection: true,
  }),
  'no snapshot, no models': workloadSpec({ snapshotDigest: '', models: [] }),
};

function container(spec = workloadSpec()) {
  return deploymentManifest(spec).spec!.template.spec!.containers[0]!;
}

function env(spec = workloadSpec()): Record<string, unknown> {
  return Object.fromEntries(
    (container(spec).env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]),
  );
}

describe('manifests', () => {
  it.each(Object.entries(variants))('are valid against the Kubernetes schemas (%s)', (_, spec) => {
    expect(() => new Deployment(deploymentManifest(spec) as never).validate()).not.toThrow();
    expect(() => new Service(serviceManifest(spec) as never).validate()).not.toThrow();
  });

  it('catches an invalid manifest (the validation guarding the test above works)', () => {
    const broken = deploymentManifest(workloadSpec()) as unknown as {
      spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } };
    };
    broken.spec.template.spec.containers[0]!.ports[0]!.containerPort = 'http';
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort/);
  });

  it('are the same bytes for the same spec', () => {
    expect(JSON.stringify(deploymentManifest(workloadSpec()))).toBe(
      JSON.stringify(deploymentManifest(workloadSpec())),
    );
  });

  it('name objects per workspace and service, and label them; the selector leaves out the generation', () => {
    const name = workloadName({ workspace: 'team-a', service: 'iris' });
    expect(name).toMatch(/^iris-[0-9a-f]{8}$/);
    expect(workloadName({ workspace: 'team-b', service: 'iris' })).not.toBe(name);
    const deployment = deploymentManifest(workloadSpec({ generation: 7 }));
    const labels = {
      [LABELS.managedBy]: 'skiff',
      [LABELS.workspace]: 'team-a',
      [LABELS.service]: 'iris',
      [LABELS.generation]: '7',
    };
    expect(deployment.metadata).toMatchObject({ name, namespace: 'skiff', labels });
    expect(deployment.spec?.template.metadata?.labels).toEqual(labels);
    expect(deployment.spec?.selector.matchLabels).toEqual({
      [LABELS.managedBy]: 'skiff',
      [LABELS.workspace]: 'team-a',
      [LABELS.service]: 'iris',
    });
    expect(serviceManifest(workloadSpec({ generation: 7 })).metadata?.labels).toEqual(labels);
    expect(serviceManifest(workloadSpec()).spec?.selector).toEqual(
      deployment.spec?.selector.matchLabels,
    );
    expect(labelSelector({ workspace: 'team-a', service: 'iris' })).toBe(
      'app.kubernetes.io/managed-by=skiff,skiff.dev/workspace=team-a,skiff.dev/service=iris',
    );
  });

  it('roll over with maxUnavailable 0 and set the replica count', () => {
    const spec = deploymentManifest(workloadSpec({ replicas: 3 })).spec!;
    expect(spec.replicas).toBe(3);
    expect(spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' },
    });
  });

  it('size the container from ReplicaResources: millicores, Mi/Gi, GPUs and FPGAs as extended resources', () => {
    expect(cpuQuantity(0.1)).toBe('100m');
    expect(cpuQuantity(0.0001)).toBe('1m');
    expect(memoryQuantity(0.5)).toBe('512Mi');
    expect(memoryQuantity(1.5)).toBe('1536Mi');
    expect(memoryQuantity(2)).toBe('2Gi');
    expect(container().resources).toEqual({ requests: { cpu: '100m', memory: '512Mi' } });
    expect(container(variants.accelerators).resources).toEqual({
      requests: { cpu: '2000m', memory: '4Gi', 'nvidia.com/gpu': '1', 'skiff.dev/fpga': '2' },
      limits: { cpu: '4000m', memory: '8Gi', 'nvidia.com/gpu': '1', 'skiff.dev/fpga': '2' },
    });
    expect(
      resourceRequirements({ cpu: 1, memoryInGB: 1, gpu: 0, fpga: 1 }, 'vendor.example/fpga')
        .limits,
    ).toEqual({
      'vendor.example/fpga': '1',
    });
    const pod = deploymentManifest(variants.accelerators).spec!.template.spec!;
    expect(pod.tolerations?.map((t) => t.key)).toEqual(['nvidia.com/gpu', 'skiff.dev/fpga']);
  });

  it('probe readiness on /ready at once and liveness on /live after the initial delay', () => {
    const spec = workloadSpec({
      liveness: {
        periodSeconds: 5,
        initialDelaySeconds: 310,
        timeoutSeconds: 2,
        successThreshold: 2,
        failureThreshold: 4,
      },
    });
    expect(container(spec).readinessProbe).toEqual({
      httpGet: { path: '/ready', port: 'http', scheme: 'HTTP' },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 4,
      successThreshold: 2,
    });
    expect(container(spec).livenessProbe).toEqual({
      httpGet: { path: '/live', port: 'http', scheme: 'HTTP' },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 4,
      initialDelaySeconds: 310,
      successThreshold: 1,
    });
    expect(container(spec).ports).toEqual([{ name: 'http', containerPort: 5001, protocol: 'TCP' }]);
  });

  it('set the scoring server environment, the replica id from the pod name, and the spec variables', () => {
    const spec = workloadSpec({
      maxConcurrentRequests: 4,
      scoringTimeoutMs: 5_000,
      environmentVariables: { ZED: 'z', ALPHA: 'a', SKIFF_PORT: '1' },
    });
    const names = (container(spec).env ?? []).map((e) => e.name);
    expect(names.slice(0, 2)).toEqual(['ALPHA', 'ZED']);
    expect(names.filter((n) => n === 'SKIFF_PORT')).toHaveLength(1);
    expect(env(spec)).toMatchObject({
      SKIFF_ENTRY_SCRIPT: 'score.py',
      SKIFF_RUNTIME: 'python',
      SKIFF_PORT: '5001',
      SKIFF_HOST: '0.0.0.0',
      SKIFF_MAX_CONCURRENT_REQUESTS: '4',
      SKIFF_SCORING_TIMEOUT_MS: '5000',
      SKIFF_SERVICE_ID: 'team-a/iris',
      SKIFF_REPLICA_ID: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
      SKIFF_SOURCE_DIR: '/var/azureml-app/source',
      AZUREML_MODEL_DIR: '/var/azureml-app/azureml-models/iris-model/3',
    });
    expect(env(variants['several models, data collection'])).toMatchObject({
      AZUREML_MODEL_DIR: '/var/azureml-app/azureml-models',
      SKIFF_DATA_COLLECTION_DIR: '/var/skiff/data-collection',
    });
    expect(env(variants['no snapshot, no models'])['AZUREML_MODEL_DIR']).toBeUndefined();
    expect(deploymentManifest(spec).spec?.template.spec?.terminationGracePeriodSeconds).toBe(15);
  });

  it('mount each artifact from the node cache read-only, after a trusted init container saw it complete', () => {
    const pod = deploymentManifest(variants['several models, data collection']).spec!.template
      .spec!;
    expect(pod.volumes?.[0]).toEqual({
      name: 'artifacts',
      hostPath: { path: '/var/lib/skiff/cache', type: 'Directory' },
    });
    expect(pod.volumes?.[1]?.hostPath?.path).toBe('/var/lib/skiff/data-collection/team-a');
    expect(pod.containers[0]?.volumeMounts).toEqual([
      {
        name: 'artifacts',
        mountPath: '/var/azureml-app/source',
        subPath: `snapshots/sha256-${'b'.repeat(64)}`,
        readOnly: true,
      },
      {
        name: 'artifacts',
        mountPath: '/var/azureml-app/azureml-models/a/1',
        subPath: 'models/a/1',
        readOnly: true,
      },
      {
        name: 'artifacts',
        mountPath: '/var/azureml-app/azureml-models/b/2',
        subPath: 'models/b/2',
        readOnly: true,
      },
      { name: 'data-collection', mountPath: '/var/skiff/data-collection' },
    ]);
    const wait = pod.initContainers?.[0];
    expect(wait?.image).toBe(DEFAULT_WAIT_IMAGE);
    expect(wait?.command?.slice(3)).toEqual([
      'wait-for-artifacts',
      `snapshots/sha256-${'b'.repeat(64)}`,
      'models/a/1',
      'models/b/2',
    ]);
    expect(wait?.volumeMounts).toEqual([
      { name: 'artifacts', mountPath: '/var/skiff/cache', readOnly: true },
    ]);
    expect(
      deploymentManifest(variants['no snapshot, no models']).spec?.template.spec?.initContainers,
    ).toBeUndefined();
  });

  it('keep replicas away from the API and other services, as a non-root user', () => {
    const pod = deploymentManifest(workloadSpec()).spec!.template.spec!;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(pod.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
  });
});
