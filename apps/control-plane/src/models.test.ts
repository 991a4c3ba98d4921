import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { FilesystemArtifactStore } from '@skiff/artifacts';
import {
  type ModelUploadHeader,
  type RegisterModelRequest,
  type WebserviceSpec,
} from '@skiff/proto';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachCompute,
  call,
  failure,
  startHarness,
  type Clients,
  type Harness,
} from './test-support/harness.js';
import {
  clientStream,
  countBlobs,
  partialUploads,
  eventually,
  registerModel,
  type StreamEnding,
} from './test-support/uploads.js';
import {
  byUtf8,
  chunk,
  CHUNK,
  digestOf,
  file,
  filesOf,
  headerFor,
  type Tree,
} from './test-support/model-upload.js';

const LIMIT = 64 * 1024;

describe('ModelService on a real control plane', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let teamA: Awaited<ReturnType<Harness['team']>>;
  let teamB: Awaited<ReturnType<Harness['team']>>;
  let artifactsRoot: string;

  const register = (
    clients: Clients,
    messages: readonly RegisterModelRequest[],
    ending: StreamEnding = 'end',
    beforeEnding?: () => Promise<void>,
  ) => clientStream(registerModel(clients), clients.metadata, messages, ending, beforeEnding);
  const registerTree = (clients: Clients, name: string, tree: Tree) =>
    register(clients, [headerFor(name, tree), ...filesOf(tree)]);
  const list = (clients: Clients, request: { name?: string; latestOnly?: boolean } = {}) =>
    call(
      clients.models,
      clients.models.listModels,
      {
        workspace: 'team-a',
        name: request.name ?? '',
        latestOnly: request.latestOnly ?? false,
        pageSize: 0,
        pageToken: '',
      },
      clients.metadata,
    );
  const get = (clients: Clients, name: string, version = 0, workspace = 'team-a') =>
    call(clients.models, clients.models.getModel, { workspace, name, version }, clients.metadata);
  const remove = (clients: Clients, name: string, version: number) =>
    call(
      clients.models,
      clients.models.deleteModel,
      { workspace: 'team-a', name, version },
      clients.metadata,
    );
  /** Outcomes of the finished RegisterModel calls for model `name`, from the audit log. */
  const registrations = async (name: string) => {
    const audit = await call(
      teamA.admin.workspaces,
      teamA.admin.workspaces.listAuditEvents,
      { workspace: 'team-a', afterId: '', pageSize: 0 },
      teamA.admin.metadata,
    );
    return audit.events
      .filter((e) => e.action.endsWith('/RegisterModel') && e.target.startsWith(`model/${name}`))
      .map((e) => e.outcome);
  };

  const multi: Tree = {
    'model.pkl': randomBytes(10 * CHUNK + 123),
    'config/labels.json': Buffer.from('["cat","dog"]'),
    'weights/w1.bin': randomBytes(CHUNK),
    'weights/w1.copy': Buffer.alloc(0),
    README: Buffer.from('iris'),
  };
  const single: Tree = { 'model.onnx': randomBytes(3 * CHUNK) };

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({
      redisUrl: redis.url,
      prefix: redis.prefix,
      env: { SKIFF_MAX_UPLOAD_BYTES: String(LIMIT) },
    });
    artifactsRoot = join(harness.dataDir, 'artifacts');
    teamA = await harness.team('team-a');
    teamB = await harness.team('team-b');
  });
  afterAll(async () => {
    await harness.stop();
    await redis.cleanup();
  });

  it('registers a multi-file model: version 1, its digest, sizes, tags and creator; each file one blob', async () => {
    const response = await registerTree(teamA.deployer, 'iris', multi);
    const model = response.model!;
    expect(response.deduplicated).toBe(false);
    expect(model).toMatchObject({
      workspace: 'team-a',
      name: 'iris',
      version: 1,
      digest: digestOf(multi),
      sizeBytes: 11 * CHUNK + 123 + 13 + 4,
      fileCount: 5,
      description: 'the iris model',
      tags: { team: 'a' },
      properties: { accuracy: '0.97' },
    });
    // The creator is the deployer's credential id (skf_<id>_<secret>).
    expect(model.createdBy).toBe(teamA.tokens.deployer.split('_')[1]);
    expect(model.createTime).toBeInstanceOf(Date);

    // The bytes went into the artifact store file by file, exactly as sent.
    const record = await harness.controlPlane.store.models.require('team-a', 'iris', 1);
    expect(record.files.map((f) => f.path)).toEqual(Object.keys(multi).sort(byUtf8));
    const store = await FilesystemArtifactStore.open({ root: artifactsRoot });
    for (const stored of record.files) {
      const parts: Buffer[] = [];
      for await (const part of await store.open(stored.blob)) parts.push(Buffer.from(part));
      expect(Buffer.concat(parts).equals(multi[stored.path]!)).toBe(true);
    }
    await store.close();
  });

  it('registers a single-file model, and counts versions per name', async () => {
    const first = await registerTree(teamA.deployer, 'onnx', single);
    expect(first.model).toMatchObject({ name: 'onnx', version: 1, fileCount: 1 });
    const changed: Tree = { 'model.onnx': randomBytes(100) };
    const second = await registerTree(teamA.deployer, 'onnx', changed);
    expect(second.model).toMatchObject({ version: 2, digest: digestOf(changed) });
    expect(second.deduplicated).toBe(false);
  });

  it('stores identical content once: same tree again is deduplicated, equal files share a blob', async () => {
    const before = await countBlobs(artifactsRoot);
    const again = await registerTree(teamA.deployer, 'iris-copy', multi);
    expect(again.deduplicated).toBe(true);
    expect(again.model).toMatchObject({ name: 'iris-copy', version: 1, digest: digestOf(multi) });
    expect(await countBlobs(artifactsRoot)).toBe(before);

    const twins: Tree = { 'a.bin': Buffer.from('same bytes'), 'b.bin': Buffer.from('same bytes') };
    await registerTree(teamA.deployer, 'twins', twins);
    expect(await countBlobs(artifactsRoot)).toBe(before + 1);
  });

  it('gets the latest version by default and an explicit one when asked', async () => {
    expect((await get(teamA.reader, 'onnx')).model?.version).toBe(2);
    expect((await get(teamA.reader, 'onnx', 1)).model?.digest).toBe(digestOf(single));
    const missing = await failure(get(teamA.reader, 'onnx', 9));
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toBe("model 'onnx' version 9 not found");
    const bad = await failure(get(teamA.reader, 'onnx', -1));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain('version');
  });

  it('lists every version, one name, only the latest, and in pages', async () => {
    const names = (r: Awaited<ReturnType<typeof list>>) =>
      r.models.map((model) => `${model.name}@${model.version}`);
    expect(names(await list(teamA.reader))).toEqual([
      'iris@1',
      'iris-copy@1',
      'onnx@1',
      'onnx@2',
      'twins@1',
    ]);
    expect(names(await list(teamA.reader, { name: 'onnx' }))).toEqual(['onnx@1', 'onnx@2']);
    expect(names(await list(teamA.reader, { latestOnly: true }))).toEqual([
      'iris@1',
      'iris-copy@1',
      'onnx@2',
      'twins@1',
    ]);
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await call(
        teamA.reader.models,
        teamA.reader.models.listModels,
        { workspace: '', name: '', latestOnly: false, pageSize: 2, pageToken },
        teamA.reader.metadata,
      );
      expect(page.models.length).toBeLessThanOrEqual(2);
      seen.push(...names(page));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual(names(await list(teamA.reader)));
  });

  it('refuses to delete a version a webservice uses, deletes a free one, then NOT_FOUND', async () => {
    await attachCompute(teamA.admin, 'team-a');
    const spec: WebserviceSpec = {
      compute: 'local',
      models: [{ name: 'onnx', version: 1 }],
      snapshotDigest: '',
      inferenceConfig: {
        entryScript: 'score.py',
        runtime: '',
        sourceDirectory: '',
        description: '',
      },
      deploymentConfig: {
        computeType: 1,
        tags: {},
        properties: {},
        namespace: '',
        description: '',
      },
    };
    await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.deployWebservice,
      { workspace: 'team-a', name: 'uses-onnx', spec, overwrite: false },
      teamA.deployer.metadata,
    );
    const inUse = await failure(remove(teamA.deployer, 'onnx', 1));
    expect(inUse.code).toBe(status.FAILED_PRECONDITION);
    expect(inUse.details).toContain("'uses-onnx'");

    await remove(teamA.deployer, 'onnx', 2);
    expect((await failure(get(teamA.reader, 'onnx', 2))).code).toBe(status.NOT_FOUND);
    expect((await failure(remove(teamA.deployer, 'onnx', 2))).code).toBe(status.NOT_FOUND);
    expect((await failure(remove(teamA.deployer, 'never', 1))).code).toBe(status.NOT_FOUND);
    expect((await failure(remove(teamA.deployer, 'onnx', 0))).code).toBe(status.INVALID_ARGUMENT);
    // Versions keep counting: a deleted number is never handed out again.
    expect(
      (await registerTree(teamA.deployer, 'onnx', { x: Buffer.from('x') })).model?.version,
    ).toBe(3);
  });

  const tree: Tree = { 'a.bin': Buffer.from('aaaa'), 'b/c.bin': Buffer.from('cc') };
  const header = (overrides: Partial<ModelUploadHeader> = {}) =>
    headerFor('invalid', tree, overrides);
  const invalid: Array<[string, () => RegisterModelRequest[], string]> = [
    ['a file before the header', () => filesOf(tree), 'header'],
    ['an empty name', () => [header({ name: '' }), ...filesOf(tree)], 'header.name'],
    ['a name with a space', () => [header({ name: 'my model' }), ...filesOf(tree)], 'header.name'],
    ['a name of 256 characters', () => [header({ name: 'm'.repeat(256) })], 'header.name'],
    ["the name '..'", () => [header({ name: '..' })], 'header.name'],
    ['a digest without sha256:', () => [header({ digest: 'a'.repeat(64) })], 'header.digest'],
    [
      'a digest in upper case',
      () => [header({ digest: `sha256:${'A'.repeat(64)}` })],
      'header.digest',
    ],
    ['negative total_bytes', () => [header({ totalBytes: -1 })], 'header.total_bytes'],
    ['file_count 0', () => [header({ fileCount: 0 })], 'header.file_count'],
    ['the header twice', () => [header(), header(), ...filesOf(tree)], 'header: sent twice'],
    ['a chunk before any file', () => [header(), chunk(Buffer.from('x'))], 'chunk'],
    ['an empty message', () => [header(), { part: undefined }], 'part'],
    ['an absolute path', () => [header(), file('/etc/passwd', 4)], 'file.path'],
    ["a path with '..'", () => [header(), file('a/../../x', 4)], 'file.path'],
    ['a path with an empty segment', () => [header(), file('a//x', 4)], 'file.path'],
    [
      'paths out of order',
      () => {
        const [a, aChunk, c, cChunk] = filesOf(tree);
        return [header(), c!, cChunk!, a!, aChunk!];
      },
      'out of order',
    ],
    [
      'a path twice',
      () => [header({ fileCount: 2 }), file('a.bin', 0), file('a.bin', 0)],
      'appears twice',
    ],
    [
      'a file that is also a directory',
      () => [header(), file('b', 0), file('b/c.bin', 2)],
      'cannot be a directory',
    ],
    ['a negative file size', () => [header(), file('a.bin', -4)], 'file.size_bytes'],
    [
      'files declaring more than total_bytes',
      () => [header(), file('a.bin', 4), chunk(Buffer.from('aaaa')), file('b/c.bin', 3)],
      'header.total_bytes',
    ],
    [
      'a file longer than declared',
      () => [header(), file('a.bin', 3), chunk(Buffer.from('aaaa'))],
      "file.size_bytes: 'a.bin' is longer than its declared 3 bytes",
    ],
    [
      'a file shorter than declared',
      () => [header(), file('a.bin', 4), chunk(Buffer.from('aaa')), ...filesOf(tree).slice(2)],
      "file.size_bytes: 'a.bin' is shorter than its declared 4 bytes",
    ],
    [
      'more files than file_count',
      () => [header({ fileCount: 1, totalBytes: 6 }), ...filesOf(tree)],
      'header.file_count',
    ],
    [
      'fewer files than file_count',
      () => [header(), ...filesOf(tree).slice(0, 2)],
      'header.file_count',
    ],
    [
      'content that does not match the digest',
      () => [
        header({
          digest: digestOf({ 'a.bin': Buffer.from('aaab'), 'b/c.bin': Buffer.from('cc') }),
        }),
        ...filesOf(tree),
      ],
      'header.digest: digest mismatch',
    ],
  ];
  it.each(invalid)('rejects %s with INVALID_ARGUMENT naming it', async (_what, messages, named) => {
    const error = await failure(register(teamA.deployer, messages()));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toContain(named);
  });

  it('recorded nothing for any of the rejected uploads', async () => {
    // Sanity check of the table: the valid form of its tree registers.
    expect((await list(teamA.reader, { name: 'invalid' })).models).toEqual([]);
    expect((await registerTree(teamA.deployer, 'valid', tree)).model?.version).toBe(1);
  });

  it('refuses a total over the upload limit from the header alone, naming the limit', async () => {
    const big = headerFor('big', tree, { totalBytes: LIMIT + 1 });
    // The stream stays open: an answer proves the server did not wait for any byte.
    const error = await failure(register(teamA.deployer, [big], 'open'));
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error.details).toContain(`${LIMIT} bytes`);
    expect(error.details).toContain('header.total_bytes');
  });

  it('records nothing for a stream cancelled in the middle of a file, or before it half-closed', async () => {
    const cut: Tree = { 'a.bin': randomBytes(3 * CHUNK), 'b.bin': randomBytes(CHUNK) };
    const messages = [headerFor('cut', cut), ...filesOf(cut)];
    // Cancelled while the server is inside the first file's put (its temp file exists).
    const midway = await failure(
      register(teamA.deployer, messages.slice(0, 3), 'cancel', () =>
        eventually(
          'the first file is being stored',
          async () => (await partialUploads(artifactsRoot)).length > 0,
        ),
      ),
    );
    expect(midway.code).toBe(status.CANCELLED);
    await eventually('the call is over', async () => (await registrations('cut')).length === 1);
    expect(await registrations('cut')).toEqual(['CANCELLED']);
    expect(await partialUploads(artifactsRoot)).toEqual([]);

    // Every byte sent, but cancelled instead of half-closed: still a cut stream. The last
    // file's bytes are all in its temp file: the server waits for the end of the stream.
    const before = await countBlobs(artifactsRoot);
    const whole = await failure(
      register(teamA.deployer, messages, 'cancel', () =>
        eventually(
          'every byte arrived',
          async () =>
            (await countBlobs(artifactsRoot)) === before + 1 &&
            (await partialUploads(artifactsRoot)).includes(CHUNK),
        ),
      ),
    );
    expect(whole.code).toBe(status.CANCELLED);
    await eventually('the call is over', async () => (await registrations('cut')).length === 2);
    expect(await registrations('cut')).toEqual(['CANCELLED', 'CANCELLED']);
    expect((await list(teamA.reader, { name: 'cut' })).models).toEqual([]);
  });

  it('keeps workspaces apart: another team gets NOT_FOUND', async () => {
    const into = await failure(
      register(teamB.deployer, [headerFor('iris', single), ...filesOf(single)]),
    );
    expect(into.code).toBe(status.NOT_FOUND);
    expect((await failure(get(teamB.reader, 'iris', 0, 'team-a'))).code).toBe(status.NOT_FOUND);
    const own = await failure(get(teamB.reader, 'iris', 0, 'team-b'));
    expect(own.code).toBe(status.NOT_FOUND);
    expect(own.details).toBe("model 'iris' not found");
  });

  it('lets readers read but not register or delete (PERMISSION_DENIED)', async () => {
    expect((await get(teamA.reader, 'iris')).model?.name).toBe('iris');
    const denied = await failure(registerTree(teamA.reader, 'mine', single));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    expect((await failure(remove(teamA.reader, 'iris', 1))).code).toBe(status.PERMISSION_DENIED);
  });

  it('answers a call without credential with UNAUTHENTICATED', async () => {
    const anonymous = harness.clients(undefined);
    expect((await failure(registerTree(anonymous, 'anon', single))).code).toBe(
      status.UNAUTHENTICATED,
    );
    expect((await failure(list(anonymous))).code).toBe(status.UNAUTHENTICATED);
  });

  it('audits registrations and deletions', async () => {
    const audit = await call(
      teamA.admin.workspaces,
      teamA.admin.workspaces.listAuditEvents,
      { workspace: 'team-a', afterId: '', pageSize: 0 },
      teamA.admin.metadata,
    );
    const events = audit.events.map((e) => `${e.action.split('/').pop()} ${e.target} ${e.outcome}`);
    expect(events).toContain('RegisterModel model/iris/1 OK');
    expect(events).toContain('DeleteModel model/onnx/2 OK');
    expect(events).toContain('DeleteModel model/onnx/1 FAILED_PRECONDITION');
  });
});
