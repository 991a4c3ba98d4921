import type { ModelRef } from '@skiff/proto';
import type { Session } from '../connection/session.js';
import { loadDeploymentConfig, loadInferenceConfig } from './configs.js';
import { ensureSnapshot } from './snapshot.js';

/** One deployment as `skiff model deploy` takes it. */
export interface DeploymentRequest {
  /** The service. */
  readonly name: string;
  readonly models: ModelRef[];
  /** The inferenceconfig file, as named to the user in messages (relative to the cwd). */
  readonly ic: string;
  /** The deploymentconfig file, likewise. */
  readonly dc: string;
  /** The compute target. */
  readonly compute: string;
  /** Replace an existing service of the same name. */
  readonly overwrite: boolean;
}

/**
 * Reads and checks both v1 files, uploads the source snapshot when the control plane lacks it,
 * asks for the deployment and says so on stdout. Returns the generation to wait for. Shared by
 * `skiff model deploy` and `skiff up --deploy`, so both deploy the same files the same way.
 *
 * @throws ConfigError naming every problem in the files; SkiffApiError from the control plane.
 */
export async function startDeployment(
  session: Session,
  request: DeploymentRequest,
): Promise<number> {
  const { client, io, workspace } = session;
  const inference = await loadInferenceConfig(io, request.ic);
  const deployment = await loadDeploymentConfig(io, request.dc, inference.enableGpu);
  const snapshotDigest = await ensureSnapshot(client, workspace, io, inference);
  const { webservice, operationId } = await client.webservices.deploy({
    workspace,
    name: request.name,
    overwrite: request.overwrite,
    spec: {
      compute: request.compute,
      models: request.models,
      snapshotDigest,
      inferenceConfig: inference.config,
      deploymentConfig: deployment,
    },
  });
  const generation = webservice?.generation ?? 0;
  io.out(
    `Deploying ${request.name} (generation ${generation}) on ${request.compute}: operation ${operationId}\n`,
  );
  return generation;
}
