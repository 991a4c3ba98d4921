// The API server's own validation that the OpenAPI schema cannot express (pkg/apis/*/validation):
// names, labels, selectors that match their template, immutable fields, probe and resource
// rules. A subset: what a workload driver can get wrong and a real cluster would refuse.
import {
  arrayAt,
  isObject,
  numberAt,
  objectAt,
  sameJson,
  stringAt,
  stringMapAt,
  type JsonObject,
} from './json.js';
import { parseQuantity } from './quantity.js';
import { labelSelectorRequirements, matchesLabels } from './selectors.js';
import type { StatusCause } from './status.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PERCENT = /^\d+%$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const FIELD_PATHS = new Set([
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
]);

/** Which rule a name follows. */
export type NameRule = 'subdomain' | 'label' | 'dns1035';

class Causes {
  readonly list: StatusCause[] = [];

  required(field: string): void {
    this.list.push({ reason: 'FieldValueRequired', field, message: 'Required value' });
  }

  invalid(field: string, value: unknown, why: string): void {
    this.list.push({
      reason: 'FieldValueInvalid',
      field,
      message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
    });
  }

  unsupported(field: string, value: unknown, supported: readonly string[]): void {
    this.list.push({
      reason: 'FieldValueNotSupported',
      field,
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
    });
  }

  duplicate(field: string, value: unknown): void {
    this.list.push({
      reason: 'FieldValueDuplicate',
      field,
      message: `Duplicate value: ${JSON.stringify(value)}`,
    });
  }

  immutable(field: string, value: unknown): void {
    this.list.push({
      reason: 'FieldValueInvalid',
      field,
      message: `Invalid value: ${JSON.stringify(value)}: field is immutable`,
    });
  }
}

function checkName(causes: Causes, field: string, name: string, rule: NameRule): void {
  if (!name) return causes.required(field);
  if (rule === 'subdomain' && (name.length > 253 || !DNS_SUBDOMAIN.test(name))) {
    causes.invalid(
      field,
      name,
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
    );
  }
  if (rule === 'label' && (name.length > 63 || !DNS_LABEL.test(name))) {
    causes.invalid(
      field,
      name,
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
    );
  }
  if (rule === 'dns1035' && (name.length > 63 || !DNS_1035_LABEL.test(name))) {
    causes.invalid(
      field,
      name,
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
    );
  }
}

function checkQualifiedKey(causes: Causes, field: string, key: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    causes.invalid(field, key, 'prefix part must be a lowercase RFC 1123 subdomain');
  }
  if (name.length > 63 || !QUALIFIED_NAME.test(name)) {
    causes.invalid(
      field,
      key,
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (63 characters at most)",
    );
  }
}

function checkLabels(causes: Causes, field: string, labels: Record<string, string>): void {
  for (const [key, value] of Object.entries(labels)) {
    checkQualifiedKey(causes, field, key);
    if (value.length > 63 || !LABEL_VALUE.test(value)) {
      causes.invalid(
        `${field}`,
        value,
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (63 characters at most)",
      );
    }
  }
}

function checkMetadata(
  causes: Causes,
  object: JsonObject,
  rule: NameRule,
  path = 'metadata',
): void {
  const metadata = objectAt(object, 'metadata');
  if (path === 'metadata')
    checkName(causes, `${path}.name`, stringAt(metadata, 'name') ?? '', rule);
  checkLabels(causes, `${path}.labels`, stringMapAt(metadata, 'labels'));
  for (const key of Object.keys(stringMapAt(metadata, 'annotations'))) {
    checkQualifiedKey(causes, `${path}.annotations`, key);
  }
}

/** Resources that cannot be overcommitted: integers, and request = limit. */
function isExtendedResource(name: string): boolean {
  return (
    name.includes('/') && !name.startsWith('kubernetes.io/') && !name.includes('.kubernetes.io/')
  );
}

function checkResources(causes: Causes, path: string, resources: JsonObject | undefined): void {
  const requests = objectAt(resources, 'requests') ?? {};
  const limits = objectAt(resources, 'limits') ?? {};
  for (const [name, value] of Object.entries(limits)) {
    const limit = parseQuantity(value);
    const request = parseQuantity(requests[name]);
    if (limit === undefined) continue;
    if (limit < 0)
      causes.invalid(`${path}.limits[${name}]`, value, 'must be greater than or equal to 0');
    if (request !== undefined && request > limit && !isExtendedResource(name)) {
      causes.invalid(
        `${path}.requests`,
        requests[name],
        `must be less than or equal to ${name} limit of ${String(value)}`,
      );
    }
  }
  for (const [name, value] of Object.entries(requests)) {
    const request = parseQuantity(value);
    if (request === undefined) continue;
    if (request < 0)
      causes.invalid(`${path}.requests[${name}]`, value, 'must be greater than or equal to 0');
    if (isExtendedResource(name)) {
      if (!Number.isInteger(request))
        causes.invalid(`${path}.requests[${name}]`, value, 'must be an integer');
      if (limits[name] === undefined) {
        causes.list.push({
          reason: 'FieldValueForbidden',
          field: `${path}.limits`,
          message: `Forbidden: Limit must be set for non overcommitable resources`,
        });
      } else if (parseQuantity(limits[name]) !== request) {
        causes.invalid(
          `${path}.requests[${name}]`,
          value,
          `must be equal to ${name} limit of ${String(limits[name])}`,
        );
      }
    }
  }
}

function checkProbe(
  causes: Causes,
  path: string,
  probe: unknown,
  kind: 'liveness' | 'readiness' | 'startup',
  portNames: Set<string>,
): void {
  if (!isObject(probe)) return;
  const handlers = ['httpGet', 'tcpSocket', 'exec', 'grpc'].filter((h) => probe[h] !== undefined);
  if (handlers.length !== 1) {
    causes.list.push({
      reason: 'FieldValueRequired',
      field: path,
      message: 'Required value: must specify a handler type',
    });
  }
  for (const key of ['periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold']) {
    const value = numberAt(probe, key);
    if (value !== undefined && value < 1)
      causes.invalid(`${path}.${key}`, value, 'must be greater than or equal to 1');
  }
  const success = numberAt(probe, 'successThreshold');
  if (kind !== 'readiness' && success !== undefined && success !== 1) {
    causes.invalid(`${path}.successThreshold`, success, 'must be 1');
  }
  const port = objectAt(probe, 'httpGet')?.['port'] ?? objectAt(probe, 'tcpSocket')?.['port'];
  if (typeof port === 'string' && !/^\d+$/.test(port) && !portNames.has(port)) {
    // The API server only checks the syntax; the kubelet fails the probe. Checked here because
    // a probe naming a port that does not exist is always a mistake in a manifest.
    causes.invalid(`${path}.httpGet.port`, port, 'no container port has this name');
  }
}

function checkContainers(
  causes: Causes,
  path: string,
  spec: JsonObject,
  key: 'containers' | 'initContainers',
  volumes: Set<string>,
  names: Set<string>,
): void {
  arrayAt(spec, key).forEach((container, i) => {
    const at = `${path}.${key}[${i}]`;
    if (!isObject(container)) return;
    const name = stringAt(container, 'name') ?? '';
    checkName(causes, `${at}.name`, name, 'label');
    if (names.has(name)) causes.duplicate(`${at}.name`, name);
    names.add(name);
    if (!stringAt(container, 'image')) causes.required(`${at}.image`);
    const portNames = new Set<string>();
    arrayAt(container, 'ports').forEach((port, p) => {
      const containerPort = numberAt(port, 'containerPort');
      if (containerPort !== undefined && (containerPort < 1 || containerPort > 65_535)) {
        causes.invalid(
          `${at}.ports[${p}].containerPort`,
          containerPort,
          'must be between 1 and 65535, inclusive',
        );
      }
      const portName = stringAt(port, 'name');
      if (portName !== undefined) {
        if (portName.length > 15 || !PORT_NAME.test(portName) || !/[a-z]/.test(portName)) {
          causes.invalid(
            `${at}.ports[${p}].name`,
            portName,
            'must be no more than 15 characters, contain only lowercase alphanumerics and "-", and contain at least one letter',
          );
        }
        if (portNames.has(portName)) causes.duplicate(`${at}.ports[${p}].name`, portName);
        portNames.add(portName);
      }
    });
    checkProbe(causes, `${at}.livenessProbe`, container['livenessProbe'], 'liveness', portNames);
    checkProbe(causes, `${at}.readinessProbe`, container['readinessProbe'], 'readiness', portNames);
    checkProbe(causes, `${at}.startupProbe`, container['startupProbe'], 'startup', portNames);
    checkResources(causes, `${at}.resources`, objectAt(container, 'resources'));
    const envNames = new Set<string>();
    arrayAt(container, 'env').forEach((env, e) => {
      const envName = stringAt(env, 'name') ?? '';
      if (!ENV_NAME.test(envName))
        causes.invalid(
          `${at}.env[${e}].name`,
          envName,
          "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
        );
      envNames.add(envName);
      const valueFrom = objectAt(env, 'valueFrom');
      if (valueFrom && isObject(env) && env['value'] !== undefined) {
        causes.invalid(
          `${at}.env[${e}].valueFrom`,
          '',
          'may not be specified when `value` is not empty',
        );
      }
      const fieldPath = stringAt(objectAt(valueFrom, 'fieldRef'), 'fieldPath');
      if (
        fieldPath !== undefined &&
        !FIELD_PATHS.has(fieldPath) &&
        !/^metadata\.(labels|annotations)\['.+'\]$/.test(fieldPath)
      ) {
        causes.unsupported(`${at}.env[${e}].valueFrom.fieldRef.fieldPath`, fieldPath, [
          ...FIELD_PATHS,
        ]);
      }
    });
    arrayAt(container, 'volumeMounts').forEach((mount, m) => {
      const volume = stringAt(mount, 'name') ?? '';
      if (!volumes.has(volume)) {
        causes.list.push({
          reason: 'FieldValueNotFound',
          field: `${at}.volumeMounts[${m}].name`,
          message: `Not found: ${JSON.stringify(volume)}`,
        });
      }
      if (!stringAt(mount, 'mountPath')) causes.required(`${at}.volumeMounts[${m}].mountPath`);
      const subPath = stringAt(mount, 'subPath');
      if (subPath !== undefined && (subPath.startsWith('/') || subPath.split('/').includes('..'))) {
        causes.invalid(
          `${at}.volumeMounts[${m}].subPath`,
          subPath,
          "must be a relative path without '..'",
        );
      }
    });
  });
}

/** Validation of a pod spec at `path` (`spec` for a Pod, `spec.template.spec` in a template). */
function checkPodSpec(
  causes: Causes,
  path: string,
  spec: JsonObject | undefined,
  restartPolicies: readonly string[],
): void {
  if (!spec) return causes.required(path);
  const volumes = new Set<string>();
  arrayAt(spec, 'volumes').forEach((volume, v) => {
    const name = stringAt(volume, 'name') ?? '';
    checkName(causes, `${path}.volumes[${v}].name`, name, 'label');
    if (volumes.has(name)) causes.duplicate(`${path}.volumes[${v}].name`, name);
    volumes.add(name);
  });
  if (arrayAt(spec, 'containers').length === 0) causes.required(`${path}.containers`);
  const names = new Set<string>();
  checkContainers(causes, path, spec, 'containers', volumes, names);
  checkContainers(causes, path, spec, 'initContainers', volumes, names);
  const restartPolicy = stringAt(spec, 'restartPolicy');
  if (restartPolicy !== undefined && !restartPolicies.includes(restartPolicy)) {
    causes.unsupported(`${path}.restartPolicy`, restartPolicy, restartPolicies);
  }
  checkLabels(causes, `${path}.nodeSelector`, stringMapAt(spec, 'nodeSelector'));
}

function checkTemplateSelector(causes: Causes, spec: JsonObject): void {
  const selector = objectAt(spec, 'selector');
  const requirements = labelSelectorRequirements(selector);
  if (requirements.length === 0) {
    causes.invalid('spec.selector', selector ?? null, 'empty selector is invalid for deployment');
    return;
  }
  const labels = stringMapAt(objectAt(objectAt(spec, 'template'), 'metadata'), 'labels');
  if (!matchesLabels(requirements, labels)) {
    causes.invalid(
      'spec.template.metadata.labels',
      labels,
      '`selector` does not match template `labels`',
    );
  }
}

function intOrPercent(value: unknown, desired: number, roundUp: boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && PERCENT.test(value)) {
    const scaled = (Number(value.slice(0, -1)) * desired) / 100;
    return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
  }
  return undefined;
}

/** maxSurge / maxUnavailable of a Deployment resolved against its replicas (as the controller does). */
export function rollingUpdateLimits(deployment: JsonObject): {
  surge: number;
  unavailable: number;
} {
  const spec = objectAt(deployment, 'spec');
  const desired = numberAt(spec, 'replicas') ?? 1;
  const rolling = objectAt(objectAt(spec, 'strategy'), 'rollingUpdate');
  const surge = intOrPercent(rolling?.['maxSurge'] ?? '25%', desired, true) ?? 0;
  const unavailable = intOrPercent(rolling?.['maxUnavailable'] ?? '25%', desired, false) ?? 0;
  return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable };
}

function checkDeployment(causes: Causes, object: JsonObject, old: JsonObject | undefined): void {
  const spec = objectAt(object, 'spec');
  if (!spec) return causes.required('spec');
  const replicas = numberAt(spec, 'replicas');
  if (replicas !== undefined && replicas < 0)
    causes.invalid('spec.replicas', replicas, 'must be greater than or equal to 0');
  checkTemplateSelector(causes, spec);
  const template = objectAt(spec, 'template');
  checkMetadata(causes, template ?? {}, 'subdomain', 'spec.template.metadata');
  checkPodSpec(causes, 'spec.template.spec', objectAt(template, 'spec'), ['Always']);
  const strategy = objectAt(spec, 'strategy');
  const type = stringAt(strategy, 'type');
  if (type !== undefined && type !== 'RollingUpdate' && type !== 'Recreate') {
    causes.unsupported('spec.strategy.type', type, ['Recreate', 'RollingUpdate']);
  }
  const rolling = objectAt(strategy, 'rollingUpdate');
  if (type === 'Recreate' && rolling) {
    causes.list.push({
      reason: 'FieldValueForbidden',
      field: 'spec.strategy.rollingUpdate',
      message: "Forbidden: may not be specified when strategy `type` is 'Recreate'",
    });
  }
  if (rolling) {
    for (const key of ['maxSurge', 'maxUnavailable']) {
      const value = rolling[key];
      if (value !== undefined && intOrPercent(value, 100, true) === undefined) {
        causes.invalid(
          `spec.strategy.rollingUpdate.${key}`,
          value,
          "a valid percent string must be a numeric string followed by an ending '%'",
        );
      }
    }
    if (
      intOrPercent(rolling['maxSurge'] ?? '25%', 100, true) === 0 &&
      intOrPercent(rolling['maxUnavailable'] ?? '25%', 100, false) === 0
    ) {
      causes.invalid(
        'spec.strategy.rollingUpdate.maxUnavailable',
        rolling['maxUnavailable'],
        'may not be 0 when `maxSurge` is 0',
      );
    }
  }
  if (old && !sameJson(objectAt(old, 'spec')?.['selector'], spec['selector'])) {
    causes.immutable('spec.selector', spec['selector']);
  }
}

function checkService(causes: Causes, object: JsonObject, old: JsonObject | undefined): void {
  const spec = objectAt(object, 'spec');
  if (!spec) return causes.required('spec');
  const type = stringAt(spec, 'type') ?? 'ClusterIP';
  const supported = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
  if (!supported.includes(type)) causes.unsupported('spec.type', type, supported);
  const ports = arrayAt(spec, 'ports');
  if (ports.length === 0 && type !== 'ExternalName' && spec['clusterIP'] !== 'None')
    causes.required('spec.ports');
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const name = stringAt(port, 'name');
    if (ports.length > 1 && !name) causes.required(`spec.ports[${i}].name`);
    if (name !== undefined) {
      if (names.has(name)) causes.duplicate(`spec.ports[${i}].name`, name);
      names.add(name);
    }
    const number = numberAt(port, 'port');
    if (number === undefined || number < 1 || number > 65_535)
      causes.invalid(
        `spec.ports[${i}].port`,
        number ?? null,
        'must be between 1 and 65535, inclusive',
      );
  });
  checkLabels(causes, 'spec.selector', stringMapAt(spec, 'selector'));
  const oldIp = stringAt(objectAt(old, 'spec'), 'clusterIP');
  const newIp = stringAt(spec, 'clusterIP');
  if (oldIp !== undefined && newIp !== undefined && oldIp !== newIp)
    causes.immutable('spec.clusterIP', newIp);
}

function checkJob(causes: Causes, object: JsonObject, old: JsonObject | undefined): void {
  const spec = objectAt(object, 'spec');
  if (!spec) return causes.required('spec');
  const template = objectAt(spec, 'template');
  checkPodSpec(causes, 'spec.template.spec', objectAt(template, 'spec'), ['OnFailure', 'Never']);
  if (!stringAt(objectAt(template, 'spec'), 'restartPolicy'))
    causes.required('spec.template.spec.restartPolicy');
  for (const key of ['backoffLimit', 'completions', 'parallelism']) {
    const value = numberAt(spec, key);
    if (value !== undefined && value < 0)
      causes.invalid(`spec.${key}`, value, 'must be greater than or equal to 0');
  }
  if (old) {
    if (!sameJson(objectAt(old, 'spec')?.['selector'], spec['selector']))
      causes.immutable('spec.selector', spec['selector']);
    if (!sameJson(objectAt(old, 'spec')?.['template'], template))
      causes.immutable('spec.template', template);
  }
}

function checkLease(causes: Causes, object: JsonObject): void {
  const duration = numberAt(objectAt(object, 'spec'), 'leaseDurationSeconds');
  if (duration !== undefined && duration <= 0)
    causes.invalid('spec.leaseDurationSeconds', duration, 'must be greater than 0');
}

/**
 * The API server's validation of a `kind` object about to be stored (after defaults), `old`
 * being the stored one on update. Returns one cause per problem; empty when valid.
 */
export function semanticCauses(
  kind: string,
  object: JsonObject,
  old: JsonObject | undefined,
  nameRule: NameRule,
): StatusCause[] {
  const causes = new Causes();
  checkMetadata(causes, object, nameRule);
  switch (kind) {
    case 'Deployment':
      checkDeployment(causes, object, old);
      break;
    case 'Service':
      checkService(causes, object, old);
      break;
    case 'Pod':
      checkPodSpec(causes, 'spec', objectAt(object, 'spec'), ['Always', 'OnFailure', 'Never']);
      break;
    case 'Job':
      checkJob(causes, object, old);
      break;
    case 'Lease':
      checkLease(causes, object);
      break;
  }
  return causes.list;
}
