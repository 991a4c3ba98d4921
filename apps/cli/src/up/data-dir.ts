// The data directory of `skiff up` (default .skiff/): everything a restart needs to bring the
// same platform back — with the state in Redis (AOF in redis/ when skiff runs Redis itself).
//
//   <dataDir>/up.lock            the running `skiff up`: pid + start time, its children (lock.ts)
//   <dataDir>/up.json            the settings of the last start (ports, Redis, workspace)
//   <dataDir>/admin-token        the platform admin credential (0600)
//   <dataDir>/credentials.json   the agent's, the router's and the CLI's credentials (0600)
//   <dataDir>/redis/             the embedded redis-server's directory (AOF)
//   <dataDir>/control-plane/     SKIFF_DATA_DIR of the control plane (master key, artifacts)
//   <dataDir>/agent/             SKIFF_STATE_DIR of the agent (replicas, artifact cache)
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** Paths under one data directory. */
export class DataDir {
  constructor(readonly path: string) {}
  get lockFile(): string {
    return join(this.path, 'up.lock');
  }
  get settingsFile(): string {
    return join(this.path, 'up.json');
  }
  get adminTokenFile(): string {
    return join(this.path, 'admin-token');
  }
  get credentialsFile(): string {
    return join(this.path, 'credentials.json');
  }
  get redisDir(): string {
    return join(this.path, 'redis');
  }
  get controlPlaneDir(): string {
    return join(this.path, 'control-plane');
  }
  get agentDir(): string {
    return join(this.path, 'agent');
  }

  /** Creates the directory readable by its owner only: it holds credentials. */
  async create(): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o700 });
  }
}

/** Writes `text` readable by its owner only, through a temporary file and a rename. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}

/** The file's text, or undefined when it does not exist. */
export async function readOptionalFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Reads a JSON file with `schema`; undefined when absent or not of that shape. */
export async function readJsonFile<T>(path: string, schema: z.ZodType<T>): Promise<T | undefined> {
  const text = await readOptionalFile(path);
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const ADMIN_TOKEN = /^skf_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/;

/**
 * The platform admin credential of this data directory: generated once (in the control
 * plane's format) and passed to the control plane on every start, so it stays the same.
 */
export async function adminToken(dataDir: DataDir): Promise<string> {
  const saved = (await readOptionalFile(dataDir.adminTokenFile))?.trim();
  if (saved !== undefined && ADMIN_TOKEN.test(saved)) return saved;
  const token = `skf_${randomBytes(12).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  await writePrivateFile(dataDir.adminTokenFile, `${token}\n`);
  return token;
}

/** Where Redis comes from. */
export const redisSettings = z.discriminatedUnion('mode', [
  /** A redis-server that `skiff up` starts in `<dataDir>/redis` on a free loopback port. */
  z.object({ mode: z.literal('embedded') }),
  /** A Redis someone else runs. */
  z.object({ mode: z.literal('external'), url: z.string().min(1) }),
]);
export type RedisSettings = z.infer<typeof redisSettings>;

/** What one start used; the next start on the same data directory uses it again by default. */
export const upSettings = z.object({
  workspace: z.string().min(1),
  compute: z.string().min(1),
  routerPort: z.number().int().min(1).max(65_535),
  grpcPort: z.number().int().min(1).max(65_535),
  metricsPort: z.number().int().min(1).max(65_535),
  agentPort: z.number().int().min(1).max(65_535),
  redis: redisSettings,
  redisPrefix: z.string().min(1),
});
export type UpSettings = z.infer<typeof upSettings>;

/** The credentials `skiff up` created, kept for the next start. */
export const upCredentials = z.object({
  agent: z.string().min(1),
  router: z.string().min(1),
  cli: z.string().min(1),
});
export type UpCredentials = z.infer<typeof upCredentials>;

/** Saves a JSON document readable by its owner only. */
export async function writePrivateJson(path: string, value: unknown): Promise<void> {
  await writePrivateFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
