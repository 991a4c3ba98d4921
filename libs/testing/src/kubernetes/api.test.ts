// The fake's API surface, driven by the real @kubernetes/client-node: server-side apply,
// field validation, schema validation, preconditions, the scale subresource, deletes.
import * as k8s from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startKubernetesFake, type KubernetesFake } from './fake.js';

const APPLY = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
const MERGE = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

function deployment(
  name: string,
  image = 'registry.invalid/web:1',
  replicas = 2,
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name, tier: 'web' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'web', image, ports: [{ name: 'http', containerPort: 8080 }] }],
        },
      },
    },
  };
}

async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: number; status: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(k8s.ApiException);
    const e = error as k8s.ApiException<string>;
    return { code: e.code, status: JSON.parse(e.body) as Record<string, unknown> };
  }
  throw new Error('expected the request to fail');
}

let fake: KubernetesFake;
let apps: k8s.AppsV1Api;
let core: k8s.CoreV1Api;
const namespace = 'team-a';

beforeEach(async () => {
  fake = await startKubernetesFake({ namespaces: [namespace] });
  apps = fake.kubeConfig.makeApiClient(k8s.AppsV1Api);
  core = fake.kubeConfig.makeApiClient(k8s.CoreV1Api);
});

afterEach(async () => {
  await fake.close();
});

function apply(body: Record<string, unknown>, fieldValidation = 'Strict') {
  const name = String((body['metadata'] as { name: string }).name);
  return apps.patchNamespacedDeployment(
    { name, namespace, body, fieldManager: 'skiff-test', fieldValidation, force: true },
    APPLY,
  );
}

describe('server-side apply', () => {
  it('creates, reads back with defaults, and bumps generation only when the spec changes', async () => {
    const created = await apply(deployment('web'));
    expect(created.metadata?.generation).toBe(1);
    expect(created.spec?.strategy?.type).toBe('RollingUpdate');
    expect(created.spec?.template.spec?.containers[0]?.imagePullPolicy).toBe('IfNotPresent');

    const read = await apps.readNamespacedDeployment({ name: 'web', namespace });
    expect(read.metadata?.uid).toBe(created.metadata?.uid);
    expect(read.spec?.replicas).toBe(2);
    expect(read.metadata?.managedFields?.[0]?.manager).toBe('skiff-test');

    const again = await apply(deployment('web'));
    expect(again.metadata?.generation).toBe(1);

    const relabelled = deployment('web');
    (relabelled['metadata'] as { labels: Record<string, string> }).labels['extra'] = 'yes';
    expect((await apply(relabelled)).metadata?.generation).toBe(1);

    const changed = await apply(deployment('web', 'registry.invalid/web:2'));
    expect(changed.metadata?.generation).toBe(2);
    expect(Number(changed.metadata?.resourceVersion)).toBeGreaterThan(
      Number(read.metadata?.resourceVersion),
    );
  });

  it('removes a field the manager applied before and leaves out now', async () => {
    const relabelled = deployment('web');
    (relabelled['metadata'] as { labels: Record<string, string> }).labels['extra'] = 'yes';
    await apply(relabelled);
    const after = await apply(deployment('web'));
    expect(after.metadata?.labels).toEqual({ app: 'web', tier: 'web' });
  });

  it('requires a field manager', async () => {
    const { code } = await rejection(
      apps.patchNamespacedDeployment({ name: 'web', namespace, body: deployment('web') }, APPLY),
    );
    expect(code).toBe(422);
  });

  it('refuses unknown fields with fieldValidation=Strict (400) and drops them with a warning otherwise', async () => {
    const body = deployment('web');
    const container = (
      (body['spec'] as Record<string, unknown>)['template'] as {
        spec: { containers: Record<string, unknown>[] };
      }
    ).spec.containers[0]!;
    container['imagePullPolicyy'] = 'Always';
    const { code, status } = await rejection(apply(body));
    expect(code).toBe(400);
    expect(status['reason']).toBe('BadRequest');
    expect(String(status['message'])).toContain(
      '.spec.template.spec.containers[0].imagePullPolicyy: field not declared in schema',
    );
    expect(fake.object('Deployment', namespace, 'web')).toBeUndefined();

    const warned = await apply(body, 'Warn');
    expect(JSON.stringify(warned.spec)).not.toContain('imagePullPolicyy');
  });

  it('refuses an object the official schema rejects with 422 Invalid and the message, storing nothing', async () => {
    const body = deployment('web');
    const container = (
      (body['spec'] as Record<string, unknown>)['template'] as {
        spec: { containers: Record<string, unknown>[] };
      }
    ).spec.containers[0]!;
    container['resources'] = { limits: { cpu: 'lots' } };
    delete container['image'];
    const { code, status } = await rejection(apply(body));
    expect(code).toBe(422);
    expect(status['reason']).toBe('Invalid');
    const causes = (status['details'] as { causes: { field: string }[] }).causes.map(
      (c) => c.field,
    );
    expect(causes).toContain('spec.template.spec.containers[0].resources.limits.cpu');
    expect(causes).toContain('spec.template.spec.containers[0].image');
    expect(String(status['message'])).toMatch(/^Deployment\.apps "web" is invalid: /);
    expect(fake.object('Deployment', namespace, 'web')).toBeUndefined();
    expect(fake.accepted).toHaveLength(0);
  });

  it('refuses a selector that does not match the template labels, and a changed selector', async () => {
    const body = deployment('web');
    (body['spec'] as { selector: unknown }).selector = { matchLabels: { app: 'other' } };
    expect((await rejection(apply(body))).code).toBe(422);

    await apply(deployment('web'));
    const moved = deployment('web');
    const spec = moved['spec'] as {
      selector: unknown;
      template: { metadata: { labels: Record<string, string> } };
    };
    spec.selector = { matchLabels: { app: 'web', tier: 'x' } };
    spec.template.metadata.labels['tier'] = 'x';
    const { status } = await rejection(apply(moved));
    expect(String(status['message'])).toContain('spec.selector: Invalid value');
    expect(String(status['message'])).toContain('field is immutable');
  });

  it('records every manifest it accepted, as sent and as stored', async () => {
    await apply(deployment('web'));
    await apply(deployment('api'));
    expect(fake.accepted.map((m) => [m.operation, m.kind, m.name, m.fieldManager])).toEqual([
      ['apply', 'Deployment', 'web', 'skiff-test'],
      ['apply', 'Deployment', 'api', 'skiff-test'],
    ]);
    expect(fake.accepted[0]?.body).toEqual(deployment('web'));
    // An apply that creates needs `create` as well as `patch` from RBAC; one that updates, `patch`.
    await apply(deployment('web'));
    const applies = fake.requests.filter((r) => r.resource === 'deployments' && r.name === 'web');
    expect(applies.map((r) => r.authorizedVerbs)).toEqual([['patch', 'create'], ['patch']]);
    expect((fake.accepted[0]?.object['metadata'] as { uid?: string }).uid).toBeTruthy();
  });
});

describe('reads, preconditions and errors', () => {
  it('answers 404 with the API server Status for a missing object or namespace', async () => {
    const { code, status } = await rejection(
      apps.readNamespacedDeployment({ name: 'nope', namespace }),
    );
    expect(code).toBe(404);
    expect(status).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'deployments.apps "nope" not found',
      details: { name: 'nope', group: 'apps', kind: 'deployments' },
    });
    const missing = await rejection(
      apps.patchNamespacedDeployment(
        { name: 'web', namespace: 'elsewhere', body: { ...deployment('web') }, fieldManager: 'm' },
        APPLY,
      ),
    );
    expect(missing.status['message']).toBe('namespaces "elsewhere" not found');
  });

  it('answers 409 for a create of an existing name and for an update with a stale resourceVersion', async () => {
    const created = await apps.createNamespacedDeployment({
      namespace,
      body: deployment('web') as k8s.V1Deployment,
    });
    expect(
      (
        await rejection(
          apps.createNamespacedDeployment({
            namespace,
            body: deployment('web') as k8s.V1Deployment,
          }),
        )
      ).status['reason'],
    ).toBe('AlreadyExists');
    const fresh = await apps.readNamespacedDeployment({ name: 'web', namespace });
    fresh.spec!.replicas = 5;
    await apps.replaceNamespacedDeployment({ name: 'web', namespace, body: fresh });
    created.spec!.replicas = 7;
    const { code, status } = await rejection(
      apps.replaceNamespacedDeployment({ name: 'web', namespace, body: created }),
    );
    expect(code).toBe(409);
    expect(status['reason']).toBe('Conflict');
    expect((await apps.readNamespacedDeployment({ name: 'web', namespace })).spec?.replicas).toBe(
      5,
    );
  });

  it('lists by label selector and hands out increasing resourceVersions across kinds', async () => {
    const a = await apply(deployment('web'));
    const b = await apply(deployment('api'));
    const list = await apps.listNamespacedDeployment({
      namespace,
      labelSelector: 'app in (api),tier=web',
    });
    expect(list.items.map((d) => d.metadata?.name)).toEqual(['api']);
    expect(Number(b.metadata?.resourceVersion)).toBeGreaterThan(
      Number(a.metadata?.resourceVersion),
    );
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(
      Number(b.metadata?.resourceVersion),
    );
    expect(
      (await rejection(apps.listNamespacedDeployment({ namespace, labelSelector: 'app in (' })))
        .code,
    ).toBe(400);
  });
});

describe('the scale subresource', () => {
  it('reads, patches and replaces the replica count, with its own preconditions', async () => {
    await apply(deployment('web', 'registry.invalid/web:1', 2));
    const scale = await apps.readNamespacedDeploymentScale({ name: 'web', namespace });
    expect(scale.spec?.replicas).toBe(2);
    expect(scale.status?.selector).toBe('app=web');

    await apps.patchNamespacedDeploymentScale(
      { name: 'web', namespace, body: { spec: { replicas: 3 } }, fieldManager: 'skiff-test' },
      MERGE,
    );
    await fake.until(() => fake.objects('Pod', namespace).length === 3, '3 pods');
    const patched = await apps.readNamespacedDeployment({ name: 'web', namespace });
    expect(patched.spec?.replicas).toBe(3);
    expect(patched.metadata?.generation).toBe(2);

    const current = await apps.readNamespacedDeploymentScale({ name: 'web', namespace });
    const replaced = await apps.replaceNamespacedDeploymentScale({
      name: 'web',
      namespace,
      body: { ...current, spec: { replicas: 1 } },
    });
    expect(replaced.spec?.replicas).toBe(1);
    await fake.until(() => fake.objects('Pod', namespace).length === 1, '1 pod');
    // The Scale read before the patch carries a stale resourceVersion.
    const stale = await rejection(
      apps.replaceNamespacedDeploymentScale({
        name: 'web',
        namespace,
        body: { ...scale, spec: { replicas: 4 } },
      }),
    );
    expect(stale.code).toBe(409);
  });

  it('refuses a negative count with 422', async () => {
    await apply(deployment('web'));
    const { code } = await rejection(
      apps.patchNamespacedDeploymentScale(
        { name: 'web', namespace, body: { spec: { replicas: -1 } } },
        MERGE,
      ),
    );
    expect(code).toBe(422);
  });
});

describe('services and deletes', () => {
  it('applies, reads, lists and deletes a Service with an allocated cluster IP', async () => {
    const body = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    };
    const created = await core.patchNamespacedService(
      { name: 'web', namespace, body, fieldManager: 'skiff-test', fieldValidation: 'Strict' },
      APPLY,
    );
    expect(created.spec?.clusterIP).toMatch(/^10\.96\./);
    const again = await core.patchNamespacedService(
      { name: 'web', namespace, body, fieldManager: 'skiff-test', fieldValidation: 'Strict' },
      APPLY,
    );
    expect(again.spec?.clusterIP).toBe(created.spec?.clusterIP);
    expect(
      (await core.listNamespacedService({ namespace, labelSelector: 'app=web' })).items,
    ).toHaveLength(1);
    await core.deleteNamespacedService({ name: 'web', namespace });
    expect((await rejection(core.readNamespacedService({ name: 'web', namespace }))).code).toBe(
      404,
    );
  });

  it('deletes a collection by label selector, and the pods of a deleted Deployment go too', async () => {
    await apply(deployment('web'));
    await apply(deployment('api'));
    await fake.until(() => fake.objects('Pod', namespace).length === 4, '4 pods');
    await apps.deleteCollectionNamespacedDeployment({ namespace, labelSelector: 'app=web' });
    expect(
      (await apps.listNamespacedDeployment({ namespace })).items.map((d) => d.metadata?.name),
    ).toEqual(['api']);
    await fake.until(
      () => fake.objects('Pod', namespace).every((p) => JSON.stringify(p).includes('"app":"api"')),
      'only api pods',
    );
    expect(fake.objects('Pod', namespace)).toHaveLength(2);
  });
});
