import {
  WatchRoutingTableRequest,
  type ReportRouterLoadRequest,
  type ReportRouterLoadResponse,
  type RoutingServiceClient,
  type WatchRoutingTableResponse,
} from '@skiff/proto';
import type { MessageInit } from './message-init.js';
import type { RpcInvoker, RpcOptions } from './rpc.js';

/**
 * `skiff.v1.RoutingService`: what a router (the scoring front end of one compute target,
 * credential role AGENT bound to that compute) calls — the routing table stream and its load
 * reports.
 */
export class RoutingApi {
  /** @internal Created by {@link SkiffClient.connect}. */
  constructor(
    private readonly rpc: RpcInvoker,
    private readonly client: RoutingServiceClient,
  ) {}

  /**
   * The compute target's routing table: the full table first, then a new full table on every
   * change, until the server ends the stream or `options.signal` aborts (then iteration simply
   * ends). Fails with SkiffApiError when the stream breaks.
   */
  watchTable(
    request: MessageInit<WatchRoutingTableRequest>,
    options?: RpcOptions,
  ): AsyncGenerator<WatchRoutingTableResponse, void, undefined> {
    return this.rpc.serverStream(
      this.client,
      this.client.watchRoutingTable,
      WatchRoutingTableRequest.fromPartial(request),
      options,
    );
  }

  /**
   * Streams the router's per-service queued and in-flight counts for as long as `reports`
   * yields (no deadline unless `timeoutMs` is given).
   */
  reportLoad(
    reports: AsyncIterable<ReportRouterLoadRequest> | Iterable<ReportRouterLoadRequest>,
    options?: RpcOptions,
  ): Promise<ReportRouterLoadResponse> {
    return this.rpc.clientStream(this.client, this.client.reportRouterLoad, reports, options);
  }
}
