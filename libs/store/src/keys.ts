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
  /**
   * Per snapshot digest: when it was last used (uploaded, asked for, or found referenced by a
   * service by the artifact collector), ms since the epoch.
   */
  snapshotsUsed: (ws: string) => `ws:${ws}:snapshot-used`,
  /** Registered environment versions, field `<name>@<version>`. */
  environments: (ws: string) => `ws:${ws}:environments`,
  /** Per environment name: its latest version. */
  environmentVersions: (ws: string) => `ws:${ws}:environment-versions`,
  services: (ws: string) => `ws:${ws}:services`,
  /** Per service name: the last generation of a purged service (never deleted). */
  serviceGenerations: (ws: string) => `ws:${ws}:service-generations`,
  /** Ids of deployment events recorded once, scored by time (pruned after a day). */
  serviceEventOnce: (ws: string, svc: string) => `ws:${ws}:svc:${svc}:event-once`,
  serviceEvents: (ws: string, svc: string) => `ws:${ws}:svc:${svc}:events`,
  serviceEventSeq: (ws: string, svc: string) => `ws:${ws}:svc:${svc}:event-seq`,
  serviceLogs: (ws: string, svc: string) => `ws:${ws}:svc:${svc}:logs`,
  serviceReplicas: (ws: string, svc: string) => `ws:${ws}:svc:${svc}:replicas`,
  connectivity: (ws: string, compute: string) => `ws:${ws}:connectivity:${compute}`,
  agents: (ws: string, compute: string) => `ws:${ws}:compute:${compute}:agents`,
  agentReplicas: (ws: string, compute: string, node: string) =>
    `ws:${ws}:compute:${compute}:agent:${node}:replicas`,
  /** Routers of a compute target that reported load: id → last report time (ms). */
  routers: (ws: string, compute: string) => `ws:${ws}:compute:${compute}:routers`,
  routerLoad: (ws: string, compute: string, router: string) =>
    `ws:${ws}:compute:${compute}:router:${router}:load`,
  /** The routing table's content hash and version (a counter that only grows). */
  routingVersion: (ws: string, compute: string) => `ws:${ws}:compute:${compute}:routing-version`,
  /** A lease held by one control-plane process (e.g. the autoscaler's). */
  lease: (name: string) => `lease:${name}`,
  /** sha256 digests of every model file blob registered in the workspace. */
  modelBlobs: (ws: string) => `ws:${ws}:model-blobs`,
  /**
   * Blobs of uploads in progress, protected from the artifact collector: member
   * `<upload id> <digest>`, score = ms since the epoch until which the pin holds.
   */
  artifactPins: () => 'artifact-pins',
  /** Per BullMQ queue: the position of the last job event every earlier one of was handled. */
  queueEventCursors: () => 'queue-event-cursors',
  audit: () => 'audit',
  signingKeys: () => 'token-signing-keys',
} as const;
