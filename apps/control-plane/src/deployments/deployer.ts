import { createServiceKeys, type MasterKeyRing } from '@skiff/auth';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from '@skiff/errors';
import { WebserviceSpec, type ModelRef } from '@skiff/proto';
import { UNCHANGED, type ServiceRecord, type Store } from '@skiff/store';
import type { ComputeQueues } from './compute-queues.js';
import { recordEvent } from './events.js';
import { resolveEnvironmentReference } from './environment-reference.js';
import { normalizeSpec, specHashOf } from './spec.js';

/** At most this many models per deployment (SPEC §1). */
export const MAX_MODELS_PER_DEPLOYMENT = 1_000;

/** Who asks, and for which service. */
export interface DeployRequest {
  workspace: string;
  name: string;
  spec: WebserviceSpec | undefined;
  /** Replace a service of the same name whose spec differs. */
  overwrite: boolean;
  principal: string;
  now: Date;
}

/** What a deploy did. */
export interface DeployOutcome {
  record: ServiceRecord;
  operationId: string;
  /** False when the same spec was deployed already (no new generation). */
  newGeneration: boolean;
}

/**
 * Deploy and update, one path: validate everything, store the spec as a new generation
 * (unless it equals the current one), then enqueue the deploy job under its deterministic id.
 * A retry after a failed enqueue finds the same spec and enqueues again, so no generation is
 * ever left without its job.
 */
export class Deployer {
  constructor(
    private readonly store: Store,
    private readonly queues: ComputeQueues,
    private readonly masterKeys: MasterKeyRing,
  ) {}

  async deploy(request: DeployRequest): Promise<DeployOutcome> {
    const { store } = this;
    const { workspace, name } = request;
    const ws = await store.workspaces.require(workspace);
    // A registered environment (-e) becomes the spec's environment before anything is hashed.
    const resolved = await resolveEnvironmentReference(store, workspace, request.spec);
    const normalized = normalizeSpec(resolved.spec, ws.defaultNamespace);
    const spec = normalized.spec;
    if (resolved.reference && spec.inferenceConfig) {
      spec.inferenceConfig.environmentReference = resolved.reference;
    }
    const compute = spec.compute;
    if (compute === '') {
      throw new InvalidArgumentError(
        'spec.compute: required, expected the name of an attached compute target',
        {
          field: 'spec.compute',
        },
      );
    }
    if (!(await store.computes.get(workspace, compute))) {
      throw new NotFoundError(`compute target '${compute}' not found`, { field: 'spec.compute' });
    }
    spec.models = await this.resolveModels(workspace, spec.models);
    if (
      spec.snapshotDigest !== '' &&
      !(await store.snapshots.get(workspace, spec.snapshotDigest))
    ) {
      throw new NotFoundError(
        `snapshot '${spec.snapshotDigest}' not found; upload it first (skiff uploads it for you)`,
        {
          field: 'spec.snapshot_digest',
        },
      );
    }
    const deployment = normalized.deployment;
    const authMode = deployment.tokenAuthEnabled
      ? 'token'
      : deployment.authEnabled
        ? 'key'
        : 'none';
    const specJson = WebserviceSpec.toJSON(spec);
    // Hashed after models resolve to versions: deploying "latest" again after a new version
    // was registered is a new spec.
    const specHash = specHashOf(spec);
    const timestamp = request.now.toISOString();
    // A fixed count, or for an autoscaled service the count it runs now (kept within the new
    // bounds), so an update under load does not drop to minReplicas.
    const { minReplicas, maxReplicas } = deployment.autoScaler;
    const desiredFor = (current: ServiceRecord | undefined) =>
      deployment.numReplicas ??
      Math.min(maxReplicas, Math.max(minReplicas, current?.desiredReplicas ?? minReplicas));
    let newGeneration = false;

    const record = await store.services.mutate(workspace, name, (current, history) => {
      newGeneration = false;
      if (current?.state === 'deleting') {
        throw new FailedPreconditionError(
          `webservice '${name}' is being deleted; deploy again once it is gone`,
        );
      }
      if (
        current &&
        current.specHash === specHash &&
        current.state !== 'failed' &&
        !hasNewKeys(normalized.keys)
      ) {
        return UNCHANGED; // The same spec again: idempotent, no new generation.
      }
      if (current && !request.overwrite) {
        throw new AlreadyExistsError(
          `webservice '${name}' already exists with a different spec; pass overwrite (--overwrite) or update it`,
          { field: 'name' },
        );
      }
      if (current && current.compute !== compute) {
        throw new FailedPreconditionError(
          `webservice '${name}' runs on compute target '${current.compute}'; delete it before deploying to '${compute}'`,
          { field: 'spec.compute' },
        );
      }
      newGeneration = true;
      const keys =
        authMode === 'key' && (!current?.keys || hasNewKeys(normalized.keys))
          ? createServiceKeys({
              serviceId: `${workspace}/${name}`,
              masterKeys: this.masterKeys,
              primaryKey: normalized.keys.primary,
              secondaryKey: normalized.keys.secondary,
              now: request.now,
            })
          : current?.keys;
      return {
        revision: current?.revision ?? 0,
        workspace,
        name,
        compute,
        spec: specJson,
        specHash,
        // A new service of a deleted one's name continues its generations (job ids stay unique).
        generation: (current?.generation ?? history.lastGeneration) + 1,
        appliedGeneration: current?.appliedGeneration ?? 0,
        state: 'transitioning',
        authMode,
        ...(keys ? { keys } : {}),
        environmentHash: normalized.environmentHash,
        desiredReplicas: desiredFor(current),
        readyReplicas: current?.readyReplicas ?? 0,
        createdAt: current?.createdAt ?? timestamp,
        updatedAt: timestamp,
        updatedBy: request.principal,
      };
    });
    if (!record) throw new Error(`webservice '${name}' vanished while it was deployed`);
    if (newGeneration) {
      await recordEvent(store, workspace, name, record.generation, {
        step: 'QUEUED',
        message: `Generation ${record.generation} queued for compute target '${compute}'`,
      });
    }
    const { jobId } = await this.queues.enqueue(compute, {
      kind: 'deploy',
      workspace,
      service: name,
      generation: record.generation,
    });
    return { record, operationId: jobId, newGeneration };
  }

  /**
   * Marks a service for deletion and enqueues its delete job (idempotent); asking again while
   * it is Deleting retries a delete job that failed.
   */
  async delete(
    workspace: string,
    name: string,
    principal: string,
    now: Date,
  ): Promise<{ record: ServiceRecord; operationId: string }> {
    const record = await this.store.services.mutate(workspace, name, (current) => {
      if (!current) throw new NotFoundError(`webservice '${name}' not found`, { field: 'name' });
      if (current.state === 'deleting') return UNCHANGED;
      return { ...current, state: 'deleting', updatedAt: now.toISOString(), updatedBy: principal };
    });
    if (!record) throw new NotFoundError(`webservice '${name}' not found`, { field: 'name' });
    const { jobId, created } = await this.queues.enqueue(record.compute, {
      kind: 'delete',
      workspace,
      service: name,
      generation: record.generation,
    });
    if (!created) await this.queues.retryFailed({ workspace, compute: record.compute }, jobId);
    return { record, operationId: jobId };
  }

  private async resolveModels(workspace: string, models: ModelRef[]): Promise<ModelRef[]> {
    if (models.length > MAX_MODELS_PER_DEPLOYMENT) {
      throw new InvalidArgumentError(
        `spec.models: at most ${MAX_MODELS_PER_DEPLOYMENT.toLocaleString('en-US')} models per deployment, got ${models.length.toLocaleString('en-US')}`,
        { field: 'spec.models' },
      );
    }
    const seen = new Set<string>();
    const all = await this.store.models.list(workspace);
    return models.map((ref, index) => {
      const field = `spec.models[${index}]`;
      if (ref.name === '')
        throw new InvalidArgumentError(
          `${field}.name: required, expected a registered model name`,
          { field },
        );
      if (!Number.isInteger(ref.version) || ref.version < 0) {
        throw new InvalidArgumentError(
          `${field}.version: expected 0 (latest) or a version number, got ${ref.version}`,
          { field },
        );
      }
      if (seen.has(ref.name)) {
        throw new InvalidArgumentError(
          `${field}: model '${ref.name}' is listed twice; a deployment holds one version of each model`,
          { field },
        );
      }
      seen.add(ref.name);
      const versions = all.filter((model) => model.name === ref.name);
      const found =
        ref.version === 0
          ? versions.at(-1)
          : versions.find((model) => model.version === ref.version);
      if (!found) {
        throw new NotFoundError(
          `model '${ref.name}'${ref.version > 0 ? ` version ${ref.version}` : ''} not found`,
          { field },
        );
      }
      return { name: found.name, version: found.version };
    });
  }
}

function hasNewKeys(keys: { primary?: string; secondary?: string }): boolean {
  return keys.primary !== undefined || keys.secondary !== undefined;
}
