// The replica's whole configuration, read from the environment once at start. The local driver
// and the Kubernetes manifests set these variables; README.md documents the contract.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';

/** Most models one deployment may carry (SPEC.md §1). */
export const MAX_MODELS = 1_000;
/** Request body limit (SPEC.md §3). */
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;

export type EntryRuntime = 'python' | 'javascript';

/** One model to fetch before start-up: the bytes at `url` must hash to `digest`. */
export interface ModelArtifact {
  readonly name: string;
  readonly version: number;
  readonly url: string;
  readonly digest: string;
}

/** Where the source snapshot comes from, when it is fetched rather than found on disk. */
export interface SnapshotArtifact {
  readonly url: string;
  readonly digest: string;
}

export interface ScoringServerConfig {
  /** Absolute entry script path; relative to the snapshot root when a snapshot is fetched. */
  readonly entryScript: string;
  readonly runtime: EntryRuntime;
  /** Source directory on disk (default: the entry script's folder); absent with a snapshot. */
  readonly sourceDir: string | undefined;
  readonly snapshot: SnapshotArtifact | undefined;
  /** Model directory on disk (AZUREML_MODEL_DIR as given); absent when models are fetched. */
  readonly modelDir: string | undefined;
  readonly models: readonly ModelArtifact[];
  /** Where fetched artifacts are unpacked; a fresh temporary directory when absent. */
  readonly workDir: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly maxConcurrentRequests: number;
  /**
   * Worker processes/threads running the entry script. A Python process runs one `run()` at a
   * time; a JS thread takes up to ceil(maxConcurrentRequests / workers) at once.
   */
  readonly workers: number;
  readonly scoringTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly dataCollectionDir: string | undefined;
  readonly serviceId: string;
  readonly replicaId: string;
  readonly python: string;
  readonly logLevel: string;
}

/** The environment does not describe a runnable replica; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const integer = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value === '') return fallback;
      const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an integer from ${min} to ${max}, got '${value}'`,
        });
        return z.NEVER;
      }
      return parsed;
    });

const digest = z
  .string()
  .regex(/^(sha256:)?[0-9a-f]{64}$/, 'expected sha256:<64 lowercase hex digits>')
  .transform((value) => (value.startsWith('sha256:') ? value : `sha256:${value}`));

const artifactUrl = z
  .string()
  .refine((value) => /^(file|http|https):/.test(value), 'expected a file:, http: or https: URL');

const modelList = z
  .array(
    z.strictObject({
      name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/, 'expected a model name'),
      version: z.number().int().min(1),
      url: artifactUrl,
      digest,
    }),
  )
  .max(MAX_MODELS, `at most ${MAX_MODELS} models per deployment`)
  .refine(
    (models) => new Set(models.map((m) => `${m.name}/${m.version}`)).size === models.length,
    'each name/version may appear once',
  );

const environment = z.object({
  SKIFF_ENTRY_SCRIPT: z.string({ error: 'required: the entry script, e.g. score.py' }).min(1),
  SKIFF_RUNTIME: z.enum(['python', 'javascript']).optional(),
  SKIFF_SOURCE_DIR: optionalText,
  SKIFF_SNAPSHOT_URL: optionalText.pipe(artifactUrl.optional()),
  SKIFF_SNAPSHOT_DIGEST: optionalText.pipe(digest.optional()),
  SKIFF_MODEL_DIR: optionalText,
  AZUREML_MODEL_DIR: optionalText,
  SKIFF_MODELS: optionalText,
  SKIFF_MODELS_FILE: optionalText,
  SKIFF_WORK_DIR: optionalText,
  SKIFF_HOST: optionalText,
  SKIFF_PORT: integer(0, 65_535, 5001),
  SKIFF_MAX_CONCURRENT_REQUESTS: integer(1, 1_000, 1),
  SKIFF_WORKERS: integer(0, 1_000, 0),
  SKIFF_SCORING_TIMEOUT_MS: integer(1, 24 * 3_600_000, 60_000),
  SKIFF_MAX_BODY_BYTES: integer(1, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
  SKIFF_DATA_COLLECTION_DIR: optionalText,
  SKIFF_SERVICE_ID: optionalText,
  SKIFF_REPLICA_ID: optionalText,
  SKIFF_PYTHON: optionalText,
  SKIFF_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).optional(),
});

const JS_EXTENSIONS = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts']);

// Typed by the schema's keys: a variable added above without a line here does not compile.
const VARIABLE_HELP: Record<keyof typeof environment.shape, string> = {
  SKIFF_ENTRY_SCRIPT: 'entry script (score.py, score.js); relative to SKIFF_SOURCE_DIR; required',
  SKIFF_RUNTIME: 'python or javascript; default from the entry script extension',
  SKIFF_SOURCE_DIR: "source directory on disk; default the entry script's folder",
  SKIFF_SNAPSHOT_URL: 'fetch the source snapshot (zip) from this file:/http(s): URL instead',
  SKIFF_SNAPSHOT_DIGEST: "the snapshot's sha256; required with SKIFF_SNAPSHOT_URL",
  SKIFF_MODEL_DIR: 'models already on disk (passed to the script as AZUREML_MODEL_DIR)',
  AZUREML_MODEL_DIR: 'the same as SKIFF_MODEL_DIR',
  SKIFF_MODELS: 'models to fetch: JSON [{"name","version","url","digest"}], at most 1000',
  SKIFF_MODELS_FILE: 'the same list in a file',
  SKIFF_WORK_DIR: 'where fetched artifacts are unpacked; default a new temporary directory',
  SKIFF_HOST: 'listen address; default 127.0.0.1',
  SKIFF_PORT: 'listen port (0: the kernel chooses); default 5001',
  SKIFF_MAX_CONCURRENT_REQUESTS: 'requests at once, 1-1000 (more → 503); default 1',
  SKIFF_WORKERS: 'entry-script workers (0: one per concurrent request); default 0',
  SKIFF_SCORING_TIMEOUT_MS: 'a longer run() → 504; also the drain limit on SIGTERM; default 60000',
  SKIFF_MAX_BODY_BYTES: `request body limit (may only be lowered); default ${DEFAULT_MAX_BODY_BYTES}`,
  SKIFF_DATA_COLLECTION_DIR: 'record inputs and outputs under this directory; default off',
  SKIFF_SERVICE_ID: 'on every log line, metric and record; default local',
  SKIFF_REPLICA_ID: 'on every log line, metric and record; default the host name',
  SKIFF_PYTHON: 'Python interpreter; default python3',
  SKIFF_LOG_LEVEL: 'fatal, error, warn, info, debug or trace; default info',
};

/** The --help text: usage and every variable with its meaning and default. */
export function scoringServerHelp(): string {
  const width = Math.max(...Object.keys(VARIABLE_HELP).map((name) => name.length));
  return [
    'Usage: skiff-scoring-server [--help]',
    '',
    "One replica of a web service: runs the entry script's init() and serves /score, /swagger.json",
    'and /metrics (apps/scoring-server/README.md). Configured by the environment:',
    '',
    ...Object.entries(VARIABLE_HELP).map(([name, help]) => `  ${name.padEnd(width)}  ${help}`),
    '',
    'Exit codes: 0 stopped by SIGTERM/SIGINT, 1 could not start, 2 bad configuration.',
    '',
  ].join('\n');
}

/**
 * Reads the configuration from `env` (and `SKIFF_MODELS_FILE` when set). Relative paths are
 * resolved against `cwd`. Throws {@link ConfigError} naming the first offending variable.
 */
export function parseConfig(
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): ScoringServerConfig {
  const parsed = environment.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`${variable}: ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  const path = (value: string | undefined) =>
    value === undefined ? undefined : resolve(cwd, value);

  if (Boolean(e.SKIFF_SNAPSHOT_URL) !== Boolean(e.SKIFF_SNAPSHOT_DIGEST)) {
    throw new ConfigError(
      'SKIFF_SNAPSHOT_URL and SKIFF_SNAPSHOT_DIGEST: set both (the digest is verified) or neither',
    );
  }
  if (e.SKIFF_SNAPSHOT_URL && e.SKIFF_SOURCE_DIR) {
    throw new ConfigError('SKIFF_SOURCE_DIR: not allowed together with SKIFF_SNAPSHOT_URL');
  }
  if (e.SKIFF_SNAPSHOT_URL && isAbsolute(e.SKIFF_ENTRY_SCRIPT)) {
    throw new ConfigError(
      'SKIFF_ENTRY_SCRIPT: expected a path inside the snapshot (relative), got an absolute path',
    );
  }
  const models = readModels(e.SKIFF_MODELS, e.SKIFF_MODELS_FILE, cwd);
  const modelDir = e.SKIFF_MODEL_DIR ?? e.AZUREML_MODEL_DIR;
  if (models.length > 0 && modelDir) {
    throw new ConfigError(
      'SKIFF_MODELS: not allowed together with SKIFF_MODEL_DIR/AZUREML_MODEL_DIR (fetched models get their own directory)',
    );
  }

  const extension = extname(e.SKIFF_ENTRY_SCRIPT).toLowerCase();
  const runtime =
    e.SKIFF_RUNTIME ??
    (extension === '.py' ? 'python' : JS_EXTENSIONS.has(extension) ? 'javascript' : undefined);
  if (!runtime) {
    throw new ConfigError(
      `SKIFF_ENTRY_SCRIPT: cannot tell the runtime from '${extension || 'no extension'}'; expected .py, .js, .mjs, .cjs, .ts or .mts, or set SKIFF_RUNTIME`,
    );
  }
  const maxConcurrentRequests = e.SKIFF_MAX_CONCURRENT_REQUESTS;
  // Without a snapshot the entry script is a file on disk: relative to SKIFF_SOURCE_DIR when
  // given (as `entryScript` is relative to `sourceDirectory` in inferenceconfig.json), and the
  // source directory defaults to the script's own folder.
  let entryScript = e.SKIFF_ENTRY_SCRIPT;
  let sourceDir = path(e.SKIFF_SOURCE_DIR);
  if (!e.SKIFF_SNAPSHOT_URL) {
    entryScript = resolve(sourceDir ?? cwd, entryScript);
    sourceDir ??= dirname(entryScript);
  }
  return {
    entryScript: entryScript,
    runtime,
    sourceDir,
    snapshot:
      e.SKIFF_SNAPSHOT_URL && e.SKIFF_SNAPSHOT_DIGEST
        ? { url: e.SKIFF_SNAPSHOT_URL, digest: e.SKIFF_SNAPSHOT_DIGEST }
        : undefined,
    modelDir: path(modelDir),
    models,
    workDir: path(e.SKIFF_WORK_DIR),
    host: e.SKIFF_HOST ?? '127.0.0.1',
    port: e.SKIFF_PORT,
    maxConcurrentRequests,
    // One worker per concurrent request by default, so a request never queues inside the
    // replica and a timed-out worker takes only its own request down (README, "Concurrency").
    workers: e.SKIFF_WORKERS === 0 ? maxConcurrentRequests : e.SKIFF_WORKERS,
    scoringTimeoutMs: e.SKIFF_SCORING_TIMEOUT_MS,
    maxBodyBytes: e.SKIFF_MAX_BODY_BYTES,
    dataCollectionDir: path(e.SKIFF_DATA_COLLECTION_DIR),
    serviceId: e.SKIFF_SERVICE_ID ?? 'local',
    replicaId: e.SKIFF_REPLICA_ID ?? hostname(),
    python: e.SKIFF_PYTHON ?? 'python3',
    logLevel: e.SKIFF_LOG_LEVEL ?? 'info',
  };
}

function readModels(
  inline: string | undefined,
  file: string | undefined,
  cwd: string,
): ModelArtifact[] {
  if (inline && file) {
    throw new ConfigError('SKIFF_MODELS and SKIFF_MODELS_FILE: set one, not both');
  }
  const variable = inline ? 'SKIFF_MODELS' : 'SKIFF_MODELS_FILE';
  let text = inline;
  if (file) {
    try {
      text = readFileSync(resolve(cwd, file), 'utf8');
    } catch (error) {
      throw new ConfigError(`SKIFF_MODELS_FILE: cannot read '${file}'`, { cause: error });
    }
  }
  if (text === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${variable}: expected a JSON array of {name, version, url, digest}`, {
      cause: error,
    });
  }
  const parsed = modelList.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? ` at [${issue.path.join('].[')}]` : '';
    throw new ConfigError(`${variable}${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
