import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, lstat, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { ModelDigestBuilder, ModelTreeError } from '@skiff/hashing';
import type { DownloadModelResponse, Model } from '@skiff/proto';
import { SkiffApiError } from './errors.js';

/** Options of {@link ModelApi.downloadModel}. */
export interface DownloadModelOptions {
  /** Replace files that already exist in the target directory. Default false: refuse. */
  readonly overwrite?: boolean;
  /** Called after each chunk is written with the bytes written so far and the model's size. */
  readonly onProgress?: (writtenBytes: number, totalBytes: number) => void;
}

/** What {@link ModelApi.downloadModel} wrote. */
export interface DownloadedModel {
  readonly model: Model;
  /** Relative POSIX paths of the files written, in path order. */
  readonly files: readonly string[];
  /** Content bytes written. */
  readonly bytes: number;
}

const STATUS = { alreadyExists: 6, dataLoss: 15 } as const;

/** A relative POSIX path that stays inside the target directory. */
function isSafeRelativePath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\\') || path.includes('\0'))
    return false;
  return path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

function dataLoss(details: string, cause?: unknown): SkiffApiError {
  return new SkiffApiError({ status: STATUS.dataLoss, details, cause });
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function closeStream(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, 'close');
}

/**
 * Writes a DownloadModel stream into `targetDir` (created when missing): every file goes to a
 * staging directory inside it first while its bytes feed a {@link ModelDigestBuilder}; only
 * when the tree's digest equals the model's are the files moved into place. A mismatch, a cut
 * stream or an unsafe path leaves `targetDir` as it was.
 *
 * @throws SkiffApiError `DATA_LOSS` when what arrived is not the model's tree,
 *   `ALREADY_EXISTS` when a file exists and `overwrite` is off; the stream's own errors.
 */
export async function writeModelTree(
  messages: AsyncIterable<DownloadModelResponse>,
  targetDir: string,
  options: DownloadModelOptions = {},
): Promise<DownloadedModel> {
  await mkdir(targetDir, { recursive: true });
  const staging = join(targetDir, `.skiff-download-${randomBytes(6).toString('hex')}`);
  await mkdir(staging);
  let model: Model | undefined;
  const files: { path: string; executable: boolean }[] = [];
  const builder = new ModelDigestBuilder();
  let current: WriteStream | undefined;
  try {
    for await (const { part } of messages) {
      if (part?.$case === 'model') {
        if (model) throw dataLoss('the stream sent the model header twice');
        model = part.model;
      } else if (part?.$case === 'file') {
        if (!model) throw dataLoss('a file arrived before the model header');
        const { path, sizeBytes, executable } = part.file;
        if (!isSafeRelativePath(path)) {
          throw dataLoss(`the stream sent an unsafe file path '${path.slice(0, 200)}'`);
        }
        if (!options.overwrite && (await exists(join(targetDir, path)))) {
          throw new SkiffApiError({
            status: STATUS.alreadyExists,
            details: `${join(targetDir, path)} exists; pass overwrite (--overwrite) to replace it`,
          });
        }
        builder.addFile(path, sizeBytes);
        if (current) await closeStream(current);
        await mkdir(dirname(join(staging, path)), { recursive: true });
        current = createWriteStream(join(staging, path));
        files.push({ path, executable });
      } else if (part?.$case === 'chunk') {
        if (!current) throw dataLoss('content arrived before any file');
        builder.update(part.chunk);
        if (!current.write(part.chunk)) await once(current, 'drain');
        options.onProgress?.(builder.bytes, model?.sizeBytes ?? 0);
      }
    }
    if (current) await closeStream(current);
    current = undefined;
    if (!model) throw dataLoss('the stream ended before the model header');
    const digest = builder.digest();
    if (digest !== model.digest) {
      throw dataLoss(
        `the files of model ${model.name}:${model.version} hash to ${digest}, not to its digest ${model.digest}; nothing was written`,
      );
    }
    for (const file of files) {
      const source = join(staging, file.path);
      if (file.executable) await chmod(source, 0o755);
      await mkdir(dirname(join(targetDir, file.path)), { recursive: true });
      await rename(source, join(targetDir, file.path));
    }
    return { model, files: files.map((f) => f.path), bytes: builder.bytes };
  } catch (error) {
    if (error instanceof ModelTreeError) throw dataLoss(error.message, error);
    throw error;
  } finally {
    current?.destroy();
    await rm(staging, { recursive: true, force: true });
  }
}
