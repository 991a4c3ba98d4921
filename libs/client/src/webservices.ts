import {
  DeleteWebserviceRequest,
  DeployWebserviceRequest,
  GetWebserviceKeysRequest,
  GetWebserviceLogsRequest,
  GetWebserviceRequest,
  GetWebserviceTokenRequest,
  ListWebservicesRequest,
  RegenerateWebserviceKeyRequest,
  UpdateWebserviceRequest,
  WatchDeploymentRequest,
  type DeleteWebserviceResponse,
  type DeployWebserviceResponse,
  type GetWebserviceKeysResponse,
  type GetWebserviceLogsResponse,
  type GetWebserviceResponse,
  type GetWebserviceTokenResponse,
  type ListWebservicesResponse,
  type RegenerateWebserviceKeyResponse,
  type UpdateWebserviceResponse,
  type WatchDeploymentResponse,
  type WebserviceServiceClient,
} from '@skiff/proto';
import type { MessageInit } from './message-init.js';
import type { RpcInvoker, RpcOptions } from './rpc.js';

/** `skiff.v1.WebserviceService`: deployed models behind the router's scoring URL. */
export class WebserviceApi {
  /** @internal Created by {@link SkiffClient.connect}. */
  constructor(
    private readonly rpc: RpcInvoker,
    private readonly client: WebserviceServiceClient,
  ) {}

  /** Deploys a service (ALREADY_EXISTS for a taken name unless `overwrite`). */
  deploy(
    request: MessageInit<DeployWebserviceRequest>,
    options?: RpcOptions,
  ): Promise<DeployWebserviceResponse> {
    return this.rpc.unary(
      this.client,
      this.client.deployWebservice,
      DeployWebserviceRequest.fromPartial(request),
      options,
    );
  }

  /** Changes a service: the fields named in `updateMask`, or the whole spec. */
  update(
    request: MessageInit<UpdateWebserviceRequest>,
    options?: RpcOptions,
  ): Promise<UpdateWebserviceResponse> {
    return this.rpc.unary(
      this.client,
      this.client.updateWebservice,
      UpdateWebserviceRequest.fromPartial(request),
      options,
    );
  }

  /** Gets one service. */
  get(
    request: MessageInit<GetWebserviceRequest>,
    options?: RpcOptions,
  ): Promise<GetWebserviceResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getWebservice,
      GetWebserviceRequest.fromPartial(request),
      options,
    );
  }

  /** Lists one page of the workspace's services. */
  list(
    request: MessageInit<ListWebservicesRequest>,
    options?: RpcOptions,
  ): Promise<ListWebservicesResponse> {
    return this.rpc.unary(
      this.client,
      this.client.listWebservices,
      ListWebservicesRequest.fromPartial(request),
      options,
    );
  }

  /** Queues the deletion of a service; it shows DELETING until every resource is gone. */
  delete(
    request: MessageInit<DeleteWebserviceRequest>,
    options?: RpcOptions,
  ): Promise<DeleteWebserviceResponse> {
    return this.rpc.unary(
      this.client,
      this.client.deleteWebservice,
      DeleteWebserviceRequest.fromPartial(request),
      options,
    );
  }

  /**
   * The progress events of a generation's deployment, from the first (or after
   * `afterSequence`), ending after the terminal event.
   */
  watchDeployment(
    request: MessageInit<WatchDeploymentRequest>,
    options?: RpcOptions,
  ): AsyncGenerator<WatchDeploymentResponse, void, undefined> {
    return this.rpc.serverStream(
      this.client,
      this.client.watchDeployment,
      WatchDeploymentRequest.fromPartial(request),
      options,
    );
  }

  /** Replica log lines: the last `tail`, then (with `follow`) new ones as they come. */
  logs(
    request: MessageInit<GetWebserviceLogsRequest>,
    options?: RpcOptions,
  ): AsyncGenerator<GetWebserviceLogsResponse, void, undefined> {
    return this.rpc.serverStream(
      this.client,
      this.client.getWebserviceLogs,
      GetWebserviceLogsRequest.fromPartial(request),
      options,
    );
  }

  /** Both keys of a key-auth service. */
  getKeys(
    request: MessageInit<GetWebserviceKeysRequest>,
    options?: RpcOptions,
  ): Promise<GetWebserviceKeysResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getWebserviceKeys,
      GetWebserviceKeysRequest.fromPartial(request),
      options,
    );
  }

  /** Replaces one key; the old one stops working at once. */
  regenerateKey(
    request: MessageInit<RegenerateWebserviceKeyRequest>,
    options?: RpcOptions,
  ): Promise<RegenerateWebserviceKeyResponse> {
    return this.rpc.unary(
      this.client,
      this.client.regenerateWebserviceKey,
      RegenerateWebserviceKeyRequest.fromPartial(request),
      options,
    );
  }

  /** A JWT for a token-auth service and the time by which to fetch a new one. */
  getToken(
    request: MessageInit<GetWebserviceTokenRequest>,
    options?: RpcOptions,
  ): Promise<GetWebserviceTokenResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getWebserviceToken,
      GetWebserviceTokenRequest.fromPartial(request),
      options,
    );
  }
}
