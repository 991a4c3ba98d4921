// Puts the entry script's files and the models where the runtime expects them. With artifact
// URLs configured, they are fetched into a work directory and unpacked:
//   <work>/source/                   the snapshot (the entry script is relative to it)
//   <work>/models/<name>/<version>/  each model
// AZUREML_MODEL_DIR is <work>/models/<name>/<version> for one model and <work>/models for
// several (SPEC.md §2). Without URLs the configured directories are used as they are.
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import type { ModelArtifact, ScoringServerConfig } from '../config.js';
import { extractSnapshot, modelDigest } from '@skiff/hashing';
import {
  ArtifactDigestError,
  downloadVerified,
  readArtifact,
  type ArtifactReader,
} from './download.js';
import { isZip } from './unzip.js';

/** Where the replica's files are, and how to let go of any temporary copy. */
export interface ReplicaFiles {
  readonly entryScript: string;
  readonly sourceDir: string;
  /** Value for AZUREML_MODEL_DIR; undefined when the deployment has no models. */
  readonly modelDir: string | undefined;
  /** Removes the work directory when this process created it. */
  cleanup(): Promise<void>;
}

/** Downloads at once, so a 1,000-model deployment neither crawls nor floods the store. */
const PARALLEL_DOWNLOADS = 8;

/** Fetches, verifies and unpacks what the configuration names; throws on any digest mismatch. */
export async function prepareReplicaFiles(
  config: ScoringServerConfig,
  log: Logger,
  read: ArtifactReader = readArtifact,
): Promise<ReplicaFiles> {
  if (!config.snapshot && config.models.length === 0) {
    return {
      entryScript: config.entryScript,
      sourceDir: config.sourceDir ?? process.cwd(),
      modelDir: config.modelDir,
      cleanup: () => Promise.resolve(),
    };
  }
  const created = !config.workDir;
  const work = config.workDir ?? (await mkdtemp(join(tmpdir(), 'skiff-replica-')));
  await mkdir(join(work, 'downloads'), { recursive: true });
  const cleanup = () => (created ? rm(work, { recursive: true, force: true }) : Promise.resolve());
  try {
    let entryScript = config.entryScript;
    let sourceDir = config.sourceDir ?? process.cwd();
    if (config.snapshot) {
      sourceDir = join(work, 'source');
      // The snapshot's digest is that of the zip's bytes (deterministic zips: SPEC.md §1).
      await fetchInto(config.snapshot.url, config.snapshot.digest, sourceDir, work, read);
      entryScript = resolve(sourceDir, config.entryScript);
      if (!entryScript.startsWith(sourceDir + sep)) {
        throw new Error(`SKIFF_ENTRY_SCRIPT '${config.entryScript}' is outside the snapshot`);
      }
      log.info({ url: config.snapshot.url, digest: config.snapshot.digest }, 'snapshot ready');
    }
    let modelDir = config.modelDir;
    if (config.models.length > 0) {
      const root = join(work, 'models');
      await forEachLimited(config.models, PARALLEL_DOWNLOADS, async (model) => {
        // A model's digest is that of its file tree (@skiff/hashing modelDigest), checked
        // after unpacking, so a model zipped twice (different bytes) still verifies.
        const folder = modelFolder(root, model);
        await fetchInto(model.url, undefined, folder, work, read);
        const actual = await modelDigest(folder);
        if (actual !== model.digest) throw new ArtifactDigestError(model.url, model.digest, actual);
      });
      const only = config.models.length === 1 ? config.models[0] : undefined;
      modelDir = only ? modelFolder(root, only) : root;
      log.info({ models: config.models.length, modelDir }, 'models ready');
    }
    await rm(join(work, 'downloads'), { recursive: true, force: true });
    return { entryScript, sourceDir, modelDir, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function modelFolder(root: string, model: ModelArtifact): string {
  return join(root, model.name, String(model.version));
}

let downloads = 0;

/** Downloads one artifact (checking the bytes' digest when given), then unpacks a zip or keeps a single file. */
async function fetchInto(
  url: string,
  digest: string | undefined,
  destDir: string,
  work: string,
  read: ArtifactReader,
): Promise<void> {
  const file = join(work, 'downloads', `artifact-${++downloads}`);
  await downloadVerified(url, digest, file, read);
  if (await isZip(file)) {
    await extractSnapshot(file, destDir);
    await rm(file);
  } else {
    await mkdir(destDir, { recursive: true });
    const name = basename(new URL(url).pathname) || 'model';
    await rename(file, join(destDir, name));
  }
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let item = items[next++]; !failed && item !== undefined; item = items[next++]) {
      try {
        await task(item);
      } catch (error) {
        failed = true; // the other lanes stop before cleanup removes their directory
        throw error;
      }
    }
  });
  await Promise.all(lanes);
}
