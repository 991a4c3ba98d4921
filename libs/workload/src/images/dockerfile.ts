// The build context of an environment image: a Dockerfile and the files it copies, generated
// from the *normalized* environment (the structure the environment hash is computed over), so
// every definition with the same hash yields the same bytes — and a rebuild of a hash builds
// the same thing whichever formatting of the conda file triggered it.
import { DEFAULT_CPU_BASE_IMAGE, DEFAULT_GPU_BASE_IMAGE, defaultBaseImage } from '@skiff/config';
import { InvalidArgumentError } from '@skiff/errors';
import {
  environmentHash,
  normalizeEnvironment,
  type CanonicalValue,
  type EnvironmentDefinition,
} from '@skiff/hashing';

/** A Dockerfile and the files next to it; file names are flat (they become ConfigMap keys). */
export interface BuildContext {
  readonly dockerfile: string;
  readonly files: Readonly<Record<string, string>>;
}

/** Options of {@link environmentBuildContext}. */
export interface DockerfileOptions {
  /**
   * The image carrying the skiff scoring runtime in {@link SCORING_RUNTIME_DIR}: a
   * self-contained Node.js and the scoring server, started by
   * `<dir>/bin/skiff-scoring-server`. Pin it by digest in production.
   */
  readonly scoringRuntimeImage: string;
  /**
   * GPU base image per CUDA version, used when `enableGpu` is on, `cudaVersion` is set and the
   * environment names no base image of its own (only a default one). Default: CUDA 11.8 →
   * Azure ML's `openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04`.
   */
  readonly cudaBaseImages?: Readonly<Record<string, string>>;
}

/** Where the scoring runtime lives in every environment image. */
export const SCORING_RUNTIME_DIR = '/opt/skiff/runtime';
/** The conda environment's prefix in every environment image that has one. */
export const CONDA_PREFIX = '/opt/skiff/env';
/** The user replicas run as (no name needed: a numeric USER works without /etc/passwd). */
export const REPLICA_UID = 10001;
/** The port the scoring server listens on in a container (Azure ML v1's). */
export const SCORING_PORT = 5001;
/** The label carrying the environment hash on every environment image. */
export const ENVIRONMENT_HASH_LABEL = 'io.skiff.environment-hash';

const DEFAULT_CUDA_BASE_IMAGES: Readonly<Record<string, string>> = {
  '11.8': DEFAULT_GPU_BASE_IMAGE,
};
const CONDA_FILE = 'conda-environment.yml';
const PIP_FILE = 'requirements.txt';
const BUILD_DIR = '/opt/skiff/build';
const HOME = '/home/skiff';

/**
 * Generates the build context of an environment image. The same environment (same hash) always
 * gives the same bytes. No line continuations are used, so a base Dockerfile's `# escape=`
 * directive cannot change how the generated lines parse.
 *
 * @throws InvalidArgumentError when GPU is on with a CUDA version no base image is known for.
 * @throws EnvironmentDefinitionError (from `@skiff/hashing`) when the conda YAML is invalid.
 */
export function environmentBuildContext(
  environment: EnvironmentDefinition,
  options: DockerfileOptions,
): BuildContext {
  const env = normalizeEnvironment(environment);
  const hash = environmentHash(environment);
  const files: Record<string, string> = {};
  const lines: string[] = [];
  const section = (comment: string, ...body: string[]) => lines.push('', `# ${comment}`, ...body);

  // Parser directives (`# syntax=`, `# escape=`) only count before any other line.
  const base = env.baseDockerfile === null ? undefined : splitDirectives(env.baseDockerfile);
  lines.push(...(base?.directives ?? []));
  lines.push(
    `# skiff environment image ${hash}`,
    '# Generated: the same environment always yields these bytes, and the image is found again',
    '# by its hash (the image tag). Do not edit.',
  );
  if (base) {
    section("Base: the environment's own Dockerfile.", base.body);
  } else {
    section('Base image.', `FROM ${baseImage(env, options)}`);
  }
  lines.push('USER root', `LABEL ${ENVIRONMENT_HASH_LABEL}="${hash}"`);

  let python = 'python3';
  if (env.conda !== null) {
    files[CONDA_FILE] =
      `# Conda environment of ${hash} (canonical form, written as JSON, which is YAML).\n${pretty(env.conda)}\n`;
    python = `${CONDA_PREFIX}/bin/python`;
    section(
      'Conda environment from the conda dependencies.',
      `COPY ${CONDA_FILE} ${BUILD_DIR}/${CONDA_FILE}`,
      `RUN if ! command -v conda >/dev/null 2>&1; then echo "skiff: the base image has no conda, so the conda dependencies cannot be installed; use a base image that has conda (the Azure ML images do)" >&2; exit 1; fi && PIP_NO_CACHE_DIR=1 conda env create --prefix ${CONDA_PREFIX} --file ${BUILD_DIR}/${CONDA_FILE} && conda clean --all --yes`,
      `ENV PATH=${CONDA_PREFIX}/bin:$PATH SKIFF_PYTHON=${python}`,
    );
  }
  if (env.pip !== null) {
    files[PIP_FILE] = `${env.pip.join('\n')}\n`;
    section(
      'pip requirements.',
      `COPY ${PIP_FILE} ${BUILD_DIR}/${PIP_FILE}`,
      `RUN ${python} -m pip install --no-cache-dir --requirement ${BUILD_DIR}/${PIP_FILE}`,
    );
  }
  if (env.extraDockerfileSteps !== null) {
    section(
      'Extra Dockerfile steps of the inference configuration.',
      env.extraDockerfileSteps,
      'USER root',
    );
  }

  const runtimeEnv = [
    `PATH=${SCORING_RUNTIME_DIR}/bin:$PATH`,
    `HOME=${HOME}`,
    'SKIFF_HOST=0.0.0.0',
    `SKIFF_PORT=${SCORING_PORT}`,
  ];
  if (env.enableGpu) {
    // What the NVIDIA container toolkit reads: expose the GPUs, and refuse a node whose driver
    // is older than the CUDA version.
    runtimeEnv.push('NVIDIA_VISIBLE_DEVICES=all', 'NVIDIA_DRIVER_CAPABILITIES=compute,utility');
    if (env.cudaVersion !== null) runtimeEnv.push(`NVIDIA_REQUIRE_CUDA="cuda>=${env.cudaVersion}"`);
  }
  section(
    'The skiff scoring server, run as an unprivileged user.',
    `COPY --from=${options.scoringRuntimeImage} ${SCORING_RUNTIME_DIR} ${SCORING_RUNTIME_DIR}`,
    `RUN mkdir -p ${HOME} && chown ${REPLICA_UID}:${REPLICA_UID} ${HOME}`,
    `ENV ${runtimeEnv.join(' ')}`,
    `USER ${REPLICA_UID}:${REPLICA_UID}`,
    `WORKDIR ${HOME}`,
    `EXPOSE ${SCORING_PORT}`,
    'ENTRYPOINT ["skiff-scoring-server"]',
  );
  return { dockerfile: `${lines.join('\n')}\n`, files };
}

function baseImage(
  env: ReturnType<typeof normalizeEnvironment>,
  options: DockerfileOptions,
): string {
  let image = env.baseImage ?? defaultBaseImage(env.enableGpu);
  const isDefault = image === DEFAULT_CPU_BASE_IMAGE || image === DEFAULT_GPU_BASE_IMAGE;
  if (env.enableGpu && isDefault) {
    if (env.cudaVersion === null) {
      image = DEFAULT_GPU_BASE_IMAGE;
    } else {
      const table = options.cudaBaseImages ?? DEFAULT_CUDA_BASE_IMAGES;
      const known = table[env.cudaVersion];
      if (known === undefined) {
        throw new InvalidArgumentError(
          `cudaVersion: skiff knows no GPU base image for CUDA ${env.cudaVersion} (known: ${Object.keys(table).sort().join(', ') || 'none'}); name a CUDA base image in baseImage (environment.docker.baseImage)`,
          { field: 'cudaVersion' },
        );
      }
      image = known;
    }
  }
  // An image without a registry in its name comes from the named registry (Azure ML v1's rule);
  // one that names a registry keeps it, and the registry setting then only supplies credentials.
  if (env.baseImageRegistry !== null && !namesRegistry(image)) {
    image = `${env.baseImageRegistry}/${image}`;
  }
  return image;
}

// Docker's rule: the first path component is a registry when it has a `.` or `:`, or is localhost.
function namesRegistry(image: string): boolean {
  const slash = image.indexOf('/');
  if (slash === -1) return false;
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

function splitDirectives(dockerfile: string): { directives: string[]; body: string } {
  const lines = dockerfile.split('\n');
  let count = 0;
  while (count < lines.length && /^#\s*[A-Za-z_]+\s*=/.test(lines[count] ?? '')) count++;
  return {
    directives: lines.slice(0, count),
    body: lines.slice(count).join('\n').replace(/^\n+/, ''),
  };
}

// Indented JSON with keys sorted (as the hash sorts them), independent of property order.
function pretty(value: CanonicalValue, indent = ''): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    const items = value as readonly CanonicalValue[];
    if (items.length === 0) return '[]';
    return `[\n${items.map((item) => inner + pretty(item, inner)).join(',\n')}\n${indent}]`;
  }
  const object = value as { readonly [key: string]: CanonicalValue };
  const keys = Object.keys(object).sort();
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((key) => `${inner}${JSON.stringify(key)}: ${pretty(object[key] ?? null, inner)}`).join(',\n')}\n${indent}}`;
}
