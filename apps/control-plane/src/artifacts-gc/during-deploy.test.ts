import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { FilesystemArtifactStore, sha256Digest } from '@skiff/artifacts';
import {
  AgentServiceClient,
  DeploymentStep,
  Role,
  type DownloadArtifactResponse,
  type UploadSnapshotRequest,
} from '@skiff/proto';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachCompute,
  call,
  minimalSpec,
  startHarness,
  watchDeployment,
  type Harness,
} from '../test-support/harness.js';
import { CHUNK, filesOf, headerFor, type Tree } from '../test-support/model-upload.js';
import { startStandInAgent, type StandInAgent } from '../test-support/stand-in-agent.js';
import { clientStream, registerModel, uploadSnapshot } from '../test-support/uploads.js';

// The collector running back to back, with no grace period at all, against a real control
// plane while models and snapshots are uploaded and deployed and a stand-in agent downloads
// every artifact of each generation (GetDeployment + DownloadArtifact), checking each digest.
// Only pins, records and conditional deletes protect what the deploys need.
describe('artifact collection during deploys', () => {
  let redis: IsolatedRedis;
  let harness: Harness;
  let team: Awaited<ReturnType<Harness['team']>>;
  let agentClient: AgentServiceClient;
  let standIn: StandInAgent;
  const agentMetadata = new Metadata();
  const downloads: Array<{ digest: string; ok: boolean; error?: string }> = [];

  function download(digest: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      const stream = agentClient.downloadArtifact({ workspace: 'team-a', digest }, agentMetadata);
      stream.on('data', (m: DownloadArtifactResponse) => parts.push(Buffer.from(m.chunk)));
      stream.on('end', () => resolve(Buffer.concat(parts)));
      stream.on('error', reject);
    });
  }

  /** What a real agent does mid-deploy: fetch the generation's artifacts and verify them. */
  async function fetchArtifacts(service: string): Promise<void> {
    const deployment = await call(
      agentClient,
      agentClient.getDeployment,
      { workspace: 'team-a', service },
      agentMetadata,
    );
    const digests = [
      deployment.spec!.snapshotDigest,
      ...deployment.models.flatMap((m) => m.files.map((f) => f.blobDigest)),
    ];
    for (const digest of digests) {
      try {
        const bytes = await download(digest);
        const ok = sha256Digest(bytes) === digest;
        downloads.push({ digest, ok });
        if (!ok) throw new Error(`${digest}: the bytes hash to ${sha256Digest(bytes)}`);
      } catch (error) {
        downloads.push({ digest, ok: false, error: String(error) });
        throw error;
      }
    }
  }

  beforeAll(async () => {
    redis = isolatedRedis();
    harness = await startHarness({
      redisUrl: redis.url,
      prefix: redis.prefix,
      env: {
        SKIFF_ARTIFACT_GC_GRACE_SECONDS: '0',
        SKIFF_ARTIFACT_GC_INTERVAL_SECONDS: '0', // the test runs it, back to back
      },
    });
    team = await harness.team('team-a');
    await attachCompute(team.admin, 'team-a', 'local');
    const token = (
      await call(
        team.admin.workspaces,
        team.admin.workspaces.createCredential,
        { workspace: 'team-a', role: Role.ROLE_AGENT, description: 'agent', compute: 'local' },
        team.admin.metadata,
      )
    ).token;
    agentMetadata.set('authorization', `Bearer ${token}`);
    agentClient = new AgentServiceClient(harness.address, credentials.createInsecure());
    standIn = startStandInAgent({
      redisUrl: redis.url,
      prefix: redis.prefix,
      workspace: 'team-a',
      midDeploy: (service) => fetchArtifacts(service),
    });
  });
  afterAll(async () => {
    await standIn.close();
    agentClient.close();
    await harness.stop();
    const admin = new Redis(redis.url);
    const users = (await admin.call('ACL', 'USERS')) as string[];
    for (const user of users.filter((name) => name.startsWith(redis.prefix))) {
      await admin.call('ACL', 'DELUSER', user);
    }
    admin.disconnect();
    await redis.cleanup();
  });

  const register = (name: string, tree: Tree) =>
    clientStream(registerModel(team.deployer), team.deployer.metadata, [
      headerFor(name, tree),
      ...filesOf(tree),
    ]);

  async function upload(zip: Buffer): Promise<string> {
    const digest = sha256Digest(zip);
    const messages: UploadSnapshotRequest[] = [
      { part: { $case: 'header', header: { workspace: 'team-a', digest, sizeBytes: zip.length } } },
    ];
    for (let start = 0; start < zip.length; start += CHUNK) {
      messages.push({ part: { $case: 'chunk', chunk: zip.subarray(start, start + CHUNK) } });
    }
    await clientStream(uploadSnapshot(team.deployer), team.deployer.metadata, messages);
    return digest;
  }

  it('never deletes what a deploy needs, while it sweeps what nothing needs', async () => {
    const artifacts = await FilesystemArtifactStore.open({
      root: join(harness.dataDir, 'artifacts'),
    });
    // Garbage from before: a deleted model's own file, and the first file of a failed upload.
    const scratch = randomBytes(3 * CHUNK);
    await register('scratch', { 'scratch.bin': scratch });
    await call(
      team.deployer.models,
      team.deployer.models.deleteModel,
      { workspace: 'team-a', name: 'scratch', version: 1 },
      team.deployer.metadata,
    );
    const firstOfFailed = randomBytes(2 * CHUNK);
    const failedTree = { 'a.bin': firstOfFailed, 'b.bin': randomBytes(2 * CHUNK) };
    await expect(
      clientStream(
        registerModel(team.deployer),
        team.deployer.metadata,
        // b.bin never arrives: the client goes away after a.bin.
        [headerFor('failed', failedTree), ...filesOf({ 'a.bin': firstOfFailed })],
        'cancel',
      ),
    ).rejects.toThrow();

    let collecting = true;
    let runs = 0;
    const collector = (async () => {
      while (collecting) {
        if (await harness.controlPlane.artifactGc.runOnce()) runs += 1;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();

    try {
      const shared = randomBytes(5 * CHUNK); // in every version: deduplicated each time
      for (let generation = 1; generation <= 3; generation++) {
        await register('iris', {
          'shared.bin': shared,
          [`weights-${generation}.bin`]: randomBytes(4 * CHUNK + generation),
        });
        const snapshot = await upload(randomBytes(6 * CHUNK + generation));
        await call(
          team.deployer.webservices,
          team.deployer.webservices.deployWebservice,
          {
            workspace: 'team-a',
            name: 'iris',
            spec: minimalSpec({ models: [{ name: 'iris', version: 0 }], snapshotDigest: snapshot }),
            overwrite: true,
          },
          team.deployer.metadata,
        );
        const events = await watchDeployment(team.deployer, 'team-a', 'iris', generation);
        expect(events.at(-1)?.step, JSON.stringify(downloads.filter((d) => !d.ok))).toBe(
          DeploymentStep.DEPLOYMENT_STEP_HEALTHY,
        );
      }
    } finally {
      collecting = false;
      await collector;
    }

    expect(runs).toBeGreaterThan(0);
    expect(downloads.filter((d) => !d.ok)).toEqual([]);
    // Three generations: a snapshot and two model files each.
    expect(downloads.length).toBe(9);
    await harness.controlPlane.artifactGc.runOnce();
    expect(await artifacts.has(sha256Digest(scratch))).toBe(false);
    expect(await artifacts.has(sha256Digest(firstOfFailed))).toBe(false);
    for (const { digest } of downloads) expect(await artifacts.has(digest)).toBe(true);
    await artifacts.close();
  });
});
