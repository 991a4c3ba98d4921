import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SkiffClient } from '@skiff/client';
import { ConfigError } from '@skiff/config';
import { writeSnapshot } from '@skiff/hashing';
import type { CliIo } from '../io.js';
import type { LoadedInferenceConfig } from './configs.js';

/**
 * Zips the source directory deterministically (`.amlignore` / `.gitignore` applied), asks the
 * control plane whether it holds that digest, and uploads the zip only when it does not.
 * Without a source directory the snapshot holds the entry script alone. Returns the digest.
 *
 * @throws ConfigError when the entry script is missing; SnapshotError for an unreadable tree.
 */
export async function ensureSnapshot(
  client: SkiffClient,
  workspace: string,
  io: CliIo,
  inference: LoadedInferenceConfig,
): Promise<string> {
  const isFile = await stat(inference.entryScript).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) {
    throw new ConfigError([
      {
        file: inference.label,
        path: 'entryScript',
        message: `no such file: ${inference.entryScript}`,
      },
    ]);
  }
  const scratch = await mkdtemp(join(tmpdir(), 'skiff-deploy-'));
  try {
    let source = inference.sourceDirectory;
    if (source === undefined) {
      source = join(scratch, 'source');
      const target = join(source, inference.config.entryScript);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(inference.entryScript, target);
    }
    const zip = join(scratch, 'snapshot.zip');
    const snapshot = await writeSnapshot(source, createWriteStream(zip));
    const described = `${snapshot.digest} (${snapshot.files} files, ${snapshot.size} bytes)`;
    if (await client.snapshots.exists({ workspace, digest: snapshot.digest })) {
      io.out(`Snapshot ${described} is already uploaded.\n`);
    } else {
      await client.snapshots.uploadSnapshot(zip, { workspace, digest: snapshot.digest });
      io.out(`Uploaded snapshot ${described}.\n`);
    }
    return snapshot.digest;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
