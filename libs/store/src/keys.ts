/**
 * Logical key names (the client adds its key prefix). Workspace, service and model names are
 * DNS labels or restricted names, so ':' never occurs inside them and keys are unambiguous.
 */
export const keys = {
  workspaces: () => 'workspaces',
  credentials: () => 'credentials',
  workspaceCredentials: (ws: string) => `ws:${ws}:credentials`,
  computes: (ws: string) => `ws:${ws}:computes`,
  models: (ws: string) => `ws:${ws}:models`,
  modelVersions: (ws: string) => `ws:${ws}:model-versions`,
  snapshots: (ws: string) => `ws:${ws}:snapshots`,
  services: (ws: string) => `ws:${ws}:services`,
  serviceEvents: (ws: string, svc: string) => `ws:${ws}:svc:${svc}:events`,
  serviceEventSeq: (ws: string, svc: string) => `ws:${ws}:svc:${svc}:event-seq`,
  serviceLogs: (ws: string, svc: string) => `ws:${ws}:svc:${svc}:logs`,
  serviceReplicas: (ws: string, svc: string) => `ws:${ws}:svc:${svc}:replicas`,
  connectivity: (ws: string, compute: string) => `ws:${ws}:connectivity:${compute}`,
  audit: () => 'audit',
  signingKeys: () => 'token-signing-keys',
} as const;
