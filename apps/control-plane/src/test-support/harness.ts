import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  credentials,
  Metadata,
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  ComputeKind,
  ComputeServiceClient,
  ModelServiceClient,
  Role,
  SnapshotServiceClient,
  type DeploymentEvent,
  type WebserviceSpec,
  WebserviceServiceClient,
  WorkspaceServiceClient,
} from '@skiff/proto';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane } from '../app.js';
import { parseControlPlaneEnv } from '../config.js';

/** Clients of every skiff.v1 service, all sending one credential. */
export interface Clients {
  workspaces: WorkspaceServiceClient;
  computes: ComputeServiceClient;
  models: ModelServiceClient;
  snapshots: SnapshotServiceClient;
  webservices: WebserviceServiceClient;
  /** Metadata carrying the credential (pass to every call). */
  metadata: Metadata;
  close(): void;
}

/** A control plane on free loopback ports, its own Redis key prefix and data directory. */
export interface Harness {
  controlPlane: ControlPlane;
  address: string;
  adminToken: string;
  dataDir: string;
  redisUrl: string;
  prefix: string;
  clients(token: string | undefined): Clients;
  /** Creates a workspace (as admin) and one credential per role in it. */
  team(name: string): Promise<{
    deployer: Clients;
    reader: Clients;
    admin: Clients;
    tokens: Record<'deployer' | 'reader' | 'admin', string>;
  }>;
  stop(): Promise<void>;
}

/** Clients of every skiff.v1 service at `address`, sending `token` (none when undefined). */
export function clientsFor(address: string, token: string | undefined): Clients {
  const creds = credentials.createInsecure();
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  const set: Clients = {
    workspaces: new WorkspaceServiceClient(address, creds),
    computes: new ComputeServiceClient(address, creds),
    models: new ModelServiceClient(address, creds),
    snapshots: new SnapshotServiceClient(address, creds),
    webservices: new WebserviceServiceClient(address, creds),
    metadata,
    close: () => {
      for (const client of [
        set.workspaces,
        set.computes,
        set.models,
        set.snapshots,
        set.webservices,
      ])
        client.close();
    },
  };
  return set;
}

/** A fresh platform admin credential in the control plane's format. */
export function newAdminToken(): string {
  return `skf_${randomBytes(12).toString('hex')}_${randomBytes(32).toString('base64url')}`;
}

/** Calls a unary method of a generated client and returns a promise. */
export function call<Req, Res>(
  client: Client,
  // Generated clients overload each method; inference uses the last (4-argument) signature.
  method: (
    request: Req,
    metadata: Metadata,
    options: Partial<CallOptions>,
    callback: (error: ServiceError | null, response: Res) => void,
  ) => ClientUnaryCall,
  request: Req,
  metadata: Metadata,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    method.call(client, request, metadata, {}, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

/** Attaches a compute target (as `clients`, an admin) and returns it. */
export async function attachCompute(
  clients: Clients,
  workspace: string,
  name = 'local',
  kind: ComputeKind = ComputeKind.COMPUTE_KIND_LOCAL,
  routerUrl = kind === ComputeKind.COMPUTE_KIND_LOCAL ? '' : 'https://ml.example.test',
): Promise<void> {
  await call(
    clients.computes,
    clients.computes.attachCompute,
    {
      compute: {
        workspace,
        name,
        kind,
        clusterPurpose: 0,
        namespace: '',
        routerUrl,
        region: '',
        apiServer: '',
        state: 0,
        readyAgents: 0,
      },
    },
    clients.metadata,
  );
}

/** The error of a call that must fail. */
export async function failure(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error('expected the call to fail, it succeeded');
}

/**
 * Starts a control plane in this process. Several may share one Redis prefix (and then one
 * `dataDir`, for the master key, and one `SKIFF_ADMIN_TOKEN` in `env`), as several
 * control-plane replicas do; a given `dataDir` is left in place on stop.
 */
export async function startHarness(options: {
  redisUrl: string;
  prefix: string;
  env?: Record<string, string>;
  dataDir?: string;
}): Promise<Harness> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'skiff-cp-test-')));
  let printed = '';
  const env = parseControlPlaneEnv({
    REDIS_URL: options.redisUrl,
    SKIFF_REDIS_PREFIX: options.prefix,
    SKIFF_DATA_DIR: dataDir,
    SKIFF_GRPC_LISTEN: '127.0.0.1:0',
    SKIFF_HTTP_LISTEN: '127.0.0.1:0',
    SKIFF_SHUTDOWN_GRACE_SECONDS: '1',
    ...options.env,
  });
  const controlPlane = await startControlPlane(env, {
    log: pino({ level: 'silent' }),
    print: (text) => (printed += text),
  });
  const adminToken = options.env?.['SKIFF_ADMIN_TOKEN'] ?? /SKIFF_TOKEN=(\S+)/.exec(printed)?.[1];
  if (!adminToken) throw new Error(`no admin credential was printed: ${printed}`);
  const address = controlPlane.server.grpcAddress;
  const open: Clients[] = [];

  const clients = (token: string | undefined): Clients => {
    const set = clientsFor(address, token);
    open.push(set);
    return set;
  };
  const admin = clients(adminToken);

  return {
    controlPlane,
    address,
    adminToken,
    dataDir,
    redisUrl: options.redisUrl,
    prefix: options.prefix,
    clients,
    async team(name) {
      await call(
        admin.workspaces,
        admin.workspaces.createWorkspace,
        { workspace: { name, description: '', defaultNamespace: '' } },
        admin.metadata,
      );
      const token = async (role: Role) =>
        (
          await call(
            admin.workspaces,
            admin.workspaces.createCredential,
            { workspace: name, role, description: '', compute: '' },
            admin.metadata,
          )
        ).token;
      const tokens = {
        deployer: await token(Role.ROLE_DEPLOYER),
        reader: await token(Role.ROLE_READER),
        admin: await token(Role.ROLE_ADMIN),
      };
      return {
        deployer: clients(tokens.deployer),
        reader: clients(tokens.reader),
        admin: clients(tokens.admin),
        tokens,
      };
    },
    async stop() {
      for (const set of open) set.close();
      await controlPlane.stop();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A minimal spec on the compute target `local` (fixed 2 replicas unless overridden). */
export function minimalSpec(overrides: Partial<WebserviceSpec> = {}): WebserviceSpec {
  return {
    compute: 'local',
    models: [],
    snapshotDigest: '',
    inferenceConfig: { entryScript: 'score.py', runtime: '', sourceDirectory: '', description: '' },
    deploymentConfig: {
      computeType: 1,
      numReplicas: 2,
      tags: {},
      properties: {},
      namespace: '',
      description: '',
    },
    ...overrides,
  };
}

/** Every event of a deployment generation (0: latest) until its terminal one. */
export function watchDeployment(
  clients: Clients,
  workspace: string,
  name: string,
  generation = 0,
): Promise<DeploymentEvent[]> {
  return new Promise((resolve, reject) => {
    const events: DeploymentEvent[] = [];
    const stream = clients.webservices.watchDeployment(
      { workspace, name, generation, afterSequence: 0 },
      clients.metadata,
    );
    stream.on('data', (message: { event: DeploymentEvent }) => events.push(message.event));
    stream.on('end', () => resolve(events));
    stream.on('error', reject);
  });
}

/** Retries `attempt` every 50 ms until it stops throwing (at most `tries` times). */
export async function eventually<T>(attempt: () => Promise<T>, tries = 300): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await attempt();
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw last;
}
