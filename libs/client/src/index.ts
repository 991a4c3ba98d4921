/**
 * @skiff/client: a typed, promise-based client of the skiff.v1 gRPC API. Connect with
 * `SkiffClient.connect`; every call fails with `SkiffApiError`.
 */
export { SkiffClient, type SkiffClientOptions } from './client.js';
export { SkiffApiError, statusName, type SkiffApiErrorInit, type StatusName } from './errors.js';
export { WorkspaceApi } from './workspaces.js';
export { ComputeApi } from './computes.js';
export { ModelApi, type ModelRegistration, type RegisterModelOptions } from './models.js';
export { type DownloadedModel, type DownloadModelOptions } from './model-download.js';
export { EnvironmentApi } from './environments.js';
export { SnapshotApi, type UploadSnapshotOptions } from './snapshots.js';
export { WebserviceApi } from './webservices.js';
export { AgentApi } from './agents.js';
export { RoutingApi } from './routing.js';
export { UPLOAD_CHUNK_BYTES, modelTreeFiles, type ModelTreeFile } from './uploads.js';
export type { MessageInit } from './message-init.js';
export type { RpcOptions } from './rpc.js';
