import type { MethodPermissions } from '@skiff/auth';

const svc = (
  service: string,
  methods: Record<string, MethodPermissions[string]>,
): MethodPermissions =>
  Object.fromEntries(
    Object.entries(methods).map(([method, permission]) => [
      `/skiff.v1.${service}/${method}`,
      permission,
    ]),
  );

/**
 * The permission each RPC needs (SPEC §5 and the control-plane issue's role table). The auth
 * interceptor denies any method missing here (fail closed); handlers additionally scope every
 * call to the caller's workspace.
 */
export const METHOD_PERMISSIONS: MethodPermissions = {
  ...svc('WorkspaceService', {
    CreateWorkspace: 'workspace:manage',
    GetWorkspace: 'workspace:read',
    ListWorkspaces: 'workspace:read',
    DeleteWorkspace: 'workspace:manage',
    CreateCredential: 'credential:manage',
    ListCredentials: 'credential:manage',
    RevokeCredential: 'credential:manage',
    ListAuditEvents: 'audit:read',
  }),
  ...svc('ComputeService', {
    AttachCompute: 'compute:manage',
    GetCompute: 'compute:read',
    ListComputes: 'compute:read',
    DetachCompute: 'compute:manage',
    GetConnectivity: 'compute:read',
  }),
  ...svc('ModelService', {
    RegisterModel: 'model:register',
    GetModel: 'model:read',
    ListModels: 'model:read',
    DeleteModel: 'model:delete',
    DownloadModel: 'model:read',
  }),
  ...svc('EnvironmentService', {
    RegisterEnvironment: 'model:register',
    GetEnvironment: 'model:read',
    ListEnvironments: 'model:read',
  }),
  ...svc('SnapshotService', {
    GetSnapshot: 'model:read',
    UploadSnapshot: 'model:register',
  }),
  ...svc('WebserviceService', {
    DeployWebservice: 'service:deploy',
    UpdateWebservice: 'service:update',
    GetWebservice: 'service:read',
    ListWebservices: 'service:read',
    DeleteWebservice: 'service:delete',
    WatchDeployment: 'service:read',
    GetWebserviceLogs: 'service:logs',
    GetWebserviceKeys: 'service:keys',
    RegenerateWebserviceKey: 'service:keys',
    GetWebserviceToken: 'service:token',
  }),
  ...svc('AgentService', {
    RegisterAgent: 'agent:report',
    ReportReplicas: 'agent:report',
    AppendLogs: 'agent:report',
    DownloadArtifact: 'agent:report',
    ReportConnectivity: 'agent:report',
    GetDeployment: 'agent:report',
  }),
  ...svc('RoutingService', {
    WatchRoutingTable: 'agent:report',
    ReportRouterLoad: 'agent:report',
  }),
};

/**
 * Methods only the platform admin (an admin credential of every workspace) may call: a
 * workspace's own admin holds the permission but is refused with PERMISSION_DENIED, checked
 * before the request names anything, so the answer says nothing about other workspaces.
 * Enforced for every method listed here by the RPC wrappers (rpc/handlers.ts).
 */
export const PLATFORM_ADMIN_METHODS: ReadonlySet<string> = new Set([
  '/skiff.v1.WorkspaceService/CreateWorkspace',
  '/skiff.v1.WorkspaceService/DeleteWorkspace',
]);

/** Methods open without credentials: health checks and reflection (probes, grpcurl). */
export const PUBLIC_METHODS = [
  '/grpc.health.v1.Health/Check',
  '/grpc.health.v1.Health/Watch',
  '/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
  '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
];
