import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { ModelDigestBuilder, modelDigest } from '@skiff/hashing';
import {
  ModelServiceService,
  type DownloadModelRequest,
  type DownloadModelResponse,
  type Model,
} from '@skiff/proto';
import { startGrpcTestServer, type GrpcTestServer } from '@skiff/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkiffApiError, SkiffClient } from './index.js';

type Tree = Record<string, Buffer>;

let dir: string;
let server: GrpcTestServer | undefined;
let client: SkiffClient | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-client-download-'));
});
afterEach(async () => {
  client?.close();
  await server?.close(100);
  await rm(dir, { recursive: true, force: true });
});

function digestOf(tree: Tree): string {
  const builder = new ModelDigestBuilder();
  for (const path of Object.keys(tree).sort()) {
    builder.addFile(path, tree[path]!.length).update(tree[path]!);
  }
  return builder.digest();
}

const model = (digest: string, sizeBytes: number): Model => ({
  workspace: 'team-a',
  name: 'iris',
  version: 3,
  digest,
  sizeBytes,
  fileCount: 0,
  description: '',
  tags: {},
  properties: {},
  createdBy: '',
});

/** The messages a server sends for `tree`, claiming `digest`; content in 1,000-byte chunks. */
function messagesOf(tree: Tree, digest = digestOf(tree)): DownloadModelResponse[] {
  const size = Object.values(tree).reduce((sum, content) => sum + content.length, 0);
  const messages: DownloadModelResponse[] = [
    { part: { $case: 'model', model: model(digest, size) } },
  ];
  for (const path of Object.keys(tree).sort()) {
    const content = tree[path]!;
    messages.push({
      part: {
        $case: 'file',
        file: { path, sizeBytes: content.length, executable: path.endsWith('.sh') },
      },
    });
    for (let at = 0; at < content.length; at += 1_000) {
      messages.push({ part: { $case: 'chunk', chunk: content.subarray(at, at + 1_000) } });
    }
  }
  return messages;
}

/** A ModelService whose DownloadModel sends `messages` and records the request. */
async function serving(messages: readonly DownloadModelResponse[]) {
  const requests: DownloadModelRequest[] = [];
  server = await startGrpcTestServer((s) =>
    s.addService(ModelServiceService, {
      downloadModel: (call: ServerWritableStream<DownloadModelRequest, DownloadModelResponse>) => {
        requests.push(call.request);
        for (const message of messages) call.write(message);
        call.end();
      },
    } as never),
  );
  client = await SkiffClient.connect({ endpoint: server.address, token: 'skf_t_s' });
  return { requests, client };
}

const tree: Tree = {
  'model.json': Buffer.from('{"classes":["setosa"]}'),
  'nested/deeper/weights.bin': Buffer.alloc(40_000, 3),
  'run.sh': Buffer.from('#!/bin/sh\n'),
};

describe('models.downloadModel', () => {
  it('writes the tree into the target directory and keeps it when it hashes to the digest', async () => {
    const { requests, client } = await serving(messagesOf(tree));
    const target = join(dir, 'out');
    const done = await client.models.downloadModel(
      { workspace: 'team-a', name: 'iris', version: 3 },
      target,
    );
    expect(requests[0]).toMatchObject({ workspace: 'team-a', name: 'iris', version: 3 });
    expect(done.files).toEqual(Object.keys(tree).sort());
    expect(done.bytes).toBe(40_000 + 22 + 10);
    expect(await modelDigest(target)).toBe(digestOf(tree));
    expect(
      (await readFile(join(target, 'nested/deeper/weights.bin'))).equals(
        tree['nested/deeper/weights.bin']!,
      ),
    ).toBe(true);
    expect((await stat(join(target, 'run.sh'))).mode & 0o111).not.toBe(0);
    // No staging directory is left behind.
    expect((await readdir(target)).sort()).toEqual(['model.json', 'nested', 'run.sh']);
  });

  it('keeps nothing when the bytes do not hash to the model digest (DATA_LOSS)', async () => {
    const tampered = messagesOf(
      { ...tree, 'model.json': Buffer.from('{"classes":["virginic"]}') },
      digestOf(tree),
    );
    const { client } = await serving(tampered);
    const target = join(dir, 'out');
    const error = await client.models
      .downloadModel({ name: 'iris' }, target)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SkiffApiError);
    expect((error as SkiffApiError).code).toBe('DATA_LOSS');
    expect((error as SkiffApiError).details).toContain(digestOf(tree));
    expect(await readdir(target)).toEqual([]);
  });

  it('refuses a path leaving the target directory, and existing files unless overwrite', async () => {
    const escaping = messagesOf({ '../escaped.txt': Buffer.from('x') });
    const { client } = await serving(escaping);
    const target = join(dir, 'out');
    const error = await client.models
      .downloadModel({ name: 'iris' }, target)
      .catch((e: unknown) => e);
    expect((error as SkiffApiError).code).toBe('DATA_LOSS');
    await expect(stat(join(dir, 'escaped.txt'))).rejects.toThrow();

    client.close();
    await server?.close(100);
    const again = await serving(messagesOf(tree));
    await mkdir(target, { recursive: true });
    await writeFile(join(target, 'model.json'), 'mine');
    const exists = await again.client.models
      .downloadModel({ name: 'iris' }, target)
      .catch((e: unknown) => e);
    expect((exists as SkiffApiError).code).toBe('ALREADY_EXISTS');
    expect(await readFile(join(target, 'model.json'), 'utf8')).toBe('mine');
    await again.client.models.downloadModel({ name: 'iris' }, target, { overwrite: true });
    expect(await modelDigest(target)).toBe(digestOf(tree));
  });
});
