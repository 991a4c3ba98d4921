// The control loops of kube-controller-manager and kube-scheduler that a workload driver relies
// on: Deployments (ReplicaSets kept internal) with rolling updates, Jobs, scheduling onto the
// simulated nodes, and garbage collection of dependents. Level-triggered like the real ones:
// every pass reads the store and acts on the difference.
import { createHash, randomUUID } from 'node:crypto';
import { randomSuffix, type ApiServer, type PropagationPolicy } from './api.js';
import {
  apiTime,
  arrayAt,
  canonical,
  child,
  clone,
  isObject,
  meta,
  nameOf,
  namespaceOf,
  numberAt,
  objectAt,
  stringAt,
  stringMapAt,
  type JsonObject,
} from './json.js';
import { parseQuantity } from './quantity.js';
import { resourceTypeOfKind } from './resources.js';
import type { ObjectStore, StoreEvent } from './store.js';
import { rollingUpdateLimits } from './validation.js';

/** A node of the simulated cluster. */
export interface SimulatedNode {
  readonly name: string;
  /** Node labels (`kubernetes.io/hostname` is added); `spec.nodeSelector` must match them. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Capacity of extended resources (e.g. `{ 'nvidia.com/gpu': 2 }`). A pod requesting an
   * extended resource fits only on a node with enough of it left; cpu and memory are not
   * accounted.
   */
  readonly capacity?: Readonly<Record<string, number | string>>;
}

const POD = resourceTypeOfKind('Pod');
const DEPLOYMENT = resourceTypeOfKind('Deployment');
const JOB = resourceTypeOfKind('Job');
const CONFIG_MAP = resourceTypeOfKind('ConfigMap');

const HASH_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** pod-template-hash: ten characters of the API server's safe alphabet, from the template. */
export function templateHash(template: unknown): string {
  const digest = createHash('sha256').update(canonical(template)).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += HASH_ALPHABET[(digest[i] ?? 0) % HASH_ALPHABET.length] ?? 'b';
  return out;
}

interface ReplicaSetRecord {
  readonly name: string;
  readonly uid: string;
  readonly deploymentUid: string;
  readonly namespace: string;
}

/** Whether the pod counts as live for its controller (not terminating, not finished). */
function isLive(pod: JsonObject): boolean {
  const phase = stringAt(objectAt(pod, 'status'), 'phase');
  return (
    !stringAt(objectAt(pod, 'metadata'), 'deletionTimestamp') &&
    phase !== 'Succeeded' &&
    phase !== 'Failed'
  );
}

/** Whether the pod's Ready condition is True. */
export function isReady(pod: JsonObject): boolean {
  return arrayAt(objectAt(pod, 'status'), 'conditions').some(
    (c) => isObject(c) && c['type'] === 'Ready' && c['status'] === 'True',
  );
}

function owner(pod: JsonObject, kind: string): JsonObject | undefined {
  const refs = arrayAt(objectAt(pod, 'metadata'), 'ownerReferences');
  return refs.find(
    (r): r is JsonObject => isObject(r) && r['kind'] === kind && r['controller'] === true,
  );
}

function setCondition(
  status: JsonObject,
  type: string,
  value: boolean,
  reason: string,
  message = '',
): void {
  const conditions = arrayAt(status, 'conditions').filter(isObject);
  const current = conditions.find((c) => c['type'] === type);
  const text = value ? 'True' : 'False';
  if (current && current['status'] === text && (current['reason'] ?? '') === reason) return;
  const now = apiTime();
  const next: JsonObject = {
    type,
    status: text,
    lastUpdateTime: now,
    lastTransitionTime: current?.['status'] === text ? current['lastTransitionTime'] : now,
  };
  if (reason) next['reason'] = reason;
  if (message) next['message'] = message;
  status['conditions'] = [...conditions.filter((c) => c['type'] !== type), next];
}

/** The simulated kube-controller-manager and kube-scheduler. */
export class ClusterControllers {
  readonly #replicaSets = new Map<string, ReplicaSetRecord>();
  readonly #dirty = new Set<string>();
  #scheduled = false;
  #stopped = false;
  readonly #unsubscribe: () => void;
  readonly #nodes: readonly SimulatedNode[];
  readonly #policies = new Map<string, PropagationPolicy>();

  constructor(
    private readonly api: ApiServer,
    private readonly store: ObjectStore,
    nodes: readonly SimulatedNode[],
    private readonly onError: (error: unknown) => void,
  ) {
    this.#nodes = nodes.map((n) => ({
      ...n,
      labels: { 'kubernetes.io/hostname': n.name, ...n.labels },
    }));
    this.#unsubscribe = store.subscribe((event) => this.#onEvent(event));
  }

  /** The simulated nodes with their labels. */
  get nodes(): readonly SimulatedNode[] {
    return this.#nodes;
  }

  /** Remembers how dependents of an object about to be removed are treated. */
  recordPropagation(object: JsonObject, policy: PropagationPolicy): void {
    const uid = stringAt(objectAt(object, 'metadata'), 'uid');
    if (uid) this.#policies.set(uid, policy);
  }

  /** Stops reacting to changes. */
  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
  }

  #onEvent(event: StoreEvent): void {
    const ns = namespaceOf(event.object);
    if (event.resource === DEPLOYMENT) {
      if (event.type === 'DELETED') this.#mark(`gc`);
      else this.#mark(`deployment/${ns}/${nameOf(event.object)}`);
    } else if (event.resource === JOB) {
      if (event.type === 'DELETED') this.#mark(`gc`);
      else this.#mark(`job/${ns}/${nameOf(event.object)}`);
    } else if (event.resource === POD) {
      const rs = owner(event.object, 'ReplicaSet');
      const record = rs ? this.#replicaSets.get(String(rs['uid'])) : undefined;
      if (record) {
        const deployment = this.#deploymentByUid(record);
        if (deployment) this.#mark(`deployment/${ns}/${deployment}`);
      }
      const job = owner(event.object, 'Job');
      if (job) this.#mark(`job/${ns}/${String(job['name'])}`);
      this.#mark('schedule');
    }
  }

  #deploymentByUid(record: ReplicaSetRecord): string | undefined {
    const found = this.store
      .list(DEPLOYMENT, record.namespace)
      .find((d) => stringAt(objectAt(d, 'metadata'), 'uid') === record.deploymentUid);
    return found ? nameOf(found) : undefined;
  }

  #mark(key: string): void {
    if (this.#stopped) return;
    this.#dirty.add(key);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const keys = [...this.#dirty];
      this.#dirty.clear();
      for (const key of keys) {
        if (this.#stopped) return;
        try {
          this.#reconcile(key);
        } catch (error) {
          this.onError(error);
        }
      }
    });
  }

  #reconcile(key: string): void {
    const [kind, ns = '', name = ''] = key.split('/');
    if (kind === 'deployment') this.#reconcileDeployment(ns, name);
    else if (kind === 'job') this.#reconcileJob(ns, name);
    else if (kind === 'schedule') this.#schedule();
    else if (kind === 'gc') this.#collectGarbage();
  }

  // ---- Deployments -------------------------------------------------------------------------

  #replicaSetFor(deployment: JsonObject, hash: string): ReplicaSetRecord {
    const deploymentUid = stringAt(objectAt(deployment, 'metadata'), 'uid') ?? '';
    const name = `${nameOf(deployment)}-${hash}`;
    for (const record of this.#replicaSets.values()) {
      if (record.deploymentUid === deploymentUid && record.name === name) return record;
    }
    const record: ReplicaSetRecord = {
      name,
      uid: randomUUID(),
      deploymentUid,
      namespace: namespaceOf(deployment),
    };
    this.#replicaSets.set(record.uid, record);
    return record;
  }

  #podsOf(deployment: JsonObject): JsonObject[] {
    const uid = stringAt(objectAt(deployment, 'metadata'), 'uid');
    return this.store.list(POD, namespaceOf(deployment)).filter((pod) => {
      const ref = owner(pod, 'ReplicaSet');
      return ref !== undefined && this.#replicaSets.get(String(ref['uid']))?.deploymentUid === uid;
    });
  }

  #createPod(deployment: JsonObject, hash: string): JsonObject {
    const template = objectAt(objectAt(deployment, 'spec'), 'template') ?? {};
    const rs = this.#replicaSetFor(deployment, hash);
    const metadata = clone(objectAt(template, 'metadata') ?? {});
    metadata['name'] = `${rs.name}-${randomSuffix()}`;
    metadata['generateName'] = `${rs.name}-`;
    metadata['labels'] = { ...stringMapAt(metadata, 'labels'), 'pod-template-hash': hash };
    metadata['ownerReferences'] = [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: rs.name,
        uid: rs.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
    const pod: JsonObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata,
      spec: clone(objectAt(template, 'spec') ?? {}),
    };
    return this.api.create(POD, namespaceOf(deployment), pod, {
      internal: true,
      fieldManager: 'kube-controller-manager',
    }).object;
  }

  #deletePod(pod: JsonObject): void {
    this.api.delete(POD, namespaceOf(pod), nameOf(pod));
  }

  #reconcileDeployment(namespace: string, name: string): void {
    const deployment = this.store.get(DEPLOYMENT, namespace, name);
    if (!deployment) return;
    const spec = objectAt(deployment, 'spec') ?? {};
    const desired = numberAt(spec, 'replicas') ?? 1;
    const hash = templateHash(objectAt(spec, 'template'));
    const all = this.#podsOf(deployment);
    let live = all.filter(isLive);
    const isNew = (p: JsonObject) =>
      stringMapAt(objectAt(p, 'metadata'), 'labels')['pod-template-hash'] === hash;
    // Scale-down order of the ReplicaSet controller, simplified: unready first, then newest.
    const byDeletionPreference = (a: JsonObject, b: JsonObject) =>
      Number(isReady(a)) - Number(isReady(b)) ||
      String(objectAt(b, 'metadata')?.['creationTimestamp']).localeCompare(
        String(objectAt(a, 'metadata')?.['creationTimestamp']),
      );

    const strategy = stringAt(objectAt(spec, 'strategy'), 'type') ?? 'RollingUpdate';
    const oldPods = live.filter((p) => !isNew(p));
    let newPods = live.filter(isNew);
    if (strategy === 'Recreate') {
      if (oldPods.length > 0) oldPods.forEach((p) => this.#deletePod(p));
      else if (
        all.every((p) => isNew(p) || !stringAt(objectAt(p, 'metadata'), 'deletionTimestamp'))
      ) {
        newPods = this.#scaleTo(deployment, hash, newPods, desired, byDeletionPreference);
      }
    } else if (oldPods.length === 0) {
      newPods = this.#scaleTo(deployment, hash, newPods, desired, byDeletionPreference);
    } else {
      const { surge, unavailable } = rollingUpdateLimits(deployment);
      // Scale the new ReplicaSet up within maxSurge.
      const room = desired + surge - live.length;
      const wanted = Math.min(desired - newPods.length, room);
      for (let i = 0; i < wanted; i++) newPods.push(this.#createPod(deployment, hash));
      live = [...oldPods, ...newPods];
      // Scale old ones down within maxUnavailable: never below desired - maxUnavailable ready.
      const minAvailable = desired - unavailable;
      const newUnavailable = newPods.filter((p) => !isReady(p)).length;
      let maxScaleDown = live.length - minAvailable - newUnavailable;
      const unhealthyOld = oldPods.filter((p) => !isReady(p));
      for (const pod of unhealthyOld.slice(0, Math.max(0, maxScaleDown))) {
        this.#deletePod(pod);
        maxScaleDown--;
      }
      const available = live.filter(isReady).length;
      const healthyOld = oldPods.filter(isReady).sort(byDeletionPreference);
      const canRemove = Math.min(maxScaleDown, available - minAvailable);
      for (const pod of healthyOld.slice(0, Math.max(0, canRemove))) this.#deletePod(pod);
      if (newPods.length > desired)
        newPods = this.#scaleTo(deployment, hash, newPods, desired, byDeletionPreference);
    }
    this.#writeDeploymentStatus(deployment, hash);
  }

  #scaleTo(
    deployment: JsonObject,
    hash: string,
    pods: JsonObject[],
    desired: number,
    order: (a: JsonObject, b: JsonObject) => number,
  ): JsonObject[] {
    const result = [...pods];
    while (result.length < desired) result.push(this.#createPod(deployment, hash));
    if (result.length > desired) {
      const doomed = [...result].sort(order).slice(0, result.length - desired);
      doomed.forEach((p) => this.#deletePod(p));
      return result.filter((p) => !doomed.includes(p));
    }
    return result;
  }

  #writeDeploymentStatus(deployment: JsonObject, hash: string): void {
    const fresh = this.store.get(DEPLOYMENT, namespaceOf(deployment), nameOf(deployment));
    if (!fresh) return;
    const live = this.#podsOf(fresh).filter(isLive);
    const desired = numberAt(objectAt(fresh, 'spec'), 'replicas') ?? 1;
    const ready = live.filter(isReady).length;
    const updated = live.filter(
      (p) => stringMapAt(objectAt(p, 'metadata'), 'labels')['pod-template-hash'] === hash,
    );
    const status = clone(objectAt(fresh, 'status') ?? {});
    status['observedGeneration'] = numberAt(objectAt(fresh, 'metadata'), 'generation') ?? 1;
    status['replicas'] = live.length;
    status['updatedReplicas'] = updated.length;
    status['readyReplicas'] = ready;
    status['availableReplicas'] = ready;
    status['unavailableReplicas'] = Math.max(0, live.length - ready);
    for (const key of [
      'replicas',
      'updatedReplicas',
      'readyReplicas',
      'availableReplicas',
      'unavailableReplicas',
    ]) {
      if (status[key] === 0) delete status[key];
    }
    const { unavailable } = rollingUpdateLimits(fresh);
    setCondition(
      status,
      'Available',
      ready >= desired - unavailable,
      ready >= desired - unavailable ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
      ready >= desired - unavailable
        ? 'Deployment has minimum availability.'
        : 'Deployment does not have minimum availability.',
    );
    const complete =
      updated.length === desired && live.length === desired && updated.every(isReady);
    const rsName = `${nameOf(fresh)}-${hash}`;
    setCondition(
      status,
      'Progressing',
      true,
      complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
      complete
        ? `ReplicaSet "${rsName}" has successfully progressed.`
        : `ReplicaSet "${rsName}" is progressing.`,
    );
    const next = clone(fresh);
    next['status'] = status;
    this.store.replace(DEPLOYMENT, next);
  }

  // ---- Jobs --------------------------------------------------------------------------------

  #reconcileJob(namespace: string, name: string): void {
    const job = this.store.get(JOB, namespace, name);
    if (!job) return;
    const uid = stringAt(objectAt(job, 'metadata'), 'uid');
    const spec = objectAt(job, 'spec') ?? {};
    const status = clone(objectAt(job, 'status') ?? {});
    const finished = arrayAt(status, 'conditions').some(
      (c) =>
        isObject(c) &&
        (c['type'] === 'Complete' || c['type'] === 'Failed') &&
        c['status'] === 'True',
    );
    const pods = this.store.list(POD, namespace).filter((p) => owner(p, 'Job')?.['uid'] === uid);
    const succeeded = pods.filter(
      (p) => stringAt(objectAt(p, 'status'), 'phase') === 'Succeeded',
    ).length;
    const restarts = pods.reduce(
      (sum, p) =>
        sum +
        arrayAt(objectAt(p, 'status'), 'containerStatuses').reduce(
          (s: number, c) => s + (numberAt(c, 'restartCount') ?? 0),
          0,
        ),
      0,
    );
    const failed =
      pods.filter((p) => stringAt(objectAt(p, 'status'), 'phase') === 'Failed').length + restarts;
    const active = pods.filter(isLive);
    const completions = numberAt(spec, 'completions') ?? 1;
    const parallelism = numberAt(spec, 'parallelism') ?? 1;
    const backoffLimit = numberAt(spec, 'backoffLimit') ?? 6;
    status['startTime'] ??= apiTime();
    if (!finished) {
      if (succeeded >= completions) {
        status['completionTime'] = apiTime();
        setCondition(
          status,
          'SuccessCriteriaMet',
          true,
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        );
        setCondition(
          status,
          'Complete',
          true,
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        );
      } else if (failed > backoffLimit) {
        active.forEach((p) => this.#deletePod(p));
        setCondition(
          status,
          'FailureTarget',
          true,
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
        );
        setCondition(
          status,
          'Failed',
          true,
          'BackoffLimitExceeded',
          'Job has reached the specified backoff limit',
        );
      } else if (spec['suspend'] !== true) {
        const missing = Math.min(parallelism, completions - succeeded) - active.length;
        for (let i = 0; i < missing; i++) active.push(this.#createJobPod(job));
      }
    }
    status['active'] = finished ? 0 : active.length;
    status['succeeded'] = succeeded;
    status['failed'] = failed;
    status['ready'] = active.filter(isReady).length;
    status['terminating'] = pods.filter((p) =>
      stringAt(objectAt(p, 'metadata'), 'deletionTimestamp'),
    ).length;
    for (const key of ['active', 'succeeded', 'failed']) if (status[key] === 0) delete status[key];
    const next = clone(job);
    next['status'] = status;
    this.store.replace(JOB, next);
  }

  #createJobPod(job: JsonObject): JsonObject {
    const template = objectAt(objectAt(job, 'spec'), 'template') ?? {};
    const metadata = clone(objectAt(template, 'metadata') ?? {});
    const name = nameOf(job);
    metadata['name'] = `${name}-${randomSuffix()}`;
    metadata['generateName'] = `${name}-`;
    metadata['ownerReferences'] = [
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        name,
        uid: stringAt(objectAt(job, 'metadata'), 'uid'),
        controller: true,
        blockOwnerDeletion: true,
      },
    ];
    const pod: JsonObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata,
      spec: clone(objectAt(template, 'spec') ?? {}),
    };
    return this.api.create(POD, namespaceOf(job), pod, {
      internal: true,
      fieldManager: 'kube-controller-manager',
    }).object;
  }

  // ---- garbage collection ------------------------------------------------------------------

  #ownerExists(pod: JsonObject): boolean | undefined {
    const rs = owner(pod, 'ReplicaSet');
    if (rs) {
      const record = this.#replicaSets.get(String(rs['uid']));
      return record !== undefined && this.#deploymentByUid(record) !== undefined;
    }
    const job = owner(pod, 'Job');
    if (job)
      return this.store
        .list(JOB, namespaceOf(pod))
        .some((j) => stringAt(objectAt(j, 'metadata'), 'uid') === job['uid']);
    return undefined;
  }

  #ownerUid(pod: JsonObject): string | undefined {
    const rs = owner(pod, 'ReplicaSet');
    if (rs) return this.#replicaSets.get(String(rs['uid']))?.deploymentUid;
    const job = owner(pod, 'Job');
    return job ? String(job['uid']) : undefined;
  }

  #collectGarbage(): void {
    // ConfigMaps owned by a Job (a build context) go with it, unless it was orphaned.
    for (const map of this.store.list(CONFIG_MAP)) {
      const job =
        owner(map, 'Job') ??
        arrayAt(objectAt(map, 'metadata'), 'ownerReferences').find(
          (r): r is JsonObject => isObject(r) && r['kind'] === 'Job',
        );
      if (!job) continue;
      const alive = this.store
        .list(JOB, namespaceOf(map))
        .some((j) => stringAt(objectAt(j, 'metadata'), 'uid') === job['uid']);
      if (alive) continue;
      if (this.#policies.get(String(job['uid'])) === 'Orphan') {
        const orphan = clone(map);
        delete meta(orphan)['ownerReferences'];
        this.store.replace(CONFIG_MAP, orphan);
      } else this.store.remove(CONFIG_MAP, namespaceOf(map), nameOf(map));
    }
    for (const pod of this.store.list(POD)) {
      if (this.#ownerExists(pod) !== false) continue;
      const ownerUid = this.#ownerUid(pod) ?? '';
      if (this.#policies.get(ownerUid) === 'Orphan') {
        const orphan = clone(pod);
        delete meta(orphan)['ownerReferences'];
        this.store.replace(POD, orphan);
      } else if (!stringAt(objectAt(pod, 'metadata'), 'deletionTimestamp')) {
        this.#deletePod(pod);
      }
    }
  }

  // ---- the scheduler -----------------------------------------------------------------------

  #fits(node: SimulatedNode, pod: JsonObject, placed: readonly JsonObject[]): boolean {
    const selector = stringMapAt(objectAt(pod, 'spec'), 'nodeSelector');
    const labels = node.labels ?? {};
    if (!Object.entries(selector).every(([k, v]) => labels[k] === v)) return false;
    const requested = extendedRequests(pod);
    for (const [resource, amount] of Object.entries(requested)) {
      const capacity = parseQuantity(node.capacity?.[resource]) ?? 0;
      const used = placed
        .filter((p) => stringAt(objectAt(p, 'spec'), 'nodeName') === node.name && isLive(p))
        .reduce((sum, p) => sum + (extendedRequests(p)[resource] ?? 0), 0);
      if (used + amount > capacity) return false;
    }
    return true;
  }

  #schedule(): void {
    const pods = this.store.list(POD);
    for (const pod of pods) {
      const spec = objectAt(pod, 'spec') ?? {};
      if (stringAt(spec, 'nodeName') || !isLive(pod)) continue;
      const candidates = this.#nodes.filter((n) => this.#fits(n, pod, pods));
      const next = clone(pod);
      const status = child(next, 'status');
      if (candidates.length === 0) {
        setCondition(
          status,
          'PodScheduled',
          false,
          'Unschedulable',
          `0/${this.#nodes.length} nodes are available: ${this.#nodes.length} node(s) didn't match Pod's node affinity/selector or had insufficient extended resources.`,
        );
        dropUpdateTime(status);
        this.store.replace(POD, next);
        continue;
      }
      const load = (n: SimulatedNode) =>
        pods.filter((p) => stringAt(objectAt(p, 'spec'), 'nodeName') === n.name && isLive(p))
          .length;
      const node = [...candidates].sort((a, b) => load(a) - load(b))[0] ?? candidates[0];
      if (!node) continue;
      child(next, 'spec')['nodeName'] = node.name;
      setCondition(status, 'PodScheduled', true, '', '');
      dropUpdateTime(status);
      const stored = this.store.replace(POD, next);
      const index = pods.indexOf(pod);
      if (index >= 0) pods[index] = stored;
    }
  }
}

/** Pod conditions carry no lastUpdateTime (that field is the Deployment's). */
function dropUpdateTime(status: JsonObject): void {
  for (const c of arrayAt(status, 'conditions')) if (isObject(c)) delete c['lastUpdateTime'];
}

function extendedRequests(pod: JsonObject): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const c of arrayAt(objectAt(pod, 'spec'), 'containers')) {
    const limits = objectAt(objectAt(c, 'resources'), 'limits') ?? {};
    for (const [name, value] of Object.entries(limits)) {
      if (!name.includes('/')) continue;
      totals[name] = (totals[name] ?? 0) + (parseQuantity(value) ?? 0);
    }
  }
  return totals;
}
