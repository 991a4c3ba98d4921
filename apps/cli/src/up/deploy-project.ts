// `skiff up --deploy <project>`: what a user would do by hand once the platform is up — register
// the model, `skiff model deploy --ic --dc` the project's unchanged v1 files (the CLI's own
// deploy code), wait for Healthy — then score it once through the router and print how to
// call it.
import { stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SkiffApiError, SkiffClient } from '@skiff/client';
import { modelDigest } from '@skiff/hashing';
import { AuthMode, type ModelRef } from '@skiff/proto';
import { modelRefOf } from '../commands/model.js';
import { UsageError, type Session } from '../connection/session.js';
import { loadDeploymentConfig, loadInferenceConfig } from '../deploy/configs.js';
import { startDeployment } from '../deploy/start.js';
import { waitForDeployment } from '../deploy/wait.js';
import { ExitCode, type CliIo } from '../io.js';
import { readOptionalFile } from './data-dir.js';

/** What `--deploy` needs to know. */
export interface ProjectDeployment {
  /** The project folder: inferenceconfig.json, deploymentconfig.json, the entry script. */
  readonly project: string;
  /** `--model`: `[NAME=]PATH` to register, or `NAME[:VERSION]` already registered. */
  readonly models: readonly string[];
  /** `--name`: the service; default: the project folder's name. */
  readonly service: string | undefined;
  readonly endpoint: string;
  readonly token: string;
  readonly workspace: string;
  readonly compute: string;
  /** Whether a router runs to score through. */
  readonly router: boolean;
}

/** What the project's deployment became. */
export interface DeployedProject {
  readonly service: string;
  readonly scoringUri: string;
  /** What goes after `Authorization: Bearer` ('' when auth is off). */
  readonly key: string;
  /** The sample request body, when the project has one. */
  readonly sample: string | undefined;
}

const CONFIG_NAMES = {
  inference: ['inferenceconfig.json', 'inferenceconfig.yml', 'inferenceconfig.yaml'],
  deployment: ['deploymentconfig.json', 'deploymentconfig.yml', 'deploymentconfig.yaml'],
};
/** Folders of a project that hold its model, in this order, when --model is not given. */
const MODEL_FOLDERS = ['model', 'models', 'outputs'];
/** Files holding a sample request body, in this order. */
const SAMPLE_FILES = [
  'sample-request.json',
  'sample_request.json',
  'sample-input.json',
  'sample_input.json',
];

/** Answers of a router that has not learned a new service's replicas yet (0: no answer). */
const TRANSIENT = [0, 404, 502, 503];

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

async function firstExisting(dir: string, names: readonly string[]): Promise<string | undefined> {
  for (const name of names) if (await exists(join(dir, name))) return join(dir, name);
  return undefined;
}

/** The project folder and its two v1 files (absolute paths). */
export interface ProjectFiles {
  readonly project: string;
  readonly ic: string;
  readonly dc: string;
}

/**
 * Finds the project's inferenceconfig and deploymentconfig and checks both (as
 * `skiff config check` does), so a broken project fails before anything starts.
 *
 * @throws UsageError when a file is missing; ConfigError naming every problem.
 */
export async function findProject(io: CliIo, argument: string): Promise<ProjectFiles> {
  const project = resolve(io.cwd, argument);
  if (
    !(await stat(project).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new UsageError(`--deploy: ${argument} is not a folder`);
  }
  const ic = await firstExisting(project, CONFIG_NAMES.inference);
  const dc = await firstExisting(project, CONFIG_NAMES.deployment);
  if (ic === undefined || dc === undefined) {
    throw new UsageError(
      `--deploy: ${argument} needs an inferenceconfig.json and a deploymentconfig.json (the Azure ML v1 files)`,
    );
  }
  const inference = await loadInferenceConfig(io, relative(io.cwd, ic));
  await loadDeploymentConfig(io, relative(io.cwd, dc), inference.enableGpu);
  return { project, ic, dc };
}

/** A service name from a folder name: a DNS label of 3-32 characters. */
export function serviceNameFor(folder: string): string {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 32)
    .replace(/-+$/, '');
  return name.length >= 3 ? name : `svc-${name || 'app'}`.slice(0, 32);
}

/**
 * A model's name from its path: `…/<name>/<version>` (AZUREML_MODEL_DIR's layout) gives
 * `<name>`; otherwise the file or folder name without its extension.
 */
export function modelNameFor(path: string): string {
  const leaf = basename(path);
  const base = /^\d+$/.test(leaf) ? basename(dirname(path)) : leaf.replace(/\.[^.]*$/, '');
  return base.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 255) || 'model';
}

interface ModelArgument {
  readonly name: string;
  readonly path?: string;
  readonly version?: number;
}

async function parseModelArgument(text: string, cwd: string): Promise<ModelArgument> {
  const named = /^([A-Za-z0-9._-]{1,255})=(.+)$/.exec(text);
  if (named?.[1] && named[2]) return { name: named[1], path: resolve(cwd, named[2]) };
  const path = resolve(cwd, text);
  if (await exists(path)) return { name: modelNameFor(path), path };
  const ref = modelRefOf(text);
  if (ref) return ref;
  throw new UsageError(
    `--model: '${text}' is neither a file or folder nor NAME[:VERSION] of a registered model`,
  );
}

/**
 * Registers `path` as model `name` unless the latest version already holds the same content
 * (a restarted `skiff up --deploy` then reuses it); returns the version deployed.
 */
async function registerIfChanged(
  io: CliIo,
  client: SkiffClient,
  workspace: string,
  name: string,
  path: string,
): Promise<ModelRef> {
  const latest = await client.models.get({ workspace, name, version: 0 }).then(
    (response) => response.model,
    (error: unknown) => {
      if (error instanceof SkiffApiError && error.code === 'NOT_FOUND') return undefined;
      throw error;
    },
  );
  const digest = await modelDigest(path);
  if (latest && latest.digest === digest) {
    io.out(`Model ${name}:${latest.version} already holds ${path}.\n`);
    return { name, version: latest.version };
  }
  const { model } = await client.models.registerModel(path, { workspace, name });
  io.out(`Registered model ${name}:${model?.version} from ${path}.\n`);
  return { name, version: model?.version ?? 0 };
}

/** The models to deploy, registered as needed. */
async function resolveModels(
  io: CliIo,
  client: SkiffClient,
  workspace: string,
  project: string,
  given: readonly string[],
): Promise<ModelRef[]> {
  const models: ModelArgument[] = [];
  for (const text of given) models.push(await parseModelArgument(text, io.cwd));
  if (models.length === 0) {
    const folder = await firstExisting(project, MODEL_FOLDERS);
    if (folder === undefined) {
      throw new UsageError(
        `--deploy: ${project} has no ${MODEL_FOLDERS.join('/, ')}/ folder; give its model with --model [NAME=]PATH (a file or folder) or --model NAME:VERSION`,
      );
    }
    models.push({ name: serviceNameFor(basename(project)), path: folder });
  }
  const refs: ModelRef[] = [];
  for (const model of models) {
    refs.push(
      model.path === undefined
        ? { name: model.name, version: model.version ?? 0 }
        : await registerIfChanged(io, client, workspace, model.name, model.path),
    );
  }
  return refs;
}

/** The project's sample request: a sample file, else the example of the swagger's input schema. */
async function sampleRequest(
  project: string,
  swaggerUri: string,
  authorization: Record<string, string>,
): Promise<string | undefined> {
  const file = await firstExisting(project, SAMPLE_FILES);
  if (file !== undefined) return (await readOptionalFile(file))?.trim();
  if (!swaggerUri) return undefined;
  // Right after Healthy the router may not have learned the replicas yet: 404/502/503 retry.
  const deadline = Date.now() + 15_000;
  for (;;) {
    let status = 0;
    try {
      const response = await fetch(swaggerUri, {
        headers: authorization,
        signal: AbortSignal.timeout(5_000),
      });
      status = response.status;
      if (response.ok) {
        const swagger = (await response.json()) as {
          definitions?: { ServiceInput?: { example?: unknown; examples?: unknown[] } };
        };
        const input = swagger.definitions?.ServiceInput;
        const example = input?.example ?? input?.examples?.[0];
        return example === undefined ? undefined : JSON.stringify(example);
      }
      await response.body?.cancel();
    } catch {
      // no answer (yet)
    }
    if (!TRANSIENT.includes(status) || Date.now() > deadline) return undefined;
    await sleep(250);
  }
}

/** Scores once; retries briefly while the router has not learned the new replicas yet. */
async function scoreOnce(
  uri: string,
  body: string,
  authorization: Record<string, string>,
): Promise<{ status: number; text: string }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    let result: { status: number; text: string };
    try {
      const response = await fetch(uri, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...authorization },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      result = { status: response.status, text: await response.text() };
    } catch (error) {
      result = { status: 0, text: String(error) };
    }
    const transient = TRANSIENT.includes(result.status);
    if (!transient || Date.now() > deadline) return result;
    await sleep(250);
  }
}

/** A shell word in single quotes. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The `curl` line that scores the service. */
export function curlLine(deployed: DeployedProject): string {
  const parts = ['curl', '-X', 'POST', deployed.scoringUri];
  if (deployed.key) parts.push('-H', shellQuote(`Authorization: Bearer ${deployed.key}`));
  parts.push('-H', shellQuote('Content-Type: application/json'));
  parts.push('-d', shellQuote(deployed.sample ?? '{"data": []}'));
  return parts.join(' ');
}

/**
 * Deploys the project and, with a router, scores it once. Returns the deployment, or the exit
 * code of what failed (after saying why on stderr).
 */
export async function deployProject(
  io: CliIo,
  request: ProjectDeployment,
): Promise<DeployedProject | number> {
  const { project, ic, dc } = await findProject(io, request.project);
  const name = request.service ?? serviceNameFor(basename(project));
  const { workspace } = request;
  const client = await SkiffClient.connect({ endpoint: request.endpoint, token: request.token });
  try {
    const session: Session = { client, io, workspace, resumeFlags: '' };
    const models = await resolveModels(io, client, workspace, project, request.models);
    // Exactly what `skiff model deploy --ic … --dc …` does with the same files.
    const generation = await startDeployment(session, {
      name,
      models,
      ic: relative(io.cwd, ic),
      dc: relative(io.cwd, dc),
      compute: request.compute,
      overwrite: true,
    });
    const waited = await waitForDeployment(session, name, generation);
    if (waited !== ExitCode.ok) return waited;

    const { webservice: deployed } = await client.webservices.get({ workspace, name });
    const scoringUri = deployed?.scoringUri ?? '';
    let key = '';
    if (deployed?.authMode === AuthMode.AUTH_MODE_KEY) {
      key = (await client.webservices.getKeys({ workspace, name })).primaryKey;
    } else if (deployed?.authMode === AuthMode.AUTH_MODE_TOKEN) {
      key = (await client.webservices.getToken({ workspace, name })).accessToken;
    }
    const authorization: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
    const sample = await sampleRequest(project, deployed?.swaggerUri ?? '', authorization);
    const result: DeployedProject = { service: name, scoringUri, key, sample };
    if (!request.router) {
      io.err('No router runs (--no-router): not scoring it.\n');
    } else if (sample === undefined) {
      io.out(`${request.project} has no sample request (${SAMPLE_FILES[0]}); not scoring it.\n`);
    } else {
      const scored = await scoreOnce(scoringUri, sample, authorization);
      if (scored.status !== 200) {
        io.err(
          `Scoring ${name} through the router failed: ${scored.status || 'no answer'} ${scored.text.slice(0, 500)}\n`,
        );
        return ExitCode.failed;
      }
      io.out(`Scored ${name} once: ${sample} → ${scored.text.slice(0, 500)}\n`);
    }
    return result;
  } finally {
    client.close();
  }
}
