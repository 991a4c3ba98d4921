// A replica as a pod shows it. Pure: the same pod always gives the same Replica. Pods come both
// from typed list calls (dates as Date) and from watch events (dates as strings), so every date
// is read with `toDate`.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Replica, ReplicaPhase, ServiceKey } from '../driver.js';
import { LABELS, SCORING_CONTAINER, SCORING_PORT_NAME } from './manifests.js';

/** Waiting reasons after which a container does not come up without a change. */
const FAILED_WAITING = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? undefined : date;
  }
  return undefined;
}

/** The service a pod belongs to, from its labels; undefined for a pod skiff did not make. */
export function serviceKeyOf(pod: V1Pod): ServiceKey | undefined {
  const labels = pod.metadata?.labels ?? {};
  const workspace = labels[LABELS.workspace];
  const service = labels[LABELS.service];
  return workspace && service ? { workspace, service } : undefined;
}

/** The scoring container's status (the first container's when it has another name). */
export function scoringStatus(pod: V1Pod): V1ContainerStatus | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.find((s) => s.name === SCORING_CONTAINER) ?? statuses[0];
}

/**
 * `podIP:port`, the port read from the pod's own spec (the named scoring port), as the API
 * server returns it: '' until the pod has an IP.
 */
export function replicaAddress(pod: V1Pod): string {
  const ip = pod.status?.podIP;
  if (!ip) return '';
  const containers = pod.spec?.containers ?? [];
  const container = containers.find((c) => c.name === SCORING_CONTAINER) ?? containers[0];
  const port = container?.ports?.find((p) => p.name === SCORING_PORT_NAME)?.containerPort;
  if (port === undefined) return '';
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function phaseOf(pod: V1Pod, status: V1ContainerStatus | undefined): ReplicaPhase {
  if (pod.metadata?.deletionTimestamp) return 'terminating';
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') return 'failed';
  const waiting = status?.state?.waiting?.reason;
  if (waiting && FAILED_WAITING.has(waiting)) return 'failed';
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  return ready ? 'ready' : 'starting';
}

/** Why a replica is failed, restarting or not scheduled; '' when there is nothing to say. */
function messageOf(pod: V1Pod, status: V1ContainerStatus | undefined): string {
  const waiting = status?.state?.waiting;
  const terminated = status?.state?.terminated ?? status?.lastState?.terminated;
  const parts: string[] = [];
  if (
    waiting?.reason &&
    waiting.reason !== 'ContainerCreating' &&
    waiting.reason !== 'PodInitializing'
  ) {
    parts.push(waiting.message ? `${waiting.reason}: ${waiting.message}` : waiting.reason);
  }
  if (terminated && (waiting?.reason === 'CrashLoopBackOff' || status?.state?.terminated)) {
    const why = terminated.message?.trim() || terminated.reason || 'terminated';
    parts.push(`last exit code ${terminated.exitCode}: ${why}`);
  }
  const unscheduled = pod.status?.conditions?.find(
    (c) => c.type === 'PodScheduled' && c.status === 'False',
  );
  if (unscheduled) parts.push(unscheduled.message || unscheduled.reason || 'not scheduled');
  if (pod.status?.phase === 'Failed' && pod.status.message) parts.push(pod.status.message);
  return parts.join('; ');
}

function maxConcurrentOf(pod: V1Pod): number {
  const container = pod.spec?.containers.find((c) => c.name === SCORING_CONTAINER);
  const value = container?.env?.find((e) => e.name === 'SKIFF_MAX_CONCURRENT_REQUESTS')?.value;
  const parsed = Number(value);
  return Number.isSafeInteger(parsed) && parsed > 0 ? parsed : 1;
}

/** The Replica a skiff pod stands for, or undefined for a pod without skiff's labels. */
export function replicaOf(pod: V1Pod): Replica | undefined {
  const key = serviceKeyOf(pod);
  if (!key) return undefined;
  const status = scoringStatus(pod);
  const generation = Number(pod.metadata?.labels?.[LABELS.generation]);
  return {
    workspace: key.workspace,
    service: key.service,
    generation: Number.isSafeInteger(generation) ? generation : 0,
    id: pod.metadata?.name ?? '',
    address: replicaAddress(pod),
    phase: phaseOf(pod, status),
    inFlight: 0,
    maxConcurrent: maxConcurrentOf(pod),
    nodeName: pod.spec?.nodeName ?? '',
    startTime:
      toDate(pod.status?.startTime) ?? toDate(pod.metadata?.creationTimestamp) ?? new Date(0),
    restartCount: status?.restartCount ?? 0,
    message: messageOf(pod, status),
  };
}

/** Replicas ordered by workspace, service and id (a stable order for callers and tests). */
export function sortReplicas(replicas: Replica[]): Replica[] {
  const key = (r: Replica) => `${r.workspace}\u0000${r.service}\u0000${r.id}`;
  return replicas.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
