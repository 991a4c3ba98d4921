import {
  AttachComputeRequest,
  DetachComputeRequest,
  GetComputeRequest,
  GetConnectivityRequest,
  ListComputesRequest,
  type AttachComputeResponse,
  type ComputeServiceClient,
  type DetachComputeResponse,
  type GetComputeResponse,
  type GetConnectivityResponse,
  type ListComputesResponse,
} from '@skiff/proto';
import type { MessageInit } from './message-init.js';
import type { RpcInvoker, RpcOptions } from './rpc.js';

/** `skiff.v1.ComputeService`: compute targets, where services run. */
export class ComputeApi {
  /** @internal Created by {@link SkiffClient.connect}. */
  constructor(
    private readonly rpc: RpcInvoker,
    private readonly client: ComputeServiceClient,
  ) {}

  /** Attaches a compute target (ALREADY_EXISTS when the name is taken). */
  attach(
    request: MessageInit<AttachComputeRequest>,
    options?: RpcOptions,
  ): Promise<AttachComputeResponse> {
    return this.rpc.unary(
      this.client,
      this.client.attachCompute,
      AttachComputeRequest.fromPartial(request),
      options,
    );
  }

  /** Gets one compute target. */
  get(request: MessageInit<GetComputeRequest>, options?: RpcOptions): Promise<GetComputeResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getCompute,
      GetComputeRequest.fromPartial(request),
      options,
    );
  }

  /** Lists one page of the workspace's compute targets. */
  list(
    request: MessageInit<ListComputesRequest>,
    options?: RpcOptions,
  ): Promise<ListComputesResponse> {
    return this.rpc.unary(
      this.client,
      this.client.listComputes,
      ListComputesRequest.fromPartial(request),
      options,
    );
  }

  /** Detaches a compute target (FAILED_PRECONDITION while services run on it). */
  detach(
    request: MessageInit<DetachComputeRequest>,
    options?: RpcOptions,
  ): Promise<DetachComputeResponse> {
    return this.rpc.unary(
      this.client,
      this.client.detachCompute,
      DetachComputeRequest.fromPartial(request),
      options,
    );
  }

  /** The latest connectivity doctor report of every node of a compute target. */
  getConnectivity(
    request: MessageInit<GetConnectivityRequest>,
    options?: RpcOptions,
  ): Promise<GetConnectivityResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getConnectivity,
      GetConnectivityRequest.fromPartial(request),
      options,
    );
  }
}
