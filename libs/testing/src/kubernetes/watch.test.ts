// Pod list/watch through the real client-node Watch: resourceVersion replay, bookmarks, 410
// Gone (as a watch ERROR event and as an HTTP answer to a list), field and label selectors.
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startKubernetesFake, type KubernetesFake } from './fake.js';

const namespace = 'team-a';
let fake: KubernetesFake;
let core: k8s.CoreV1Api;

interface Seen {
  readonly type: string;
  readonly object: {
    metadata?: { name?: string; resourceVersion?: string };
    code?: number;
    spec?: { nodeName?: string };
  };
}

/** A watch that records its events; `done` resolves when the server ends it. */
async function watchPods(query: Record<string, string | number | boolean | undefined>) {
  const events: Seen[] = [];
  let ended: (error: unknown) => void = () => undefined;
  const done = new Promise<unknown>((resolve) => (ended = resolve));
  const controller = await new k8s.Watch(fake.kubeConfig).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    query,
    (type, object) => events.push({ type, object: object as Seen['object'] }),
    (error) => ended(error),
  );
  return { events, done, stop: () => controller.abort() };
}

function pod(
  name: string,
  labels: Record<string, string> = {},
  nodeSelector?: Record<string, string>,
) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'w', ...labels } },
    spec: {
      containers: [{ name: 'c', image: 'registry.invalid/c:1' }],
      ...(nodeSelector ? { nodeSelector } : {}),
    },
  } as k8s.V1Pod;
}

async function until<T>(read: () => T | undefined, description: string): Promise<T> {
  let value: T | undefined;
  await fake.until(() => (value = read()) !== undefined, description);
  return value as T;
}

beforeEach(async () => {
  fake = await startKubernetesFake({
    namespaces: [namespace],
    bookmarkIntervalMs: 0,
    historyLimit: 50,
    nodes: [
      { name: 'node-a', labels: { pool: 'a' } },
      { name: 'node-b', labels: { pool: 'b' } },
    ],
  });
  core = fake.kubeConfig.makeApiClient(k8s.CoreV1Api);
});

afterEach(async () => {
  await fake.close();
});

describe('watch', () => {
  it('replays the changes after a list resourceVersion and sends bookmarks only when allowed', async () => {
    await core.createNamespacedPod({ namespace, body: pod('before') });
    const list = await core.listNamespacedPod({ namespace });
    await core.createNamespacedPod({ namespace, body: pod('between') });
    const withBookmarks = await watchPods({
      resourceVersion: list.metadata?.resourceVersion,
      allowWatchBookmarks: true,
    });
    const without = await watchPods({ resourceVersion: list.metadata?.resourceVersion });
    await core.createNamespacedPod({ namespace, body: pod('after') });
    await until(
      () => withBookmarks.events.find((e) => e.object.metadata?.name === 'after'),
      'the watch to see "after"',
    );
    const names = withBookmarks.events
      .filter((e) => e.type === 'ADDED')
      .map((e) => e.object.metadata?.name);
    expect(names).toEqual(['between', 'after']);

    fake.sendBookmarks();
    const mark = await until(
      () => withBookmarks.events.find((e) => e.type === 'BOOKMARK'),
      'a bookmark',
    );
    expect(Number(mark.object.metadata?.resourceVersion)).toBeGreaterThanOrEqual(
      Number(withBookmarks.events.at(-2)?.object.metadata?.resourceVersion),
    );
    await core.deleteNamespacedPod({ name: 'before', namespace, gracePeriodSeconds: 0 });
    await until(() => without.events.find((e) => e.type === 'DELETED'), 'the delete');
    expect(without.events.some((e) => e.type === 'BOOKMARK')).toBe(false);
    withBookmarks.stop();
    without.stop();
  });

  it('without a resourceVersion starts with the current objects as ADDED', async () => {
    await core.createNamespacedPod({ namespace, body: pod('one') });
    const watch = await watchPods({});
    await until(() => watch.events.find((e) => e.object.metadata?.name === 'one'), 'one');
    expect(watch.events[0]?.type).toBe('ADDED');
    watch.stop();
  });

  it('sends an ERROR event with a 410 Status and ends the watch when the version is older than the history', async () => {
    const list = await core.listNamespacedPod({ namespace });
    await core.createNamespacedPod({ namespace, body: pod('one') });
    fake.compactHistory();
    const watch = await watchPods({
      resourceVersion: list.metadata?.resourceVersion,
      allowWatchBookmarks: true,
    });
    await watch.done;
    expect(watch.events).toHaveLength(1);
    expect(watch.events[0]?.type).toBe('ERROR');
    expect(watch.events[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
  });

  it('forgets the oldest events past its history window', async () => {
    const list = await core.listNamespacedPod({ namespace });
    for (let i = 0; i < 30; i++) await core.createNamespacedPod({ namespace, body: pod(`p${i}`) });
    const watch = await watchPods({ resourceVersion: list.metadata?.resourceVersion });
    await watch.done;
    expect(watch.events[0]?.object.code).toBe(410);
  });

  it('answers a list at an exact forgotten version, or with an expired continue token, with HTTP 410', async () => {
    for (let i = 0; i < 3; i++) await core.createNamespacedPod({ namespace, body: pod(`p${i}`) });
    const page = await core.listNamespacedPod({ namespace, limit: 2 });
    expect(page.items).toHaveLength(2);
    const next = await core.listNamespacedPod({
      namespace,
      limit: 2,
      _continue: page.metadata!._continue!,
    });
    expect(next.items.map((p) => p.metadata?.name)).toEqual(['p2']);
    const at = page.metadata!.resourceVersion!;
    await core.createNamespacedPod({ namespace, body: pod('later') });
    fake.compactHistory();
    for (const request of [
      core.listNamespacedPod({ namespace, resourceVersion: at, resourceVersionMatch: 'Exact' }),
      core.listNamespacedPod({ namespace, limit: 2, _continue: page.metadata!._continue! }),
    ]) {
      const error = await request.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(k8s.ApiException);
      expect((error as k8s.ApiException<string>).code).toBe(410);
    }
  });
});

describe('selectors', () => {
  it('lists and watches only the pods of one node with fieldSelector=spec.nodeName', async () => {
    const watch = await watchPods({ fieldSelector: 'spec.nodeName=node-b' });
    await core.createNamespacedPod({ namespace, body: pod('on-a', {}, { pool: 'a' }) });
    await core.createNamespacedPod({ namespace, body: pod('on-b', {}, { pool: 'b' }) });
    await fake.until(
      () => fake.objects('Pod', namespace).every((p) => JSON.stringify(p).includes('"nodeName"')),
      'both pods scheduled',
    );
    const list = await core.listNamespacedPod({ namespace, fieldSelector: 'spec.nodeName=node-b' });
    expect(list.items.map((p) => p.metadata?.name)).toEqual(['on-b']);
    const seen = await until(
      () => watch.events.find((e) => e.object.metadata?.name === 'on-b'),
      'on-b in the watch',
    );
    expect(seen.type).toBe('ADDED'); // it entered the selector when it was bound to node-b
    expect(watch.events.every((e) => e.object.metadata?.name !== 'on-a')).toBe(true);
    const unsupported = await core
      .listNamespacedPod({ namespace, fieldSelector: 'spec.bogus=x' })
      .then(
        () => 0,
        (e: k8s.ApiException<string>) => e.code,
      );
    expect(unsupported).toBe(400);
    watch.stop();
  });

  it('keeps a pod whose nodeSelector matches no node Pending and Unschedulable', async () => {
    await core.createNamespacedPod({ namespace, body: pod('nowhere', {}, { pool: 'gpu' }) });
    const reason = await until(() => {
      const status = fake.object('Pod', namespace, 'nowhere')?.['status'] as
        { conditions?: { type: string; reason?: string }[] } | undefined;
      return status?.conditions?.find((c) => c.type === 'PodScheduled')?.reason;
    }, 'a PodScheduled condition');
    expect(reason).toBe('Unschedulable');
    const read = await core.readNamespacedPod({ name: 'nowhere', namespace });
    expect(read.spec?.nodeName).toBeUndefined();
    expect(read.status?.phase).toBe('Pending');
  });

  it('reports a pod leaving a label selector as DELETED to that watch', async () => {
    await core.createNamespacedPod({ namespace, body: pod('moving', { stage: 'blue' }) });
    const list = await core.listNamespacedPod({ namespace });
    const watch = await watchPods({
      labelSelector: 'stage=blue',
      resourceVersion: list.metadata?.resourceVersion,
    });
    await core.patchNamespacedPod(
      { name: 'moving', namespace, body: { metadata: { labels: { stage: 'green' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const gone = await until(
      () => watch.events.find((e) => e.object.metadata?.name === 'moving' && e.type === 'DELETED'),
      'DELETED',
    );
    expect(gone.type).toBe('DELETED');
    watch.stop();
  });
});
