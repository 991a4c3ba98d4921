import type { ModelRef } from '@skiff/proto';
import { UsageError, type Session } from '../connection/session.js';
import type { CliIo } from '../io.js';
import {
  loadDeploymentConfig,
  loadInferenceConfig,
  type LoadedDeploymentConfig,
  type LoadedInferenceConfig,
} from './configs.js';
import type { InlineFlags } from './inline-flags.js';
import { ensureSnapshot } from './snapshot.js';

/** One deployment as `skiff model deploy` takes it. */
export interface DeploymentRequest {
  /** The service. */
  readonly name: string;
  readonly models: ModelRef[];
  /**
   * The inferenceconfig file, as named to the user in messages (relative to the cwd);
   * undefined: the inline flags alone.
   */
  readonly ic: string | undefined;
  /** The deploymentconfig file, likewise. */
  readonly dc: string | undefined;
  /** v1 inline flags (`--es`, `--cc`, ...) overriding the files' fields. */
  readonly flags?: InlineFlags;
  /**
   * The compute target (`--ct`); undefined: the deployment configuration's
   * `computeTargetName`, as v1 did.
   */
  readonly compute: string | undefined;
  /** Replace an existing service of the same name. */
  readonly overwrite: boolean;
}

/** A deployment whose files are read and checked and whose compute target is known. */
export interface PreparedDeployment {
  readonly name: string;
  readonly models: ModelRef[];
  readonly compute: string;
  readonly overwrite: boolean;
  readonly inference: LoadedInferenceConfig;
  readonly deployment: LoadedDeploymentConfig;
}

/**
 * Reads and checks both v1 files and settles the compute target (`--ct`, else the file's
 * `computeTargetName`), touching nothing but the disk: a broken file is reported before the
 * control plane is contacted.
 *
 * @throws ConfigError naming every problem in the files; UsageError when no compute is named.
 */
export async function prepareDeployment(
  io: CliIo,
  request: DeploymentRequest,
): Promise<PreparedDeployment> {
  if (request.ic === undefined && !request.flags?.inference.length) {
    throw new UsageError('give --ic <file>, or the inline flags --es/--sd/--rt/--cf');
  }
  const inference = await loadInferenceConfig(io, request.ic, request.flags?.inference);
  const deployment = await loadDeploymentConfig(
    io,
    request.dc,
    inference.enableGpu,
    request.flags?.deployment,
  );
  const compute = request.compute ?? deployment.computeTargetName;
  if (compute === null) {
    throw new UsageError(
      request.dc === undefined
        ? 'no compute target: pass --ct <name>'
        : `no compute target: pass --ct <name>, or set computeTargetName in ${deployment.label}`,
    );
  }
  const { name, models, overwrite } = request;
  return { name, models, compute, overwrite, inference, deployment };
}

/**
 * Uploads the source snapshot when the control plane lacks it, asks for the deployment and says
 * so on stdout. Returns the generation to wait for. Shared by `skiff model deploy` and
 * `skiff up --deploy`, so both deploy the same files the same way; a request not yet prepared
 * is read first ({@link prepareDeployment}).
 *
 * @throws ConfigError naming every problem in the files; SkiffApiError from the control plane.
 */
export async function startDeployment(
  session: Session,
  request: DeploymentRequest | PreparedDeployment,
): Promise<number> {
  const { client, io, workspace } = session;
  const prepared = 'inference' in request ? request : await prepareDeployment(io, request);
  const { inference, deployment, compute } = prepared;
  const snapshotDigest = await ensureSnapshot(client, workspace, io, inference);
  const { webservice, operationId } = await client.webservices.deploy({
    workspace,
    name: prepared.name,
    overwrite: prepared.overwrite,
    spec: {
      compute,
      models: prepared.models,
      snapshotDigest,
      inferenceConfig: inference.config,
      deploymentConfig: deployment.config,
    },
  });
  const generation = webservice?.generation ?? 0;
  io.out(
    `Deploying ${prepared.name} (generation ${generation}) on ${compute}: operation ${operationId}\n`,
  );
  return generation;
}
