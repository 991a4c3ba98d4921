import {
  GetEnvironmentRequest,
  ListEnvironmentsRequest,
  RegisterEnvironmentRequest,
  type EnvironmentServiceClient,
  type GetEnvironmentResponse,
  type ListEnvironmentsResponse,
  type RegisterEnvironmentResponse,
} from '@skiff/proto';
import type { MessageInit } from './message-init.js';
import type { RpcInvoker, RpcOptions } from './rpc.js';

/**
 * `skiff.v1.EnvironmentService`: registered Azure ML v1 environment definitions, which a
 * deployment names in `inferenceConfig.environmentReference` instead of carrying one inline.
 */
export class EnvironmentApi {
  /** @internal Created by {@link SkiffClient.connect}. */
  constructor(
    private readonly rpc: RpcInvoker,
    private readonly client: EnvironmentServiceClient,
  ) {}

  /**
   * Registers a definition as the next version of `name`; when the latest version has the
   * same definition, that version comes back with `created: false`.
   */
  register(
    request: MessageInit<RegisterEnvironmentRequest>,
    options?: RpcOptions,
  ): Promise<RegisterEnvironmentResponse> {
    return this.rpc.unary(
      this.client,
      this.client.registerEnvironment,
      RegisterEnvironmentRequest.fromPartial(request),
      options,
    );
  }

  /** Gets one version (version 0 or unset: the latest). */
  get(
    request: MessageInit<GetEnvironmentRequest>,
    options?: RpcOptions,
  ): Promise<GetEnvironmentResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getEnvironment,
      GetEnvironmentRequest.fromPartial(request),
      options,
    );
  }

  /** Lists one page of the workspace's environments, ordered by name then version. */
  list(
    request: MessageInit<ListEnvironmentsRequest>,
    options?: RpcOptions,
  ): Promise<ListEnvironmentsResponse> {
    return this.rpc.unary(
      this.client,
      this.client.listEnvironments,
      ListEnvironmentsRequest.fromPartial(request),
      options,
    );
  }
}
