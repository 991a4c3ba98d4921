// The resource types the fake serves, each with its schema class (kubernetes-models), its
// client-node model (unknown fields), its defaults and its name rule.
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Scale } from 'kubernetes-models/autoscaling/v1/Scale';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Service } from 'kubernetes-models/v1/Service';
import {
  defaultDeployment,
  defaultJob,
  defaultNamespace,
  defaultPod,
  defaultService,
} from './defaults.js';
import type { JsonObject } from './json.js';
import type { ValidatingModel } from './schema.js';
import type { NameRule } from './validation.js';

/** One resource type of the API. */
export interface ResourceType {
  /** API group; '' for core. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
  /** kubernetes-models class validating a whole object. */
  readonly model: ValidatingModel;
  /** client-node model name (unknown-field detection). */
  readonly clientModel: string;
  /** Whether `status` is a subresource: writes to the main resource keep the stored status. */
  readonly statusSubresource: boolean;
  /** Whether spec changes bump `metadata.generation`. */
  readonly tracksGeneration: boolean;
  readonly nameRule: NameRule;
  /** Field selectors beyond metadata.name / metadata.namespace. */
  readonly fieldSelectors: ReadonlySet<string>;
  /** Fills server-side defaults in place (after the uid is known). */
  readonly defaults: (object: JsonObject, uid: string) => void;
}

/** `apps/v1` / `v1`. */
export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

const METADATA_FIELDS = ['metadata.name', 'metadata.namespace'];

/** Every resource type served. */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  {
    group: '',
    version: 'v1',
    plural: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    model: Namespace as unknown as ValidatingModel,
    clientModel: 'V1Namespace',
    statusSubresource: true,
    tracksGeneration: false,
    nameRule: 'label',
    fieldSelectors: new Set([...METADATA_FIELDS, 'status.phase']),
    defaults: (object) => defaultNamespace(object),
  },
  {
    group: '',
    version: 'v1',
    plural: 'pods',
    kind: 'Pod',
    namespaced: true,
    model: Pod as unknown as ValidatingModel,
    clientModel: 'V1Pod',
    statusSubresource: true,
    tracksGeneration: false,
    nameRule: 'subdomain',
    fieldSelectors: new Set([
      ...METADATA_FIELDS,
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ]),
    defaults: (object) => defaultPod(object),
  },
  {
    group: '',
    version: 'v1',
    plural: 'services',
    kind: 'Service',
    namespaced: true,
    model: Service as unknown as ValidatingModel,
    clientModel: 'V1Service',
    statusSubresource: true,
    tracksGeneration: false,
    nameRule: 'dns1035',
    fieldSelectors: new Set([...METADATA_FIELDS, 'spec.clusterIP', 'spec.type']),
    defaults: (object) => defaultService(object),
  },
  {
    group: '',
    version: 'v1',
    plural: 'configmaps',
    kind: 'ConfigMap',
    namespaced: true,
    model: ConfigMap as unknown as ValidatingModel,
    clientModel: 'V1ConfigMap',
    statusSubresource: false,
    tracksGeneration: false,
    nameRule: 'subdomain',
    fieldSelectors: new Set(METADATA_FIELDS),
    defaults: () => undefined,
  },
  {
    group: 'apps',
    version: 'v1',
    plural: 'deployments',
    kind: 'Deployment',
    namespaced: true,
    model: Deployment as unknown as ValidatingModel,
    clientModel: 'V1Deployment',
    statusSubresource: true,
    tracksGeneration: true,
    nameRule: 'subdomain',
    fieldSelectors: new Set(METADATA_FIELDS),
    defaults: (object) => defaultDeployment(object),
  },
  {
    group: 'batch',
    version: 'v1',
    plural: 'jobs',
    kind: 'Job',
    namespaced: true,
    model: Job as unknown as ValidatingModel,
    clientModel: 'V1Job',
    statusSubresource: true,
    tracksGeneration: true,
    nameRule: 'subdomain',
    fieldSelectors: new Set([...METADATA_FIELDS, 'status.successful']),
    defaults: (object, uid) => defaultJob(object, uid),
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    plural: 'leases',
    kind: 'Lease',
    namespaced: true,
    model: Lease as unknown as ValidatingModel,
    clientModel: 'V1Lease',
    statusSubresource: false,
    tracksGeneration: false,
    nameRule: 'subdomain',
    fieldSelectors: new Set(METADATA_FIELDS),
    defaults: () => undefined,
  },
];

/** The autoscaling/v1 Scale schema (the scale subresource's body). */
export const SCALE_MODEL = Scale as unknown as ValidatingModel;

/** The resource type of `group`/`plural`, if served. */
export function resourceType(
  group: string,
  version: string,
  plural: string,
): ResourceType | undefined {
  return RESOURCE_TYPES.find(
    (t) => t.group === group && t.version === version && t.plural === plural,
  );
}

/** The resource type of `kind`, if served. */
export function resourceTypeOfKind(kind: string): ResourceType {
  const type = RESOURCE_TYPES.find((t) => t.kind === kind);
  if (!type) throw new Error(`the Kubernetes fake does not serve kind ${kind}`);
  return type;
}
