// The defaults the API server fills in on write (a subset of pkg/apis/*/v1/defaults.go). They
// matter to clients: a driver that compares what it applied with what it reads back, or relies
// on `metadata.generation` staying put when it applies the same manifest twice, sees them.
import { arrayAt, child, isObject, objectAt, stringAt, type JsonObject } from './json.js';

function setDefault(object: JsonObject, key: string, value: unknown): void {
  if (object[key] === undefined) object[key] = value;
}

function defaultProbe(probe: unknown): void {
  if (!isObject(probe)) return;
  setDefault(probe, 'timeoutSeconds', 1);
  setDefault(probe, 'periodSeconds', 10);
  setDefault(probe, 'successThreshold', 1);
  setDefault(probe, 'failureThreshold', 3);
  const httpGet = objectAt(probe, 'httpGet');
  if (httpGet) {
    setDefault(httpGet, 'path', '/');
    setDefault(httpGet, 'scheme', 'HTTP');
  }
}

function defaultContainer(container: unknown): void {
  if (!isObject(container)) return;
  setDefault(container, 'terminationMessagePath', '/dev/termination-log');
  setDefault(container, 'terminationMessagePolicy', 'File');
  const image = stringAt(container, 'image') ?? '';
  const tagged = /:[^/]+$/.test(image) || image.includes('@');
  setDefault(
    container,
    'imagePullPolicy',
    !tagged || image.endsWith(':latest') ? 'Always' : 'IfNotPresent',
  );
  for (const port of arrayAt(container, 'ports'))
    if (isObject(port)) setDefault(port, 'protocol', 'TCP');
  defaultProbe(container['livenessProbe']);
  defaultProbe(container['readinessProbe']);
  defaultProbe(container['startupProbe']);
  // A limit without a request means request = limit (core/v1 SetDefaults_ResourceRequirements).
  const resources = objectAt(container, 'resources');
  const limits = objectAt(resources, 'limits');
  if (resources && limits && Object.keys(limits).length > 0) {
    const requests = child(resources, 'requests');
    for (const [name, value] of Object.entries(limits)) setDefault(requests, name, value);
  }
  for (const env of arrayAt(container, 'env')) {
    const fieldRef = objectAt(objectAt(env, 'valueFrom'), 'fieldRef');
    if (fieldRef) setDefault(fieldRef, 'apiVersion', 'v1');
  }
}

/** Pod spec defaults; also for the templates of Deployments and Jobs. */
export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'enableServiceLinks', true);
  for (const c of arrayAt(spec, 'containers')) defaultContainer(c);
  for (const c of arrayAt(spec, 'initContainers')) defaultContainer(c);
  for (const volume of arrayAt(spec, 'volumes')) {
    const hostPath = objectAt(volume, 'hostPath');
    if (hostPath) setDefault(hostPath, 'type', '');
  }
}

function defaultTemplate(spec: JsonObject): void {
  const template = objectAt(spec, 'template');
  const podSpec = objectAt(template, 'spec');
  if (podSpec) defaultPodSpec(podSpec);
}

/** apps/v1 Deployment defaults. */
export function defaultDeployment(object: JsonObject): void {
  const spec = objectAt(object, 'spec');
  if (!spec) return;
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  const strategy = child(spec, 'strategy');
  setDefault(strategy, 'type', 'RollingUpdate');
  if (strategy['type'] === 'RollingUpdate') {
    const rolling = child(strategy, 'rollingUpdate');
    setDefault(rolling, 'maxUnavailable', '25%');
    setDefault(rolling, 'maxSurge', '25%');
  }
  defaultTemplate(spec);
}

/** core/v1 Service defaults (the cluster IP is allocated separately, on create). */
export function defaultService(object: JsonObject): void {
  const spec = objectAt(object, 'spec');
  if (!spec) return;
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  for (const port of arrayAt(spec, 'ports')) {
    if (!isObject(port)) continue;
    setDefault(port, 'protocol', 'TCP');
    setDefault(port, 'targetPort', port['port']);
  }
}

/** core/v1 Pod defaults. */
export function defaultPod(object: JsonObject): void {
  const spec = objectAt(object, 'spec');
  if (spec) defaultPodSpec(spec);
}

/** batch/v1 Job defaults, including the selector and labels the API server generates. */
export function defaultJob(object: JsonObject, uid: string): void {
  const spec = objectAt(object, 'spec');
  if (!spec) return;
  setDefault(spec, 'completions', 1);
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'backoffLimit', 6);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  setDefault(spec, 'manualSelector', false);
  setDefault(spec, 'podReplacementPolicy', 'TerminatingOrFailed');
  const name = stringAt(objectAt(object, 'metadata'), 'name') ?? '';
  if (spec['manualSelector'] !== true && spec['selector'] === undefined) {
    spec['selector'] = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
  }
  const template = child(spec, 'template');
  const labels = child(child(template, 'metadata'), 'labels');
  setDefault(labels, 'batch.kubernetes.io/controller-uid', uid);
  setDefault(labels, 'batch.kubernetes.io/job-name', name);
  setDefault(labels, 'controller-uid', uid);
  setDefault(labels, 'job-name', name);
  defaultTemplate(spec);
}

/** core/v1 Namespace defaults. */
export function defaultNamespace(object: JsonObject): void {
  const name = stringAt(objectAt(object, 'metadata'), 'name') ?? '';
  const labels = child(child(object, 'metadata'), 'labels');
  labels['kubernetes.io/metadata.name'] = name;
  setDefault(child(object, 'spec'), 'finalizers', ['kubernetes']);
}
