import { status, type ServiceError } from '@grpc/grpc-js';
import { ModelDigestBuilder } from '@skiff/hashing';
import type { DownloadModelRequest, DownloadModelResponse } from '@skiff/proto';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, startHarness, type Clients, type Harness } from './test-support/harness.js';
import { digestOf, filesOf, headerFor, type Tree } from './test-support/model-upload.js';
import { clientStream, registerModel } from './test-support/uploads.js';

/** Every message of a DownloadModel call, or its error. */
function download(
  clients: Clients,
  request: Partial<DownloadModelRequest>,
): Promise<DownloadModelResponse[]> {
  return new Promise((resolve, reject) => {
    const messages: DownloadModelResponse[] = [];
    const call = clients.models.downloadModel(
      { workspace: 'team-a', name: 'iris', version: 0, ...request },
      clients.metadata,
    );
    call.on('data', (message: DownloadModelResponse) => messages.push(message));
    call.on('end', () => resolve(messages));
    call.on('error', (error: ServiceError) => reject(error));
  });
}

/** The tree a download stream carries, re-assembled, and the digest it hashes to. */
function treeOf(messages: readonly DownloadModelResponse[]): { tree: Tree; digest: string } {
  const tree: Tree = {};
  const builder = new ModelDigestBuilder();
  let current = '';
  for (const { part } of messages.slice(1)) {
    if (part?.$case === 'file') {
      current = part.file.path;
      tree[current] = Buffer.alloc(0);
      builder.addFile(current, part.file.sizeBytes);
    } else if (part?.$case === 'chunk') {
      tree[current] = Buffer.concat([tree[current]!, part.chunk]);
      builder.update(part.chunk);
    }
  }
  return { tree, digest: builder.digest() };
}

describe('ModelService.DownloadModel on a real control plane', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let teamA: Awaited<ReturnType<Harness['team']>>;
  let teamB: Awaited<ReturnType<Harness['team']>>;
  // Several chunks (the server sends at most 1 MiB a message) and a nested path.
  const v1: Tree = {
    'model.json': Buffer.from('{"classes":["a","b"]}'),
    'weights/w1.bin': Buffer.alloc(1024 * 1024 + 5_000, 7),
  };
  const v2: Tree = { 'model.json': Buffer.from('{"classes":["a","b","c"]}') };

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({ redisUrl: redis.url, prefix: redis.prefix });
    teamA = await harness.team('team-a');
    teamB = await harness.team('team-b');
    for (const tree of [v1, v2]) {
      await clientStream(registerModel(teamA.deployer), teamA.deployer.metadata, [
        headerFor('iris', tree),
        ...filesOf(tree),
      ]);
    }
  });
  afterAll(async () => {
    await harness.stop();
    await redis.cleanup();
  });

  it('streams the model record, then each file and its chunks in path order, hashing to the digest', async () => {
    const messages = await download(teamA.reader, { version: 1 });
    const first = messages[0]?.part;
    expect(first?.$case).toBe('model');
    if (first?.$case !== 'model') return;
    expect(first.model).toMatchObject({ name: 'iris', version: 1, digest: digestOf(v1) });
    const { tree, digest } = treeOf(messages);
    expect(Object.keys(tree)).toEqual(['model.json', 'weights/w1.bin']);
    expect(tree['weights/w1.bin']!.equals(v1['weights/w1.bin']!)).toBe(true);
    expect(digest).toBe(first.model.digest);
    for (const { part } of messages) {
      if (part?.$case === 'chunk') expect(part.chunk.length).toBeLessThanOrEqual(1024 * 1024);
    }
  });

  it('sends the latest version for version 0', async () => {
    const messages = await download(teamA.reader, {});
    expect(messages[0]?.part).toMatchObject({ model: { version: 2, digest: digestOf(v2) } });
    expect(treeOf(messages).tree).toEqual(v2);
  });

  it('refuses a missing credential, a bad name, a missing version and another team', async () => {
    expect((await failure(download(harness.clients(undefined), {}))).code).toBe(
      status.UNAUTHENTICATED,
    );
    const invalid = await failure(download(teamA.reader, { name: '../iris' }));
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.details).toContain('name');
    const negative = await failure(download(teamA.reader, { version: -1 }));
    expect([negative.code, negative.details]).toEqual([
      status.INVALID_ARGUMENT,
      expect.stringContaining('version'),
    ]);
    expect((await failure(download(teamA.reader, { version: 9 }))).code).toBe(status.NOT_FOUND);
    // Team B asking for team A's model is told exactly what a missing model is told.
    const other = await failure(download(teamB.admin, {}));
    expect(other.code).toBe(status.NOT_FOUND);
    expect(other.details).not.toContain('iris');
  });
});
