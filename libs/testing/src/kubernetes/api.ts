// The API server's write and read paths, independent of HTTP: decoding with field validation,
// defaults, validation against the official schemas, resourceVersion preconditions,
// generations, server-side apply, the scale subresource, deletion with propagation.
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import {
  apiTime,
  arrayAt,
  child,
  clone,
  isObject,
  meta,
  nameOf,
  namespaceOf,
  numberAt,
  objectAt,
  sameJson,
  stringAt,
  type JsonObject,
} from './json.js';
import { managedFieldsEntry, upsertManagedFields } from './managed-fields.js';
import { jsonPatch, mergePatch, serverSideApply } from './patch.js';
import { apiVersionOf, resourceTypeOfKind, SCALE_MODEL, type ResourceType } from './resources.js';
import { dropFields, schemaCauses, unknownFields } from './schema.js';
import {
  formatLabelSelector,
  labelSelectorRequirements,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  expired,
  invalid,
  notFound,
  type ResourceName,
} from './status.js';
import type { ObjectStore } from './store.js';
import { semanticCauses } from './validation.js';

/** `fieldValidation` query parameter. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** A manifest the fake accepted from a client (a create, update, apply, patch or scale). */
export interface AcceptedManifest {
  readonly operation: 'create' | 'update' | 'apply' | 'patch' | 'scale';
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly fieldManager: string | undefined;
  /** The body as the client sent it (parsed). */
  readonly body: JsonObject;
  /** The object as stored after the write. */
  readonly object: JsonObject;
}

/** Options every write takes. */
export interface WriteOptions {
  readonly fieldManager?: string | undefined;
  readonly fieldValidation?: FieldValidation | undefined;
  readonly dryRun?: boolean | undefined;
  /** Writes by the simulated controllers are not recorded as accepted manifests. */
  readonly internal?: boolean | undefined;
}

/** The result of a write: the stored object and any `Warning` headers. */
export interface WriteResult {
  readonly object: JsonObject;
  readonly warnings: readonly string[];
  readonly created: boolean;
}

/** `propagationPolicy` of a delete. */
export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';

/** Options of a delete. */
export interface DeleteOptions {
  readonly propagationPolicy?: PropagationPolicy | undefined;
  readonly gracePeriodSeconds?: number | undefined;
  readonly resourceVersion?: string | undefined;
  readonly uid?: string | undefined;
}

/** A list response. */
export interface ListResult {
  readonly items: JsonObject[];
  readonly resourceVersion: string;
  readonly continueToken: string | undefined;
}

/** Options of a list. */
export interface ListOptions {
  readonly labelSelector?: string | undefined;
  readonly fieldSelector?: string | undefined;
  readonly limit?: number | undefined;
  readonly continueToken?: string | undefined;
  readonly resourceVersion?: string | undefined;
  readonly resourceVersionMatch?: string | undefined;
}

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

const SCALE_TYPE: ResourceName = { group: 'autoscaling', plural: 'scale', kind: 'Scale' };

/** Hooks the cluster simulation installs into the write path. */
export interface ApiHooks {
  /** Called before an object with dependents is removed (garbage collection, orphaning). */
  beforeRemove?(type: ResourceType, object: JsonObject, policy: PropagationPolicy): void;
}

/** The API server minus HTTP. */
export class ApiServer {
  readonly accepted: AcceptedManifest[] = [];
  readonly #applied = new Map<string, JsonObject>();
  #nextClusterIp = 10;

  constructor(
    readonly store: ObjectStore,
    readonly hooks: ApiHooks = {},
  ) {}

  // ---- reads -------------------------------------------------------------------------------

  /** The object, or a 404. */
  get(type: ResourceType, namespace: string, name: string): JsonObject {
    const found = this.store.get(type, type.namespaced ? namespace : '', name);
    if (!found) throw notFound(type, name);
    return found;
  }

  /** Objects matching the selectors, with the list's resourceVersion. */
  list(type: ResourceType, namespace: string | undefined, options: ListOptions = {}): ListResult {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector, type.fieldSelectors);
    if (options.resourceVersionMatch === 'Exact' && options.resourceVersion !== undefined) {
      const requested = Number(options.resourceVersion);
      if (requested < this.store.compactedThrough) {
        throw expired(
          `too old resource version: ${requested} (${this.store.compactedThrough + 1})`,
        );
      }
    }
    let items = this.store
      .list(type, namespace)
      .filter((o) => matchesLabels(labels, objectLabels(o)) && matchesFields(fields, o));
    let start = 0;
    let resourceVersion = this.store.resourceVersion;
    if (options.continueToken) {
      const token = decodeContinue(options.continueToken);
      if (token.resourceVersion < this.store.compactedThrough) {
        throw expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      start = token.start;
      resourceVersion = token.resourceVersion;
    }
    let continueToken: string | undefined;
    if (options.limit !== undefined && options.limit > 0 && items.length - start > options.limit) {
      continueToken = encodeContinue(resourceVersion, start + options.limit);
      items = items.slice(start, start + options.limit);
    } else items = items.slice(start);
    // Items of a typed list carry no kind/apiVersion on the wire.
    for (const item of items) {
      delete item['kind'];
      delete item['apiVersion'];
    }
    return { items, resourceVersion: String(resourceVersion), continueToken };
  }

  // ---- writes ------------------------------------------------------------------------------

  /** POST: creates an object (409 when the name exists). */
  create(
    type: ResourceType,
    namespace: string,
    body: unknown,
    options: WriteOptions = {},
  ): WriteResult {
    const { object: decoded, warnings } = this.#decode(
      type,
      body,
      options.fieldValidation,
      'decode',
    );
    const metadata = meta(decoded);
    if (!stringAt(metadata, 'name') && stringAt(metadata, 'generateName')) {
      metadata['name'] = `${stringAt(metadata, 'generateName') ?? ''}${randomSuffix()}`;
    }
    const name = nameOf(decoded);
    this.#checkNamespace(type, namespace, decoded);
    if (this.store.get(type, type.namespaced ? namespace : '', name))
      throw alreadyExists(type, name);
    const candidate = this.#prepareCreate(type, namespace, decoded, options, 'Update');
    const object = options.dryRun ? candidate : this.store.create(type, candidate);
    this.#record('create', type, body, object, options);
    return { object, warnings, created: true };
  }

  /** PUT: replaces an object; a stale `metadata.resourceVersion` is a 409. */
  update(
    type: ResourceType,
    namespace: string,
    name: string,
    body: unknown,
    options: WriteOptions = {},
  ): WriteResult {
    const { object: decoded, warnings } = this.#decode(
      type,
      body,
      options.fieldValidation,
      'decode',
    );
    this.#checkName(decoded, name);
    const live = this.get(type, namespace, name);
    this.#checkNamespace(type, namespace, decoded);
    const object = this.#commitUpdate(type, live, decoded, options, 'Update', undefined);
    this.#record('update', type, body, object, options);
    return { object, warnings, created: false };
  }

  /** PATCH with a merge, JSON or apply patch. */
  patch(
    type: ResourceType,
    namespace: string,
    name: string,
    contentType: string,
    raw: string,
    options: WriteOptions & { force?: boolean | undefined } = {},
  ): WriteResult {
    if (contentType === 'application/apply-patch+yaml')
      return this.#apply(type, namespace, name, raw, options);
    const live = this.get(type, namespace, name);
    const patched = this.#patched(live, contentType, raw);
    if (!isObject(patched)) throw badRequest('the patch did not produce an object');
    const { object: decoded, warnings } = this.#decode(
      type,
      patched,
      options.fieldValidation,
      'decode',
    );
    this.#checkName(decoded, name);
    const object = this.#commitUpdate(type, live, decoded, options, 'Update', undefined);
    this.#record('patch', type, parseBody(raw), object, options);
    return { object, warnings, created: false };
  }

  #patched(live: JsonObject, contentType: string, raw: string): unknown {
    const body = parseBody(raw);
    switch (contentType) {
      case 'application/merge-patch+json':
        return mergePatch(live, body);
      case 'application/json-patch+json':
        return jsonPatch(live, body);
      case 'application/strategic-merge-patch+json':
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          'strategic merge patch is not modelled by the Kubernetes fake; use server-side apply or a merge patch',
        );
      default:
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
    }
  }

  #apply(
    type: ResourceType,
    namespace: string,
    name: string,
    raw: string,
    options: WriteOptions,
  ): WriteResult {
    const manager = options.fieldManager;
    if (!manager) {
      throw invalid({ group: 'meta.k8s.io', plural: 'patchoptions', kind: 'PatchOptions' }, '', [
        {
          reason: 'FieldValueRequired',
          field: 'fieldManager',
          message: 'Required value: is required for apply patch',
        },
      ]);
    }
    const body = parseApplyBody(raw);
    const { object: applied, warnings } = this.#decode(
      type,
      body,
      options.fieldValidation,
      'apply',
      `${namespace}/${name}`,
    );
    this.#checkName(applied, name);
    this.#checkNamespace(type, namespace, applied);
    if (type.statusSubresource) delete applied['status'];
    const live = this.store.get(type, type.namespaced ? namespace : '', name);
    let object: JsonObject;
    let created = false;
    if (!live) {
      const candidate = this.#prepareCreate(type, namespace, clone(applied), options, 'Apply');
      object = options.dryRun ? candidate : this.store.create(type, candidate);
      created = true;
    } else {
      const uid = stringAt(objectAt(live, 'metadata'), 'uid') ?? '';
      const previous = this.#applied.get(`${uid}\0${manager}`);
      const merged = serverSideApply(live, previous, applied);
      object = this.#commitUpdate(type, live, merged, options, 'Apply', undefined);
    }
    if (!options.dryRun) {
      const uid = stringAt(objectAt(object, 'metadata'), 'uid') ?? '';
      this.#applied.set(`${uid}\0${manager}`, clone(applied));
    }
    this.#record('apply', type, body, object, options);
    return { object, warnings, created };
  }

  // ---- the scale subresource ---------------------------------------------------------------

  /** GET .../scale. */
  getScale(type: ResourceType, namespace: string, name: string): JsonObject {
    return scaleOf(this.get(type, namespace, name));
  }

  /** PUT .../scale. */
  updateScale(
    type: ResourceType,
    namespace: string,
    name: string,
    body: unknown,
    options: WriteOptions = {},
  ): JsonObject {
    const live = this.get(type, namespace, name);
    const scale = this.#decodeScale(body, options.fieldValidation);
    const expected = stringAt(objectAt(scale, 'metadata'), 'resourceVersion');
    if (expected && expected !== stringAt(objectAt(live, 'metadata'), 'resourceVersion'))
      throw conflict(SCALE_TYPE, name);
    return this.#commitScale(type, live, scale, body, options);
  }

  /** PATCH .../scale (merge, JSON or apply patch of the Scale object). */
  patchScale(
    type: ResourceType,
    namespace: string,
    name: string,
    contentType: string,
    raw: string,
    options: WriteOptions = {},
  ): JsonObject {
    const live = this.get(type, namespace, name);
    const current = scaleOf(live);
    let patched: unknown;
    if (contentType === 'application/apply-patch+yaml') {
      if (!options.fieldManager) throw badRequest('fieldManager is required for apply patch');
      patched = serverSideApply(current, undefined, parseApplyBody(raw));
    } else patched = this.#patched(current, contentType, raw);
    const scale = this.#decodeScale(patched, options.fieldValidation);
    const expected = stringAt(objectAt(scale, 'metadata'), 'resourceVersion');
    if (expected && expected !== stringAt(objectAt(live, 'metadata'), 'resourceVersion'))
      throw conflict(SCALE_TYPE, name);
    return this.#commitScale(type, live, scale, parseBody(raw), options);
  }

  #decodeScale(body: unknown, fieldValidation: FieldValidation | undefined): JsonObject {
    if (!isObject(body)) throw badRequest('the body must be an autoscaling/v1 Scale');
    const scale = clone(body);
    const unknown = unknownFields(scale, 'V1Scale');
    if (unknown.length > 0 && fieldValidation === 'Strict') {
      throw badRequest(
        `strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`,
      );
    }
    dropFields(scale, unknown);
    const replicas = numberAt(objectAt(scale, 'spec'), 'replicas') ?? 0;
    const causes = schemaCauses(SCALE_MODEL, {
      ...scale,
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
    });
    if (replicas < 0) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.replicas',
        message: `Invalid value: ${replicas}: must be greater than or equal to 0`,
      });
    }
    if (causes.length > 0) throw invalid(SCALE_TYPE, nameOf(scale), causes);
    return scale;
  }

  #commitScale(
    type: ResourceType,
    live: JsonObject,
    scale: JsonObject,
    body: unknown,
    options: WriteOptions,
  ): JsonObject {
    const next = clone(live);
    child(next, 'spec')['replicas'] = numberAt(objectAt(scale, 'spec'), 'replicas') ?? 0;
    const object = this.#commitUpdate(type, live, next, options, 'Update', 'scale');
    if (!options.internal) {
      this.accepted.push({
        operation: 'scale',
        apiVersion: apiVersionOf(type),
        kind: type.kind,
        namespace: namespaceOf(object),
        name: nameOf(object),
        fieldManager: options.fieldManager,
        body: isObject(body) ? clone(body) : {},
        object: clone(object),
      });
    }
    return scaleOf(object);
  }

  // ---- deletes -----------------------------------------------------------------------------

  /**
   * DELETE of one object. A pod bound to a node is deleted gracefully: it gets a
   * deletionTimestamp and the kubelet removes it once its containers stopped.
   */
  delete(
    type: ResourceType,
    namespace: string,
    name: string,
    options: DeleteOptions = {},
  ): JsonObject {
    const live = this.get(type, namespace, name);
    const metadata = objectAt(live, 'metadata');
    if (
      options.resourceVersion &&
      options.resourceVersion !== stringAt(metadata, 'resourceVersion')
    )
      throw conflict(type, name);
    if (options.uid && options.uid !== stringAt(metadata, 'uid')) throw conflict(type, name);
    if (type.kind === 'Pod') {
      const phase = stringAt(objectAt(live, 'status'), 'phase');
      const bound = Boolean(stringAt(objectAt(live, 'spec'), 'nodeName'));
      const grace =
        options.gracePeriodSeconds ??
        numberAt(objectAt(live, 'spec'), 'terminationGracePeriodSeconds') ??
        30;
      if (bound && grace > 0 && phase !== 'Succeeded' && phase !== 'Failed') {
        if (stringAt(metadata, 'deletionTimestamp')) return live;
        const terminating = clone(live);
        meta(terminating)['deletionTimestamp'] = apiTime(new Date(Date.now() + grace * 1000));
        meta(terminating)['deletionGracePeriodSeconds'] = grace;
        return this.store.replace(type, terminating);
      }
    }
    const policy = options.propagationPolicy ?? (type.kind === 'Job' ? 'Orphan' : 'Background');
    this.hooks.beforeRemove?.(type, live, policy);
    if (type.kind === 'Namespace') this.#emptyNamespace(name);
    return this.store.remove(type, type.namespaced ? namespace : '', name) ?? live;
  }

  /** DELETE of a collection: every object matching the selectors. */
  deleteCollection(
    type: ResourceType,
    namespace: string | undefined,
    list: ListOptions,
    options: DeleteOptions = {},
  ): JsonObject[] {
    const { items } = this.list(type, namespace, list);
    return items.map((item) => this.delete(type, namespaceOf(item), nameOf(item), options));
  }

  #emptyNamespace(namespace: string): void {
    for (const kind of ['Deployment', 'Job', 'Service', 'Lease', 'ConfigMap', 'Pod']) {
      const type = resourceTypeOfKind(kind);
      for (const object of this.store.list(type, namespace)) {
        this.hooks.beforeRemove?.(type, object, 'Background');
        this.store.remove(type, namespace, nameOf(object));
      }
    }
  }

  // ---- the shared write path ---------------------------------------------------------------

  /** Parses and checks field names (fieldValidation) and the type of a body. */
  #decode(
    type: ResourceType,
    body: unknown,
    fieldValidation: FieldValidation | undefined,
    mode: 'decode' | 'apply',
    target = '',
  ): { object: JsonObject; warnings: string[] } {
    if (!isObject(body))
      throw badRequest(
        `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: the body is not an object`,
      );
    const object = clone(body);
    if (object['apiVersion'] !== apiVersionOf(type) || object['kind'] !== type.kind) {
      const missing =
        object['kind'] === undefined
          ? `Object 'Kind' is missing in '${JSON.stringify(body)}'`
          : `${String(object['kind'])} in version "${String(object['apiVersion'])}" cannot be handled as a ${type.kind}: the object's apiVersion/kind does not match the endpoint (${apiVersionOf(type)}, ${type.kind})`;
      throw badRequest(missing);
    }
    const unknown = unknownFields(object, type.clientModel);
    const warnings: string[] = [];
    if (unknown.length > 0) {
      if (fieldValidation === 'Strict') {
        throw badRequest(
          mode === 'apply'
            ? `failed to create typed patch object (${target}; ${apiVersionOf(type)}, Kind=${type.kind}): ${unknown.map((f) => `.${f}: field not declared in schema`).join(', ')}`
            : `strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`,
        );
      }
      if (fieldValidation !== 'Ignore')
        warnings.push(...unknown.map((f) => `unknown field "${f}"`));
      dropFields(object, unknown);
    }
    if (type.kind === 'Lease') {
      for (const field of ['acquireTime', 'renewTime']) {
        const value = objectAt(object, 'spec')?.[field];
        if (value !== undefined && (typeof value !== 'string' || !MICRO_TIME.test(value))) {
          throw badRequest(
            `Lease in version "v1" cannot be handled as a Lease: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse as MicroTime (spec.${field} needs six fractional digits)`,
          );
        }
      }
    }
    return { object, warnings };
  }

  #checkName(object: JsonObject, name: string): void {
    const given = nameOf(object);
    if (given !== name) {
      throw badRequest(
        `the name of the object (${given}) does not match the name on the URL (${name})`,
      );
    }
  }

  #checkNamespace(type: ResourceType, namespace: string, object: JsonObject): void {
    if (!type.namespaced) return;
    const given = namespaceOf(object);
    if (given && given !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    meta(object)['namespace'] = namespace;
    if (!this.store.get(resourceTypeOfKind('Namespace'), '', namespace)) {
      throw notFound({ group: '', plural: 'namespaces', kind: 'Namespace' }, namespace);
    }
  }

  #prepareCreate(
    type: ResourceType,
    namespace: string,
    object: JsonObject,
    options: WriteOptions,
    operation: 'Apply' | 'Update',
  ): JsonObject {
    const metadata = meta(object);
    const uid = randomUUID();
    metadata['uid'] = uid;
    metadata['creationTimestamp'] = apiTime();
    if (type.namespaced) metadata['namespace'] = namespace;
    else delete metadata['namespace'];
    delete metadata['resourceVersion'];
    delete metadata['deletionTimestamp'];
    if (type.tracksGeneration) metadata['generation'] = 1;
    if (type.statusSubresource) delete object['status'];
    type.defaults(object, uid);
    if (type.kind === 'Service') this.#allocateClusterIp(object, undefined);
    if (type.kind === 'Pod') object['status'] = { phase: 'Pending', qosClass: qosClass(object) };
    if (type.kind === 'Namespace') object['status'] = { phase: 'Active' };
    if (options.fieldManager) {
      metadata['managedFields'] = [
        managedFieldsEntry(options.fieldManager, operation, apiVersionOf(type), object),
      ];
    }
    this.#validate(type, object, undefined);
    return object;
  }

  #commitUpdate(
    type: ResourceType,
    live: JsonObject,
    next: JsonObject,
    options: WriteOptions,
    operation: 'Apply' | 'Update',
    subresource: string | undefined,
  ): JsonObject {
    const liveMeta = objectAt(live, 'metadata') ?? {};
    const name = nameOf(live);
    const candidate = clone(next);
    const metadata = meta(candidate);
    const expected = stringAt(metadata, 'resourceVersion');
    if (expected && expected !== stringAt(liveMeta, 'resourceVersion')) throw conflict(type, name);
    for (const key of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'namespace',
    ]) {
      if (liveMeta[key] === undefined) delete metadata[key];
      else metadata[key] = liveMeta[key];
    }
    metadata['resourceVersion'] = liveMeta['resourceVersion'];
    if (type.statusSubresource) {
      if (live['status'] === undefined) delete candidate['status'];
      else candidate['status'] = clone(live['status']);
    }
    const uid = stringAt(liveMeta, 'uid') ?? '';
    type.defaults(candidate, uid);
    if (type.kind === 'Service') this.#allocateClusterIp(candidate, live);
    if (type.tracksGeneration && !sameJson(live['spec'], candidate['spec'])) {
      metadata['generation'] = (numberAt(liveMeta, 'generation') ?? 1) + 1;
    }
    if (options.fieldManager) {
      metadata['managedFields'] = upsertManagedFields(
        liveMeta['managedFields'],
        managedFieldsEntry(
          options.fieldManager,
          operation,
          apiVersionOf(type),
          subresource === 'scale' ? { spec: { replicas: 0 } } : next,
          subresource,
        ),
      );
    } else if (liveMeta['managedFields'] !== undefined)
      metadata['managedFields'] = liveMeta['managedFields'];
    this.#validate(type, candidate, live);
    return options.dryRun ? candidate : this.store.replace(type, candidate);
  }

  #validate(type: ResourceType, object: JsonObject, old: JsonObject | undefined): void {
    const causes = [
      ...schemaCauses(type.model, object),
      ...semanticCauses(type.kind, object, old, type.nameRule),
    ];
    if (causes.length > 0) throw invalid(type, nameOf(object), causes);
  }

  #allocateClusterIp(object: JsonObject, live: JsonObject | undefined): void {
    const spec = child(object, 'spec');
    const liveSpec = objectAt(live, 'spec');
    if (spec['clusterIP'] === undefined && liveSpec?.['clusterIP'] !== undefined) {
      spec['clusterIP'] = liveSpec['clusterIP'];
      spec['clusterIPs'] = liveSpec['clusterIPs'];
    }
    if (spec['clusterIP'] === undefined && spec['type'] !== 'ExternalName') {
      // Addresses only in the object: nothing ever connects to a cluster IP of the fake.
      const n = this.#nextClusterIp++;
      spec['clusterIP'] = `10.96.${Math.floor(n / 250)}.${(n % 250) + 1}`;
    }
    if (spec['clusterIP'] !== undefined && spec['clusterIPs'] === undefined)
      spec['clusterIPs'] = [spec['clusterIP']];
    if (spec['ipFamilies'] === undefined) spec['ipFamilies'] = ['IPv4'];
    if (spec['ipFamilyPolicy'] === undefined) spec['ipFamilyPolicy'] = 'SingleStack';
  }

  #record(
    operation: AcceptedManifest['operation'],
    type: ResourceType,
    body: unknown,
    object: JsonObject,
    options: WriteOptions,
  ): void {
    if (options.internal || options.dryRun) return;
    this.accepted.push({
      operation,
      apiVersion: apiVersionOf(type),
      kind: type.kind,
      namespace: namespaceOf(object),
      name: nameOf(object),
      fieldManager: options.fieldManager,
      body: isObject(body) ? clone(body) : {},
      object: clone(object),
    });
  }
}

/** The labels of an object. */
export function objectLabels(object: JsonObject): Record<string, string> {
  const labels = objectAt(objectAt(object, 'metadata'), 'labels') ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The autoscaling/v1 Scale of a Deployment. */
function scaleOf(object: JsonObject): JsonObject {
  const metadata = objectAt(object, 'metadata') ?? {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: metadata['name'],
      namespace: metadata['namespace'],
      uid: metadata['uid'],
      resourceVersion: metadata['resourceVersion'],
      creationTimestamp: metadata['creationTimestamp'],
    },
    spec: { replicas: numberAt(objectAt(object, 'spec'), 'replicas') ?? 0 },
    status: {
      replicas: numberAt(objectAt(object, 'status'), 'replicas') ?? 0,
      selector: formatLabelSelector(
        labelSelectorRequirements(objectAt(objectAt(object, 'spec'), 'selector')),
      ),
    },
  };
}

function qosClass(pod: JsonObject): string {
  const containers = arrayAt(objectAt(pod, 'spec'), 'containers');
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const resources = objectAt(c, 'resources');
    const requests = objectAt(resources, 'requests') ?? {};
    const limits = objectAt(resources, 'limits') ?? {};
    if (Object.keys(requests).length > 0 || Object.keys(limits).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      if (limits[r] === undefined || String(requests[r]) !== String(limits[r])) guaranteed = false;
    }
  }
  return !any ? 'BestEffort' : guaranteed ? 'Guaranteed' : 'Burstable';
}

function parseBody(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    throw badRequest(`the request body is not JSON: ${String(error)}`);
  }
}

function parseApplyBody(raw: string): JsonObject {
  let body: unknown;
  try {
    body = parseYaml(raw, { uniqueKeys: true }) as unknown;
  } catch (error) {
    throw badRequest(`error decoding YAML: ${String(error)}`);
  }
  if (!isObject(body)) throw badRequest('the apply patch must be an object');
  return body;
}

const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Five characters of the alphabet the API server uses for generated names. */
export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++)
    out += ALPHABET[Math.floor(Math.random() * ALPHABET.length)] ?? 'x';
  return out;
}

function encodeContinue(resourceVersion: number, start: number): string {
  return Buffer.from(JSON.stringify({ rv: resourceVersion, start })).toString('base64url');
}

function decodeContinue(token: string): { resourceVersion: number; start: number } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (
      isObject(parsed) &&
      typeof parsed['rv'] === 'number' &&
      typeof parsed['start'] === 'number'
    ) {
      return { resourceVersion: parsed['rv'], start: parsed['start'] };
    }
  } catch {
    // fall through
  }
  throw badRequest('invalid continue token');
}
