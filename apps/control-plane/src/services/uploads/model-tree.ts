import type { ArtifactStore } from '@skiff/artifacts';
import { InvalidArgumentError } from '@skiff/errors';
import { ModelDigestBuilder, ModelTreeError } from '@skiff/hashing';
import type { ModelFile, RegisterModelRequest } from '@skiff/proto';
import type { ModelFileRecord } from '@skiff/store';
import { chunkRun } from './chunk-run.js';
import type { MessageCursor } from './message-cursor.js';
import { requireModelPath } from './upload-fields.js';

/** What the header promised about the tree. */
export interface DeclaredTree {
  fileCount: number;
  totalBytes: number;
}

/** A model tree that arrived completely and matched its declaration. */
export interface ReceivedTree {
  files: ModelFileRecord[];
  /** The tree digest over what arrived (libs/hashing modelDigest layout). */
  digest: string;
  sizeBytes: number;
}

const chunkOf = (message: RegisterModelRequest) =>
  message.part?.$case === 'chunk' ? message.part.chunk : undefined;

/**
 * Reads the files of a RegisterModel stream (everything after the header) into the artifact
 * store, one blob per file, while the tree digest is computed as the bytes pass. Checks the
 * order and shape of the stream, each file's declared size and the running totals against
 * the header; throws InvalidArgumentError naming the field at the first problem.
 *
 * Blobs put before a later failure stay in the store: they are content-addressed, so they
 * hold nobody's data under a wrong name and a retry of the same upload reuses them.
 */
export async function receiveModelTree(
  cursor: MessageCursor<RegisterModelRequest>,
  declared: DeclaredTree,
  artifacts: ArtifactStore,
  signal: AbortSignal,
): Promise<ReceivedTree> {
  const builder = new ModelDigestBuilder();
  const files: ModelFileRecord[] = [];
  const filePaths = new Set<string>();
  let sizeBytes = 0;
  for (let message = await cursor.next(); message !== undefined; message = await cursor.next()) {
    const part = message.part;
    if (part?.$case !== 'file') {
      throw new InvalidArgumentError(
        part?.$case === 'header'
          ? 'header: sent twice; it must be the first message and only once'
          : part?.$case === 'chunk'
            ? 'chunk: content arrived before any file; send a file message first'
            : 'part: an empty message; expected header, file or chunk',
        { field: part?.$case ?? 'part' },
      );
    }
    const file = checkFile(part.file, files.length, declared, sizeBytes, filePaths);
    startFile(builder, file);
    const put = await artifacts.put(
      chunkRun(cursor, {
        chunkOf,
        maxBytes: file.sizeBytes,
        tooLong: (received) =>
          new InvalidArgumentError(
            `file.size_bytes: '${file.path}' is longer than its declared ${file.sizeBytes} bytes (${received} arrived so far)`,
            { field: 'file.size_bytes' },
          ),
        onChunk: (chunk) => builder.update(chunk),
      }),
      { maxBytes: file.sizeBytes, signal },
    );
    if (put.size !== file.sizeBytes) {
      throw new InvalidArgumentError(
        `file.size_bytes: '${file.path}' is shorter than its declared ${file.sizeBytes} bytes (${put.size} arrived)`,
        { field: 'file.size_bytes' },
      );
    }
    files.push({
      path: file.path,
      size: file.sizeBytes,
      executable: file.executable,
      blob: put.digest,
    });
    filePaths.add(file.path);
    sizeBytes += file.sizeBytes;
  }
  if (files.length !== declared.fileCount) {
    throw new InvalidArgumentError(
      `header.file_count: declared ${declared.fileCount} files, ${files.length} arrived`,
      { field: 'header.file_count' },
    );
  }
  if (sizeBytes !== declared.totalBytes) {
    throw new InvalidArgumentError(
      `header.total_bytes: declared ${declared.totalBytes} bytes, the files hold ${sizeBytes}`,
      { field: 'header.total_bytes' },
    );
  }
  return { files, digest: builder.digest(), sizeBytes };
}

function checkFile(
  file: ModelFile,
  index: number,
  declared: DeclaredTree,
  sizeBytes: number,
  filePaths: ReadonlySet<string>,
): ModelFile {
  const path = requireModelPath(file.path, 'file.path');
  if (index >= declared.fileCount) {
    throw new InvalidArgumentError(
      `header.file_count: '${path}' is one file more than the ${declared.fileCount} declared`,
      { field: 'header.file_count' },
    );
  }
  if (!Number.isSafeInteger(file.sizeBytes) || file.sizeBytes < 0) {
    throw new InvalidArgumentError(
      `file.size_bytes: '${path}' declares ${file.sizeBytes} bytes, expected 0 or more`,
      { field: 'file.size_bytes' },
    );
  }
  if (sizeBytes + file.sizeBytes > declared.totalBytes) {
    throw new InvalidArgumentError(
      `header.total_bytes: with '${path}' the files declare more than the ${declared.totalBytes} bytes declared`,
      { field: 'header.total_bytes' },
    );
  }
  // Files arrive in path order, so a file 'a' always comes before 'a/...'.
  const segments = path.split('/');
  for (let end = 1; end < segments.length; end++) {
    const parent = segments.slice(0, end).join('/');
    if (filePaths.has(parent)) {
      throw new InvalidArgumentError(
        `file.path: '${path}' needs '${parent}' to be a directory, but it is a file; it cannot be a directory too`,
        { field: 'file.path' },
      );
    }
  }
  return file;
}

/** Order and duplicates are the digest's rules; the builder enforces them. */
function startFile(builder: ModelDigestBuilder, file: ModelFile): void {
  try {
    builder.addFile(file.path, file.sizeBytes);
  } catch (error) {
    if (error instanceof ModelTreeError) {
      throw new InvalidArgumentError(`file.path: ${error.message}`, {
        field: 'file.path',
        cause: error,
      });
    }
    throw error;
  }
}
