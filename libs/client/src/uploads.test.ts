import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { modelDigest, writeSnapshot } from '@skiff/hashing';
import {
  ModelServiceService,
  RegisterModelResponse,
  SnapshotServiceService,
  UploadSnapshotResponse,
  type RegisterModelRequest,
  type UploadSnapshotRequest,
} from '@skiff/proto';
import { startGrpcTestServer, type GrpcTestServer } from '@skiff/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SkiffApiError, SkiffClient, UPLOAD_CHUNK_BYTES } from './index.js';

type Callback = (error: ServiceError | null, response?: unknown) => void;
interface ReadableCall<T> {
  on(event: 'data', listener: (message: T) => void): void;
  on(event: 'end' | 'cancelled', listener: () => void): void;
  metadata: Metadata;
}

let dir: string;
let server: GrpcTestServer | undefined;
let client: SkiffClient | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-client-upload-'));
});
afterEach(async () => {
  client?.close();
  await server?.close(100);
  await rm(dir, { recursive: true, force: true });
});

/** A server recording every upload message it receives; answers as `answer` says. */
async function recordingServer(
  answer: (received: (RegisterModelRequest | UploadSnapshotRequest)[], callback: Callback) => void,
) {
  const received: (RegisterModelRequest | UploadSnapshotRequest)[] = [];
  const handler = (call: ReadableCall<RegisterModelRequest>, callback: Callback) => {
    call.on('data', (message) => received.push(message));
    call.on('end', () => answer(received, callback));
  };
  server = await startGrpcTestServer((s) => {
    s.addService(ModelServiceService, { registerModel: handler } as never);
    s.addService(SnapshotServiceService, { uploadSnapshot: handler } as never);
  });
  client = await SkiffClient.connect({ endpoint: server.address, token: 'skf_t_s' });
  return { received, client };
}

const bytes = (size: number, seed: number) => {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 31 + seed) % 251;
  return buffer;
};

describe('models.registerModel', () => {
  it('streams the header with the tree digest, then every file in path order in chunks of at most 1 MiB', async () => {
    const model = join(dir, 'model');
    await mkdir(join(model, 'weights'), { recursive: true });
    const big = bytes(2 * UPLOAD_CHUNK_BYTES + 12_345, 7);
    await writeFile(join(model, 'weights', 'w1.bin'), big);
    await writeFile(join(model, 'model.json'), '{"layers":3}');
    await writeFile(join(model, 'B-upper.txt'), 'sorted before lower case by byte value');
    await writeFile(join(model, 'empty'), '');
    await writeFile(join(model, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(model, 'run.sh'), 0o755);
    const { received, client } = await recordingServer((_messages, callback) =>
      callback(null, RegisterModelResponse.fromPartial({ model: { name: 'iris', version: 3 } })),
    );

    const progress: number[] = [];
    const response = await client.models.registerModel(
      model,
      { workspace: 'team-a', name: 'iris', tags: { stage: 'prod' } },
      { onProgress: (sent) => progress.push(sent) },
    );
    expect(response.model?.version).toBe(3);

    const [first, ...rest] = received as RegisterModelRequest[];
    const header = first?.part?.$case === 'header' ? first.part.header : undefined;
    const total = big.length + 12 + 38 + 10;
    expect(header).toEqual({
      workspace: 'team-a',
      name: 'iris',
      description: '',
      tags: { stage: 'prod' },
      properties: {},
      digest: await modelDigest(model),
      totalBytes: total,
      fileCount: 5,
    });
    const files: { path: string; executable: boolean; content: Buffer }[] = [];
    for (const message of rest) {
      if (message.part?.$case === 'file') {
        files.push({
          path: message.part.file.path,
          executable: message.part.file.executable,
          content: Buffer.alloc(0),
        });
      } else if (message.part?.$case === 'chunk') {
        expect(message.part.chunk.length).toBeLessThanOrEqual(UPLOAD_CHUNK_BYTES);
        const current = files.at(-1)!;
        current.content = Buffer.concat([current.content, message.part.chunk]);
      } else throw new Error(`unexpected message ${JSON.stringify(message)}`);
    }
    expect(files.map((f) => f.path)).toEqual([
      'B-upper.txt',
      'empty',
      'model.json',
      'run.sh',
      'weights/w1.bin',
    ]);
    expect(files.find((f) => f.path === 'run.sh')?.executable).toBe(true);
    expect(files.find((f) => f.path === 'model.json')?.executable).toBe(false);
    expect(files.find((f) => f.path === 'weights/w1.bin')?.content.equals(big)).toBe(true);
    expect(files.find((f) => f.path === 'empty')?.content.length).toBe(0);
    expect(rest.filter((m) => m.part?.$case === 'chunk').length).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)).toBe(total);
  });

  it('sends a single-file model as one entry under its file name', async () => {
    const file = join(dir, 'model.pkl');
    await writeFile(file, 'pickled');
    const { received, client } = await recordingServer((_m, callback) =>
      callback(null, RegisterModelResponse.fromPartial({})),
    );
    await client.models.registerModel(file, { workspace: 'w', name: 'm' });
    const parts = (received as RegisterModelRequest[]).map((m) => m.part?.$case);
    expect(parts).toEqual(['header', 'file', 'chunk']);
    const fileMessage = received[1] as RegisterModelRequest;
    expect(fileMessage.part?.$case === 'file' && fileMessage.part.file).toEqual({
      path: 'model.pkl',
      sizeBytes: 7,
      executable: false,
    });
  });

  it('rejects with the server refusal, e.g. a size over its limit', async () => {
    const file = join(dir, 'm.bin');
    await writeFile(file, bytes(1000, 1));
    const { client } = await recordingServer((_m, callback) => {
      const metadata = new Metadata();
      metadata.set('skiff-field', 'header.total_bytes');
      callback(
        Object.assign(new Error('too big'), {
          code: status.RESOURCE_EXHAUSTED,
          details: 'header.total_bytes: 1000 bytes is over the limit of 10',
          metadata,
        }),
      );
    });
    const error = (await client.models
      .registerModel(file, { workspace: 'w', name: 'm' })
      .catch((e: unknown) => e)) as SkiffApiError;
    expect(error).toBeInstanceOf(SkiffApiError);
    expect(error.code).toBe('RESOURCE_EXHAUSTED');
    expect(error.field).toBe('header.total_bytes');
  });

  it('fails locally, without a call, for a path that does not exist', async () => {
    const { received, client } = await recordingServer((_m, callback) => callback(null, {}));
    await expect(
      client.models.registerModel(join(dir, 'missing'), { workspace: 'w', name: 'm' }),
    ).rejects.toThrow(/no such model file or directory/);
    expect(received).toEqual([]);
  });
});

describe('snapshots.uploadSnapshot', () => {
  it('streams the header with the zip digest and size, then its bytes in chunks of at most 1 MiB', async () => {
    const source = join(dir, 'src');
    await mkdir(source);
    await writeFile(join(source, 'score.py'), 'def init():\n  pass\n');
    // Random bytes do not deflate, so the zip is larger than one chunk.
    await writeFile(join(source, 'noise.bin'), randomBytes(1_500_000));
    const zip = join(dir, 'snapshot.zip');
    const written = await writeSnapshot(source, createWriteStream(zip));
    const { received, client } = await recordingServer((_m, callback) =>
      callback(null, UploadSnapshotResponse.fromPartial({ snapshot: { digest: written.digest } })),
    );

    const response = await client.snapshots.uploadSnapshot(zip, { workspace: 'team-a' });
    expect(response.snapshot?.digest).toBe(written.digest);
    const [first, ...rest] = received as UploadSnapshotRequest[];
    expect(first?.part).toEqual({
      $case: 'header',
      header: { workspace: 'team-a', digest: written.digest, sizeBytes: written.size },
    });
    const chunks = rest.map((m) => (m.part?.$case === 'chunk' ? m.part.chunk : Buffer.alloc(0)));
    expect(rest.every((m) => m.part?.$case === 'chunk')).toBe(true);
    expect(chunks.every((c) => c.length <= UPLOAD_CHUNK_BYTES)).toBe(true);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(await readFile(zip))).toBe(true);
  });
});
