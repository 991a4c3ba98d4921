// What a replica of a spec is started with: the checks a spec must pass to run locally, the hash
// that tells two specs apart (a different hash rolls the replicas over), the environment of the
// scoring server (apps/scoring-server README, "Configuration contract"), and the model folder.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '@skiff/errors';
import type { ServiceKey, WorkloadSpec } from '../driver.js';
import { isErrno } from './files.js';
import { checkServiceKey, type StateLayout } from './layout.js';

/** Throws InvalidArgumentError, naming every problem, unless the spec can run locally. */
export function checkLocalSpec(spec: WorkloadSpec): void {
  checkServiceKey(spec);
  const problems: string[] = [];
  const integer = (field: string, value: number, min: number) => {
    if (!Number.isSafeInteger(value) || value < min) {
      problems.push(`${field}: expected an integer ≥ ${min}, got ${value}`);
    }
  };
  integer('generation', spec.generation, 0);
  integer('replicas', spec.replicas, 0);
  integer('maxConcurrentRequests', spec.maxConcurrentRequests, 1);
  integer('scoringTimeoutMs', spec.scoringTimeoutMs, 1);
  if (!spec.sourceDir) problems.push('sourceDir: the local runtime needs the unpacked source');
  if (!spec.entryScript) problems.push('entryScript: required');
  const { liveness } = spec;
  for (const field of ['periodSeconds', 'timeoutSeconds', 'failureThreshold'] as const) {
    if (!(liveness[field] > 0)) problems.push(`liveness.${field}: expected > 0`);
  }
  if (!(liveness.initialDelaySeconds >= 0)) problems.push('liveness.initialDelaySeconds: < 0');
  const seen = new Set<string>();
  for (const model of spec.models) {
    const name = `${model.name}/${model.version}`;
    if (!model.path) problems.push(`models: ${name} has no local path`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model.name)) {
      problems.push(`models: '${model.name}' cannot be a folder name`);
    }
    if (seen.has(name)) problems.push(`models: ${name} appears twice`);
    seen.add(name);
  }
  if (problems.length > 0) {
    throw new InvalidArgumentError(problems.join('; '), { problems });
  }
}

/**
 * The hash of everything in a spec but the replica count: two specs with the same hash run the
 * same replicas. Keys are sorted, so the order a caller built the object in does not matter.
 */
export function specHash(spec: WorkloadSpec): string {
  const { replicas: _replicas, ...template } = spec;
  return createHash('sha256').update(canonicalJson(template)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The folder name under models/ for a spec with several models; '' with fewer. */
export function modelFolderName(spec: WorkloadSpec, hash: string): string {
  return spec.models.length > 1 ? `g${spec.generation}-${hash.slice(0, 12)}` : '';
}

/**
 * Creates `<service>/models/<folder>/<name>/<version>` → model path links, atomically (built
 * under a temporary name, then renamed), so a half-built folder is never used. Idempotent.
 */
export async function ensureModelFolder(
  layout: StateLayout,
  spec: WorkloadSpec,
  folder: string,
): Promise<void> {
  if (folder === '') return;
  const target = join(layout.modelsDir(spec), folder);
  if (await exists(target)) return;
  const building = `${target}.${process.pid}.tmp`;
  await rm(building, { recursive: true, force: true });
  for (const model of spec.models) {
    const parent = join(building, model.name);
    await mkdir(parent, { recursive: true, mode: 0o700 });
    await symlink(resolve(model.path ?? ''), join(parent, String(model.version)));
  }
  try {
    await rename(building, target);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    // Another start built it meanwhile: theirs is as good as ours.
    if (!isErrno(error, 'ENOTEMPTY') && !isErrno(error, 'EEXIST')) throw error;
  }
}

/** What AZUREML_MODEL_DIR is for a spec: one model's path, the folder of several, or none. */
export function modelDir(layout: StateLayout, spec: WorkloadSpec, folder: string): string {
  const [only] = spec.models;
  if (spec.models.length === 1 && only?.path) return resolve(only.path);
  return folder === '' ? '' : join(layout.modelsDir(spec), folder);
}

const QUIETER_THAN_INFO = new Set(['warn', 'error', 'fatal']);

/** The inputs of {@link replicaEnvironment}. */
export interface ReplicaEnvironmentInput {
  readonly spec: WorkloadSpec;
  readonly replicaId: string;
  readonly modelDir: string;
  readonly dataCollectionDir: string;
  readonly baseEnvironment: Readonly<Record<string, string>>;
}

/**
 * The scoring server's environment. The spec's variables override the base environment, and
 * the driver's own (port, ids, limits) override both: an inferenceconfig.json cannot move a
 * replica off loopback or give it another replica's id. SKIFF_LOG_LEVEL may be debug or trace
 * but not quieter than info.
 */
export function replicaEnvironment(input: ReplicaEnvironmentInput): Record<string, string> {
  const { spec } = input;
  const env: Record<string, string> = {
    ...input.baseEnvironment,
    ...spec.environmentVariables,
    SKIFF_ENTRY_SCRIPT: spec.entryScript,
    SKIFF_SOURCE_DIR: resolve(spec.sourceDir ?? '.'),
    SKIFF_RUNTIME: spec.runtime,
    SKIFF_HOST: '127.0.0.1',
    SKIFF_PORT: '0',
    SKIFF_MAX_CONCURRENT_REQUESTS: String(spec.maxConcurrentRequests),
    SKIFF_SCORING_TIMEOUT_MS: String(spec.scoringTimeoutMs),
    SKIFF_SERVICE_ID: `${spec.workspace}/${spec.service}`,
    SKIFF_REPLICA_ID: input.replicaId,
  };
  // Not inherited from the base or the spec: a stale value would point at someone else's files.
  delete env['AZUREML_MODEL_DIR'];
  delete env['SKIFF_MODEL_DIR'];
  delete env['SKIFF_DATA_COLLECTION_DIR'];
  // The launcher learns the kernel-chosen port from the server's `listening` line, at info.
  if (QUIETER_THAN_INFO.has(env['SKIFF_LOG_LEVEL'] ?? '')) env['SKIFF_LOG_LEVEL'] = 'info';
  if (input.modelDir !== '') env['AZUREML_MODEL_DIR'] = input.modelDir;
  if (spec.dataCollection) env['SKIFF_DATA_COLLECTION_DIR'] = input.dataCollectionDir;
  return env;
}

/** The variables of the agent's own environment a replica gets by default. */
export function defaultBaseEnvironment(source: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'SKIFF_PYTHON']) {
    const value = source[name];
    if (value !== undefined) picked[name] = value;
  }
  return picked;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Removes model folders no replica and no desired spec uses any more. */
export async function removeUnusedModelFolders(
  layout: StateLayout,
  key: ServiceKey,
  inUse: ReadonlySet<string>,
): Promise<void> {
  let names: string[];
  try {
    names = await readdir(layout.modelsDir(key));
  } catch {
    return;
  }
  for (const name of names) {
    if (!inUse.has(name)) await rm(join(layout.modelsDir(key), name), { recursive: true });
  }
}
