import {
  GetDeploymentRequest,
  RegisterAgentRequest,
  DownloadArtifactRequest,
  ReportConnectivityRequest,
  type AgentServiceClient,
  type AppendLogsRequest,
  type AppendLogsResponse,
  type DownloadArtifactResponse,
  type GetDeploymentResponse,
  type RegisterAgentResponse,
  type ReportConnectivityResponse,
  type ReportReplicasRequest,
  type ReportReplicasResponse,
} from '@skiff/proto';
import type { MessageInit } from './message-init.js';
import type { RpcInvoker, RpcOptions } from './rpc.js';

/**
 * `skiff.v1.AgentService`: what an agent (credential role AGENT, bound to one compute target)
 * calls — registration, replica reports, log shipping, artifact downloads, deployments.
 */
export class AgentApi {
  /** @internal Created by {@link SkiffClient.connect}. */
  constructor(
    private readonly rpc: RpcInvoker,
    private readonly client: AgentServiceClient,
  ) {}

  /** Announces the agent; returns its id, queue, report interval and Redis access. */
  register(
    request: MessageInit<RegisterAgentRequest>,
    options?: RpcOptions,
  ): Promise<RegisterAgentResponse> {
    return this.rpc.unary(
      this.client,
      this.client.registerAgent,
      RegisterAgentRequest.fromPartial(request),
      options,
    );
  }

  /** What a service should run now (NOT_FOUND once it is gone). */
  getDeployment(
    request: MessageInit<GetDeploymentRequest>,
    options?: RpcOptions,
  ): Promise<GetDeploymentResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getDeployment,
      GetDeploymentRequest.fromPartial(request),
      options,
    );
  }

  /** The bytes of an artifact, in chunks of at most 1 MiB (verify the digest yourself). */
  download(
    request: MessageInit<DownloadArtifactRequest>,
    options?: RpcOptions,
  ): AsyncGenerator<DownloadArtifactResponse, void, undefined> {
    return this.rpc.serverStream(
      this.client,
      this.client.downloadArtifact,
      DownloadArtifactRequest.fromPartial(request),
      options,
    );
  }

  /** Streams replica snapshots for as long as `reports` yields (client streams have no deadline unless `timeoutMs` is given). */
  reportReplicas(
    reports: AsyncIterable<ReportReplicasRequest>,
    options?: RpcOptions,
  ): Promise<ReportReplicasResponse> {
    return this.rpc.clientStream(this.client, this.client.reportReplicas, reports, options);
  }

  /** Ships replica log lines for as long as `batches` yields. */
  appendLogs(
    batches: AsyncIterable<AppendLogsRequest> | Iterable<AppendLogsRequest>,
    options?: RpcOptions,
  ): Promise<AppendLogsResponse> {
    return this.rpc.clientStream(this.client, this.client.appendLogs, batches, options);
  }

  /** A connectivity doctor report of the agent's node. */
  reportConnectivity(
    request: MessageInit<ReportConnectivityRequest>,
    options?: RpcOptions,
  ): Promise<ReportConnectivityResponse> {
    return this.rpc.unary(
      this.client,
      this.client.reportConnectivity,
      ReportConnectivityRequest.fromPartial(request),
      options,
    );
  }
}
