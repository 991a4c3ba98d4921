import {
  CreateCredentialRequest,
  CreateWorkspaceRequest,
  DeleteWorkspaceRequest,
  GetWorkspaceRequest,
  ListAuditEventsRequest,
  ListCredentialsRequest,
  ListWorkspacesRequest,
  RevokeCredentialRequest,
  type CreateCredentialResponse,
  type CreateWorkspaceResponse,
  type DeleteWorkspaceResponse,
  type GetWorkspaceResponse,
  type ListAuditEventsResponse,
  type ListCredentialsResponse,
  type ListWorkspacesResponse,
  type RevokeCredentialResponse,
  type WorkspaceServiceClient,
} from '@skiff/proto';
import type { MessageInit } from './message-init.js';
import type { RpcInvoker, RpcOptions } from './rpc.js';

/** `skiff.v1.WorkspaceService`: workspaces (teams), their credentials and the audit log. */
export class WorkspaceApi {
  /** @internal Created by {@link SkiffClient.connect}. */
  constructor(
    private readonly rpc: RpcInvoker,
    private readonly client: WorkspaceServiceClient,
  ) {}

  /** Creates a workspace (platform admin only). */
  create(
    request: MessageInit<CreateWorkspaceRequest>,
    options?: RpcOptions,
  ): Promise<CreateWorkspaceResponse> {
    return this.rpc.unary(
      this.client,
      this.client.createWorkspace,
      CreateWorkspaceRequest.fromPartial(request),
      options,
    );
  }

  /** Gets one workspace the caller belongs to. */
  get(
    request: MessageInit<GetWorkspaceRequest>,
    options?: RpcOptions,
  ): Promise<GetWorkspaceResponse> {
    return this.rpc.unary(
      this.client,
      this.client.getWorkspace,
      GetWorkspaceRequest.fromPartial(request),
      options,
    );
  }

  /** Lists one page of the workspaces the caller can see. */
  list(
    request: MessageInit<ListWorkspacesRequest> = {},
    options?: RpcOptions,
  ): Promise<ListWorkspacesResponse> {
    return this.rpc.unary(
      this.client,
      this.client.listWorkspaces,
      ListWorkspacesRequest.fromPartial(request),
      options,
    );
  }

  /** Deletes an empty workspace. */
  delete(
    request: MessageInit<DeleteWorkspaceRequest>,
    options?: RpcOptions,
  ): Promise<DeleteWorkspaceResponse> {
    return this.rpc.unary(
      this.client,
      this.client.deleteWorkspace,
      DeleteWorkspaceRequest.fromPartial(request),
      options,
    );
  }

  /** Creates an API credential; the response holds its token, once. */
  createCredential(
    request: MessageInit<CreateCredentialRequest>,
    options?: RpcOptions,
  ): Promise<CreateCredentialResponse> {
    return this.rpc.unary(
      this.client,
      this.client.createCredential,
      CreateCredentialRequest.fromPartial(request),
      options,
    );
  }

  /** Lists a workspace's credentials (never their secrets). */
  listCredentials(
    request: MessageInit<ListCredentialsRequest>,
    options?: RpcOptions,
  ): Promise<ListCredentialsResponse> {
    return this.rpc.unary(
      this.client,
      this.client.listCredentials,
      ListCredentialsRequest.fromPartial(request),
      options,
    );
  }

  /** Revokes a credential. */
  revokeCredential(
    request: MessageInit<RevokeCredentialRequest>,
    options?: RpcOptions,
  ): Promise<RevokeCredentialResponse> {
    return this.rpc.unary(
      this.client,
      this.client.revokeCredential,
      RevokeCredentialRequest.fromPartial(request),
      options,
    );
  }

  /** Reads the audit log (admins only). */
  listAuditEvents(
    request: MessageInit<ListAuditEventsRequest>,
    options?: RpcOptions,
  ): Promise<ListAuditEventsResponse> {
    return this.rpc.unary(
      this.client,
      this.client.listAuditEvents,
      ListAuditEventsRequest.fromPartial(request),
      options,
    );
  }
}
