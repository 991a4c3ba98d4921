import { ModelDigestBuilder } from '@skiff/hashing';
import type { ModelUploadHeader, RegisterModelRequest } from '@skiff/proto';

/** Content is sent in pieces of this size. */
export const CHUNK = 4 * 1024;

/** A model's files: path → content. */
export type Tree = Record<string, Buffer>;
/** Paths in the digest's order (UTF-8 bytes). */
export const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** What a client computes before it uploads: the tree digest over paths and contents. */
export function digestOf(tree: Tree): string {
  const builder = new ModelDigestBuilder();
  for (const path of Object.keys(tree).sort(byUtf8)) {
    builder.addFile(path, tree[path]!.length).update(tree[path]!);
  }
  return builder.digest();
}

/** The header message of a model upload (workspace 'team-a' unless overridden). */
export function headerFor(name: string, tree: Tree, overrides: Partial<ModelUploadHeader> = {}) {
  return {
    part: {
      $case: 'header' as const,
      header: {
        workspace: 'team-a',
        name,
        description: `the ${name} model`,
        tags: { team: 'a' },
        properties: { accuracy: '0.97' },
        digest: digestOf(tree),
        totalBytes: Object.values(tree).reduce((sum, content) => sum + content.length, 0),
        fileCount: Object.keys(tree).length,
        ...overrides,
      },
    },
  };
}
/** A file message. */
export const file = (path: string, sizeBytes: number): RegisterModelRequest => ({
  part: { $case: 'file', file: { path, sizeBytes, executable: false } },
});
/** A chunk message. */
export const chunk = (bytes: Buffer): RegisterModelRequest => ({
  part: { $case: 'chunk', chunk: bytes },
});

/** The file and chunk messages of `tree`, in path order, content cut into CHUNK pieces. */
export function filesOf(tree: Tree): RegisterModelRequest[] {
  return Object.keys(tree)
    .sort(byUtf8)
    .flatMap((path) => {
      const content = tree[path]!;
      const pieces: RegisterModelRequest[] = [];
      for (let start = 0; start < content.length; start += CHUNK) {
        pieces.push(chunk(content.subarray(start, start + CHUNK)));
      }
      return [file(path, content.length), ...pieces];
    });
}
