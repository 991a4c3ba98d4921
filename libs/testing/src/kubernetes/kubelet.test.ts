// The simulated kubelet and Deployment controller with real processes (httpPodRunner): the
// pod address, readiness from the HTTP probe, restarts, logs, rolling updates.
import { PassThrough } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startKubernetesFake, type KubernetesFake } from './fake.js';
import type { JsonObject } from './json.js';
import { httpPodRunner } from './runner.js';

const APPLY = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
const namespace = 'team-a';
const WAIT = { timeout: 10_000, interval: 20 };
let fake: KubernetesFake;
let apps: k8s.AppsV1Api;
let core: k8s.CoreV1Api;

function deployment(name: string, version: string, replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: { app: name, version } },
        spec: {
          containers: [
            {
              name: 'web',
              image: `registry.invalid/web:${version}`,
              ports: [{ name: 'http', containerPort: 5001 }],
              readinessProbe: { httpGet: { path: '/', port: 'http' }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

async function apply(name: string, version: string, replicas: number): Promise<void> {
  await apps.patchNamespacedDeployment(
    {
      name,
      namespace,
      body: deployment(name, version, replicas),
      fieldManager: 'skiff-test',
      fieldValidation: 'Strict',
      force: true,
    },
    APPLY,
  );
}

function readyPods(): k8s.V1Pod[] {
  return (fake.objects('Pod', namespace) as k8s.V1Pod[]).filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}

/** podIP:containerPort as a driver reads it from the pod. */
function address(pod: k8s.V1Pod): string {
  const port = pod.spec?.containers[0]?.ports?.find((p) => p.name === 'http')?.containerPort;
  return `${pod.status?.podIP}:${port}`;
}

/** A request to the pod's process, retried while it is not listening yet (it just started). */
async function send(pod: k8s.V1Pod, path: string, method = 'POST', body = ''): Promise<number> {
  return vi.waitFor(async () => {
    const response = await fetch(`http://${address(pod)}${path}`, {
      method,
      ...(method === 'GET' ? {} : { body }),
    });
    await response.text();
    return response.status;
  }, WAIT);
}

async function post(pod: k8s.V1Pod, path: string, body = ''): Promise<void> {
  await send(pod, path, 'POST', body);
}

describe('with real processes', () => {
  beforeEach(async () => {
    fake = await startKubernetesFake({
      namespaces: [namespace],
      runner: httpPodRunner({ startReady: false }),
    });
    apps = fake.kubeConfig.makeApiClient(k8s.AppsV1Api);
    core = fake.kubeConfig.makeApiClient(k8s.CoreV1Api);
  });

  afterEach(async () => {
    await fake.close();
  });

  it('exposes the process as podIP:containerPort and turns Ready only when the probe answers 200', async () => {
    await apply('web', 'v1', 1);
    await fake.until(
      () => fake.objects('Pod', namespace).some((p) => (p['status'] as { podIP?: string }).podIP),
      'a pod IP',
    );
    const [pod] = fake.objects('Pod', namespace) as k8s.V1Pod[];
    expect(pod!.status?.podIP).toBe('127.0.0.1');
    expect(await send(pod!, '/', 'GET')).toBe(503);
    expect(readyPods()).toHaveLength(0);

    await post(pod!, '/ready');
    await fake.until(() => readyPods().length === 1, 'the pod to turn Ready');
    const status = (await apps.readNamespacedDeployment({ name: 'web', namespace })).status;
    expect(status).toMatchObject({
      readyReplicas: 1,
      availableReplicas: 1,
      updatedReplicas: 1,
      replicas: 1,
      observedGeneration: 1,
    });
  });

  it('restarts a container whose process was killed, counting the restart', async () => {
    await apply('web', 'v1', 1);
    await fake.until(
      () => fake.objects('Pod', namespace).some((p) => (p['status'] as { podIP?: string }).podIP),
      'a pod IP',
    );
    const name = (fake.objects('Pod', namespace)[0]!['metadata'] as { name: string }).name;
    const first = fake.containerProcess(namespace, name);
    process.kill(first!.pid!, 'SIGKILL');
    await fake.until(
      () =>
        fake.containerProcess(namespace, name)?.pid !== undefined &&
        fake.containerProcess(namespace, name)?.pid !== first!.pid,
      'a new process',
    );
    const pod = await core.readNamespacedPod({ name, namespace });
    const container = pod.status?.containerStatuses?.[0];
    expect(container?.restartCount).toBe(1);
    expect(container?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(pod.metadata?.name).toBe(name); // the same pod, as with restartPolicy Always
  });

  it('serves logs: tail, follow until the container stops, and the previous instance', async () => {
    await apply('web', 'v1', 1);
    await fake.until(
      () => fake.objects('Pod', namespace).some((p) => (p['status'] as { podIP?: string }).podIP),
      'a pod IP',
    );
    const pod = fake.objects('Pod', namespace)[0] as k8s.V1Pod;
    const name = pod.metadata!.name!;
    await fake.until(() => fake.containerProcess(namespace, name) !== undefined, 'the process');
    await post(pod, '/log', 'one');
    await post(pod, '/log', 'two');
    await vi.waitFor(async () => {
      expect(await core.readNamespacedPodLog({ name, namespace, tailLines: 2 })).toBe('one\ntwo\n');
    }, WAIT);
    const stamped = await core.readNamespacedPodLog({
      name,
      namespace,
      tailLines: 1,
      timestamps: true,
    });
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z two\n$/);

    const followed = new PassThrough();
    let text = '';
    followed.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const ended = new Promise((resolve) => followed.on('end', resolve));
    await new k8s.Log(fake.kubeConfig).log(namespace, name, 'web', followed, {
      follow: true,
      tailLines: 1,
    });
    await post(pod, '/log', 'three');
    await fake.until(() => text.includes('three'), 'three in the followed log');
    await post(pod, '/exit?code=3');
    await ended; // the follow ends with the container
    expect(text).toBe('two\nthree\n');

    await fake.until(
      () => fake.containerProcess(namespace, name) !== undefined,
      'the restarted process',
    );
    const previous = await core.readNamespacedPodLog({ name, namespace, previous: true });
    expect(previous).toContain('three\n');
    const current = await core.readNamespacedPodLog({ name, namespace });
    expect(current).not.toContain('three');
  });

  it('rolls a Deployment over without ever having fewer Ready pods than desired', async () => {
    await apply('web', 'v1', 2);
    const readyAll = async () => {
      await fake.until(
        () =>
          fake.objects('Pod', namespace).filter((p) => (p['status'] as { podIP?: string }).podIP)
            .length >= 2,
        'pod IPs',
      );
      for (const pod of fake.objects('Pod', namespace) as k8s.V1Pod[])
        if (pod.status?.podIP) await post(pod, '/ready').catch(() => undefined);
    };
    await readyAll();
    await fake.until(() => readyPods().length === 2, '2 ready v1 pods');
    const start = fake.events.length;
    await apply('web', 'v2', 2);
    // New pods start not ready; make each ready once it listens, as init() finishing would.
    const madeReady = new Set<string>();
    await fake.until(() => {
      for (const pod of fake.objects('Pod', namespace) as k8s.V1Pod[]) {
        const name = pod.metadata!.name!;
        if (
          pod.metadata?.labels?.['version'] === 'v2' &&
          pod.status?.podIP &&
          !madeReady.has(name)
        ) {
          madeReady.add(name);
          void post(pod, '/ready').catch(() => madeReady.delete(name));
        }
      }
      const pods = fake.objects('Pod', namespace) as k8s.V1Pod[];
      return (
        pods.length === 2 &&
        pods.every((p) => p.metadata?.labels?.['version'] === 'v2') &&
        readyPods().length === 2
      );
    }, 'v2 rolled out');

    // Replay the pod events of the rollout: Ready, non-terminating pods never below 2 nor more
    // than 3 pods alive, and the first old pod is marked for deletion only after a new one is
    // Ready.
    const pods = new Map<string, JsonObject>();
    const ready = (p: JsonObject) => {
      const pod = p as k8s.V1Pod;
      return (
        !pod.metadata?.deletionTimestamp &&
        Boolean(pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      );
    };
    const before = fake.events.slice(0, start).filter((e) => e.resource.kind === 'Pod');
    for (const e of before) {
      const name = String((e.object['metadata'] as { name: string }).name);
      if (e.type === 'DELETED') pods.delete(name);
      else pods.set(name, e.object);
    }
    let firstNewReady = -1;
    let firstOldDeletion = -1;
    fake.events.slice(start).forEach((e, i) => {
      if (e.resource.kind !== 'Pod') return;
      const pod = e.object as k8s.V1Pod;
      const name = pod.metadata!.name!;
      if (e.type === 'DELETED') pods.delete(name);
      else pods.set(name, e.object);
      if (firstNewReady < 0 && pod.metadata?.labels?.['version'] === 'v2' && ready(e.object))
        firstNewReady = i;
      if (
        firstOldDeletion < 0 &&
        pod.metadata?.labels?.['version'] === 'v1' &&
        pod.metadata.deletionTimestamp
      )
        firstOldDeletion = i;
      expect([...pods.values()].filter(ready).length).toBeGreaterThanOrEqual(2);
      // maxSurge 1: never more than 3 pods that are not terminating.
      expect(
        [...pods.values()].filter((p) => !(p as k8s.V1Pod).metadata?.deletionTimestamp).length,
      ).toBeLessThanOrEqual(3);
    });
    expect(firstNewReady).toBeGreaterThanOrEqual(0);
    expect(firstOldDeletion).toBeGreaterThan(firstNewReady);
    const status = (await apps.readNamespacedDeployment({ name: 'web', namespace })).status;
    expect(status).toMatchObject({
      observedGeneration: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      replicas: 2,
    });
  });

  it('stops the processes of a deleted Deployment and removes its pods', async () => {
    await apply('web', 'v1', 2);
    await fake.until(
      () =>
        fake.objects('Pod', namespace).filter((p) => (p['status'] as { podIP?: string }).podIP)
          .length === 2,
      'pod IPs',
    );
    const pods = fake.objects('Pod', namespace) as k8s.V1Pod[];
    const pids = pods.map((p) => fake.containerProcess(namespace, p.metadata!.name!)!.pid!);
    await apps.deleteNamespacedDeployment({ name: 'web', namespace });
    await fake.until(() => fake.objects('Pod', namespace).length === 0, 'no pods');
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const terminating = fake.events.filter(
      (e) =>
        e.resource.kind === 'Pod' &&
        e.type === 'MODIFIED' &&
        (e.object['metadata'] as { deletionTimestamp?: string }).deletionTimestamp,
    );
    expect(terminating.length).toBeGreaterThanOrEqual(2); // graceful: Terminating before gone
  });
});

describe('without a runner', () => {
  beforeEach(async () => {
    fake = await startKubernetesFake({ namespaces: [namespace], nodes: ['node-1', 'node-2'] });
    apps = fake.kubeConfig.makeApiClient(k8s.AppsV1Api);
    core = fake.kubeConfig.makeApiClient(k8s.CoreV1Api);
  });

  afterEach(async () => {
    await fake.close();
  });

  it('names pods <deployment>-<template hash>-<suffix>, spreads them over the nodes, scales down', async () => {
    await apply('web', 'v1', 4);
    await fake.until(() => readyPods().length === 4, '4 ready pods');
    const pods = readyPods();
    const hash = pods[0]!.metadata!.labels!['pod-template-hash']!;
    for (const pod of pods)
      expect(pod.metadata?.name).toMatch(new RegExp(`^web-${hash}-[a-z0-9]{5}$`));
    expect(new Set(pods.map((p) => p.spec?.nodeName))).toEqual(new Set(['node-1', 'node-2']));
    await apply('web', 'v1', 1);
    await fake.until(() => fake.objects('Pod', namespace).length === 1, 'one pod left');
  });

  it('appends log lines a test writes', async () => {
    await apply('web', 'v1', 1);
    await fake.until(() => readyPods().length === 1, 'a ready pod');
    const name = readyPods()[0]!.metadata!.name!;
    fake.appendLog(namespace, name, ['a', 'b', 'c']);
    expect(await core.readNamespacedPodLog({ name, namespace, tailLines: 2 })).toBe('b\nc\n');
    const missing = await core.readNamespacedPodLog({ name: 'nope', namespace }).then(
      () => 0,
      (e: k8s.ApiException<string>) => e.code,
    );
    expect(missing).toBe(404);
  });
});
