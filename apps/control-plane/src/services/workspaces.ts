import { ALL_WORKSPACES, issueTeamCredential, revokeTeamCredential } from '@skiff/auth';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@skiff/errors';
import type { Credential, Workspace, WorkspaceServiceServer } from '@skiff/proto';
import type { CredentialRecord, WorkspaceRecord } from '@skiff/store';
import { scopeWorkspace } from '../rpc/context.js';
import { unary } from '../rpc/handlers.js';
import {
  paginate,
  pageOffset,
  pageSize,
  requireDnsLabel,
  requireString,
  streamPosition,
} from '../rpc/validate.js';
import type { ServiceDeps } from './deps.js';
import { roleFromProto, roleToProto } from './roles.js';

const m = (name: string) => `/skiff.v1.WorkspaceService/${name}`;

function workspaceToProto(record: WorkspaceRecord): Workspace {
  return {
    name: record.name,
    description: record.description,
    defaultNamespace: record.defaultNamespace,
    containerRegistry: record.containerRegistry
      ? {
          address: record.containerRegistry.address,
          username: record.containerRegistry.username ?? '',
          password: '',
        }
      : undefined,
    createTime: new Date(record.createdAt),
  };
}

function credentialToProto(record: CredentialRecord): Credential {
  const { credential } = record;
  return {
    id: credential.id,
    workspace: credential.workspace,
    role: roleToProto(credential.role),
    description: credential.description ?? '',
    createTime: new Date(credential.createdAt),
    revokeTime: credential.revokedAt ? new Date(credential.revokedAt) : undefined,
    createdBy: record.createdBy,
    compute: record.compute ?? '',
  };
}

/** WorkspaceService: workspaces, credentials, the audit log. */
export function workspaceService(deps: ServiceDeps): WorkspaceServiceServer {
  const { store } = deps;
  return {
    createWorkspace: unary(
      deps,
      { method: m('CreateWorkspace'), audited: true },
      async (request, context) => {
        const input = request.workspace;
        const name = requireDnsLabel(input?.name, 'workspace.name', 3, 32);
        context.target = `workspace/${name}`;
        context.workspace = name;
        const namespace = input?.defaultNamespace
          ? requireDnsLabel(input.defaultNamespace, 'workspace.default_namespace', 1, 63)
          : name;
        const registry = input?.containerRegistry?.address
          ? {
              address: input.containerRegistry.address,
              ...(input.containerRegistry.username
                ? { username: input.containerRegistry.username }
                : {}),
            }
          : undefined;
        const record = await store.workspaces.create({
          name,
          description: input?.description ?? '',
          defaultNamespace: namespace,
          ...(registry ? { containerRegistry: registry } : {}),
          createdAt: deps.now().toISOString(),
        });
        return { workspace: workspaceToProto(record) };
      },
    ),

    getWorkspace: unary(deps, { method: m('GetWorkspace') }, async (request, context) => {
      const name = scopeWorkspace(context, request.name);
      return { workspace: workspaceToProto(await store.workspaces.require(name)) };
    }),

    listWorkspaces: unary(deps, { method: m('ListWorkspaces') }, async (request, context) => {
      const size = pageSize(request.pageSize);
      const all = await store.workspaces.list();
      const visible = all.filter(
        (w) => context.caller.workspace === ALL_WORKSPACES || w.name === context.caller.workspace,
      );
      const { page, next } = paginate(visible, size, pageOffset(request.pageToken));
      return { workspaces: page.map(workspaceToProto), nextPageToken: next };
    }),

    deleteWorkspace: unary(
      deps,
      { method: m('DeleteWorkspace'), audited: true },
      async (request, context) => {
        const name = requireDnsLabel(request.name, 'name', 3, 32);
        context.target = `workspace/${name}`;
        context.workspace = name;
        await store.workspaces.delete(name);
        return {};
      },
    ),

    createCredential: unary(
      deps,
      { method: m('CreateCredential'), audited: true },
      async (request, context) => {
        const workspace = scopeWorkspace(context, request.workspace);
        await store.workspaces.require(workspace);
        const role = roleFromProto(request.role);
        let compute: string | undefined;
        if (role === 'agent') {
          compute = requireDnsLabel(request.compute, 'compute');
          await store.computes.require(workspace, compute);
        } else if (request.compute !== '') {
          throw new InvalidArgumentError(
            'compute: only ROLE_AGENT credentials are bound to a compute target',
            { field: 'compute' },
          );
        }
        const issued = issueTeamCredential({
          workspace,
          role,
          ...(request.description ? { description: request.description } : {}),
          now: deps.now(),
        });
        const record: CredentialRecord = {
          credential: issued.credential,
          createdBy: context.caller.principal,
          ...(compute ? { compute } : {}),
        };
        await store.credentials.save(record);
        context.target = `credential/${issued.credential.id}`;
        return { credential: credentialToProto(record), token: issued.token };
      },
    ),

    listCredentials: unary(deps, { method: m('ListCredentials') }, async (request, context) => {
      const workspace = scopeWorkspace(context, request.workspace);
      const size = pageSize(request.pageSize);
      const all = await store.credentials.listByWorkspace(workspace);
      const { page, next } = paginate(all, size, pageOffset(request.pageToken));
      return { credentials: page.map(credentialToProto), nextPageToken: next };
    }),

    revokeCredential: unary(
      deps,
      { method: m('RevokeCredential'), audited: true },
      async (request, context) => {
        const workspace = scopeWorkspace(context, request.workspace);
        const id = requireString(request.id, 'id', 'a credential id (24 hex characters)');
        context.target = `credential/${id}`;
        const record = await store.credentials.get(id);
        if (!record || record.credential.workspace !== workspace) {
          throw new NotFoundError(`credential '${id}' not found`, { field: 'id' });
        }
        if (record.credential.revokedAt) {
          throw new FailedPreconditionError(`credential '${id}' is revoked already`, {
            field: 'id',
          });
        }
        const revoked: CredentialRecord = {
          ...record,
          credential: revokeTeamCredential(record.credential, deps.now()),
        };
        await store.credentials.save(revoked);
        return { credential: credentialToProto(revoked) };
      },
    ),

    listAuditEvents: unary(deps, { method: m('ListAuditEvents') }, async (request, context) => {
      const workspace =
        request.workspace === '' && context.caller.workspace === ALL_WORKSPACES
          ? undefined
          : scopeWorkspace(context, request.workspace);
      const limit = pageSize(request.pageSize, 'page_size', 100, 10_000);
      const afterId = streamPosition(request.afterId, 'after_id');
      const events = await store.audit.list({
        ...(workspace ? { workspace } : {}),
        ...(afterId ? { afterId } : {}),
        limit,
      });
      return {
        events: events.map((event) => ({ ...event, time: new Date(event.time) })),
      };
    }),
  };
}
