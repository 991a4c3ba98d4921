import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { sha256Digest } from '@skiff/artifacts';
import { ModelDigestBuilder } from '@skiff/hashing';
import {
  WebserviceState,
  type SnapshotUploadHeader,
  type UploadSnapshotRequest,
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
  eventually,
  partialUploads,
  registerModel,
  uploadSnapshot,
  type StreamEnding,
} from './test-support/uploads.js';

const LIMIT = 64 * 1024;
const CHUNK = 4 * 1024;

const header = (
  bytes: Buffer,
  overrides: Partial<SnapshotUploadHeader> = {},
): UploadSnapshotRequest => ({
  part: {
    $case: 'header',
    header: {
      workspace: 'team-a',
      digest: sha256Digest(bytes),
      sizeBytes: bytes.length,
      ...overrides,
    },
  },
});
const chunk = (bytes: Buffer): UploadSnapshotRequest => ({
  part: { $case: 'chunk', chunk: bytes },
});
function chunks(bytes: Buffer): UploadSnapshotRequest[] {
  const out: UploadSnapshotRequest[] = [];
  for (let start = 0; start < bytes.length; start += CHUNK) {
    out.push(chunk(bytes.subarray(start, start + CHUNK)));
  }
  return out;
}

describe('SnapshotService on a real control plane', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let teamA: Awaited<ReturnType<Harness['team']>>;
  let teamB: Awaited<ReturnType<Harness['team']>>;
  let artifactsRoot: string;

  const upload = (
    clients: Clients,
    messages: readonly UploadSnapshotRequest[],
    ending: StreamEnding = 'end',
    beforeEnding?: () => Promise<void>,
  ) => clientStream(uploadSnapshot(clients), clients.metadata, messages, ending, beforeEnding);
  const uploadBytes = (clients: Clients, bytes: Buffer, workspace = 'team-a') =>
    upload(clients, [header(bytes, { workspace }), ...chunks(bytes)]);
  const get = (clients: Clients, digest: string, workspace = 'team-a') =>
    call(clients.snapshots, clients.snapshots.getSnapshot, { workspace, digest }, clients.metadata);

  const zip = randomBytes(5 * CHUNK + 17);

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

  it('asks first: NOT_FOUND, upload, found, and a second upload is deduplicated', async () => {
    const digest = sha256Digest(zip);
    const missing = await failure(get(teamA.reader, digest));
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toBe(`snapshot '${digest}' not found`);

    const blobs = await countBlobs(artifactsRoot);
    const uploaded = await uploadBytes(teamA.deployer, zip);
    expect(uploaded.deduplicated).toBe(false);
    expect(uploaded.snapshot).toMatchObject({ workspace: 'team-a', digest, sizeBytes: zip.length });
    expect(await countBlobs(artifactsRoot)).toBe(blobs + 1);

    const found = (await get(teamA.reader, digest)).snapshot!;
    expect(found).toMatchObject({ digest, sizeBytes: zip.length });
    expect(found.createTime).toEqual(uploaded.snapshot?.createTime);

    const again = await uploadBytes(teamA.deployer, zip);
    expect(again.deduplicated).toBe(true);
    expect(again.snapshot?.createTime).toEqual(uploaded.snapshot?.createTime);
    expect(await countBlobs(artifactsRoot)).toBe(blobs + 1);
  });

  it('answers a known snapshot from the header alone, without waiting for its bytes', async () => {
    // The stream stays open after the header: only an early answer ends this call.
    const answer = await upload(teamA.deployer, [header(zip)], 'open');
    expect(answer.deduplicated).toBe(true);
  });

  it('makes another workspace upload the bytes itself, and stores them once', async () => {
    const digest = sha256Digest(zip);
    expect((await failure(get(teamB.reader, digest, 'team-b'))).code).toBe(status.NOT_FOUND);
    expect((await failure(get(teamB.reader, digest, 'team-a'))).code).toBe(status.NOT_FOUND);
    const blobs = await countBlobs(artifactsRoot);
    const theirs = await uploadBytes(teamB.deployer, zip, 'team-b');
    expect(theirs.deduplicated).toBe(false);
    expect(theirs.snapshot?.workspace).toBe('team-b');
    expect(await countBlobs(artifactsRoot)).toBe(blobs);
    const into = await failure(uploadBytes(teamB.deployer, randomBytes(10), 'team-a'));
    expect(into.code).toBe(status.NOT_FOUND);
  });

  const bytes = Buffer.from('a zip, as far as the server cares');
  const invalid: Array<[string, () => UploadSnapshotRequest[], string]> = [
    ['a chunk before the header', () => [chunk(bytes), header(bytes)], 'header'],
    ['an empty first message', () => [{ part: undefined }], 'header'],
    [
      'a digest without sha256:',
      () => [header(bytes, { digest: 'e'.repeat(64) })],
      'header.digest',
    ],
    ['a short digest', () => [header(bytes, { digest: 'sha256:abc' })], 'header.digest'],
    ['a negative size', () => [header(bytes, { sizeBytes: -1 })], 'header.size_bytes'],
    [
      'bytes that do not match the digest',
      () => [header(bytes, { digest: sha256Digest('other') }), chunk(bytes)],
      'header.digest: digest mismatch',
    ],
    [
      'more bytes than declared',
      () => [header(bytes, { sizeBytes: bytes.length - 1 }), chunk(bytes)],
      'more bytes than header.size_bytes',
    ],
    [
      'fewer bytes than declared (digest right)',
      () => [header(bytes, { sizeBytes: bytes.length + 1 }), chunk(bytes)],
      'header.size_bytes: declared',
    ],
    ['the header twice', () => [header(bytes), chunk(bytes), header(bytes)], 'header: sent twice'],
  ];
  it.each(invalid)('rejects %s with INVALID_ARGUMENT naming it', async (_what, messages, named) => {
    const error = await failure(upload(teamA.deployer, messages()));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toContain(named);
  });

  it('recorded nothing for any of the rejected uploads', async () => {
    expect((await failure(get(teamA.reader, sha256Digest(bytes)))).code).toBe(status.NOT_FOUND);
    // Sanity check of the table: the same bytes, sent right, are taken.
    expect((await uploadBytes(teamA.deployer, bytes)).deduplicated).toBe(false);
  });

  it('refuses a size over the upload limit from the header alone, naming the limit', async () => {
    const big = header(zip, { sizeBytes: LIMIT + 1, digest: sha256Digest('big') });
    const error = await failure(upload(teamA.deployer, [big], 'open'));
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error.details).toContain(`${LIMIT} bytes`);
    expect(error.details).toContain('header.size_bytes');
  });

  it('records nothing for a stream cut after every byte arrived but before it half-closed', async () => {
    const cut = randomBytes(3 * CHUNK);
    const error = await failure(
      upload(teamA.deployer, [header(cut), ...chunks(cut)], 'cancel', () =>
        eventually('every byte arrived', async () =>
          (await partialUploads(artifactsRoot)).includes(cut.length),
        ),
      ),
    );
    expect(error.code).toBe(status.CANCELLED);
    await eventually(
      'the upload was abandoned',
      async () => (await partialUploads(artifactsRoot)).length === 0,
    );
    expect((await failure(get(teamA.reader, sha256Digest(cut)))).code).toBe(status.NOT_FOUND);
  });

  it('lets readers ask but not upload; callers without credential get UNAUTHENTICATED', async () => {
    expect((await get(teamA.reader, sha256Digest(zip))).snapshot?.digest).toBe(sha256Digest(zip));
    const denied = await failure(uploadBytes(teamA.reader, randomBytes(10)));
    expect(denied.code).toBe(status.PERMISSION_DENIED);
    const anonymous = harness.clients(undefined);
    expect((await failure(uploadBytes(anonymous, randomBytes(10)))).code).toBe(
      status.UNAUTHENTICATED,
    );
    expect((await failure(get(anonymous, sha256Digest(zip)))).code).toBe(status.UNAUTHENTICATED);
  });

  it('deploys a webservice that references a registered model and an uploaded snapshot', async () => {
    const weights = Buffer.from('weights');
    const digest = new ModelDigestBuilder()
      .addFile('model.pkl', weights.length)
      .update(weights)
      .digest();
    const registered = await clientStream(registerModel(teamA.deployer), teamA.deployer.metadata, [
      {
        part: {
          $case: 'header',
          header: {
            workspace: 'team-a',
            name: 'sklearn-iris',
            description: '',
            tags: {},
            properties: {},
            digest,
            totalBytes: weights.length,
            fileCount: 1,
          },
        },
      },
      {
        part: {
          $case: 'file',
          file: { path: 'model.pkl', sizeBytes: weights.length, executable: false },
        },
      },
      { part: { $case: 'chunk', chunk: weights } },
    ]);
    const source = randomBytes(2 * CHUNK);
    await uploadBytes(teamA.deployer, source);
    await attachCompute(teamA.admin, 'team-a');
    const deployed = await call(
      teamA.deployer.webservices,
      teamA.deployer.webservices.deployWebservice,
      {
        workspace: 'team-a',
        name: 'iris-svc',
        overwrite: false,
        spec: {
          compute: 'local',
          models: [{ name: 'sklearn-iris', version: 0 }],
          snapshotDigest: sha256Digest(source),
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
        },
      },
      teamA.deployer.metadata,
    );
    const webservice = deployed.webservice!;
    expect(webservice.state).toBe(WebserviceState.WEBSERVICE_STATE_TRANSITIONING);
    expect(webservice.spec?.models).toEqual([
      { name: 'sklearn-iris', version: registered.model?.version },
    ]);
    expect(webservice.spec?.snapshotDigest).toBe(sha256Digest(source));
  });
});
