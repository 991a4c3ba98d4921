// Fetching artifacts before start-up: a snapshot over loopback HTTP and 1,000 models from
// file: URLs, every digest verified. Slow-ish (1,000 small files); the real server as a process.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelDigest } from '@skiff/hashing';
import yazl from 'yazl';
import { FIXTURES, score, startReplica } from './test-support/replica-process.js';

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const MODELS = 1_000;

describe('artifacts fetched at start-up', () => {
  let dir: string;
  let server: Server;
  let snapshotUrl: string;
  let snapshotDigest: string;
  let models: { name: string; version: number; url: string; digest: string }[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'skiff-models-test-'));
    // The snapshot: a zip of a source directory, served by a loopback HTTP server.
    const zip = new yazl.ZipFile();
    zip.addBuffer(await readFile(`${FIXTURES}python/many_models.py`), 'score.py');
    zip.addBuffer(Buffer.from('# a helper module\n'), 'lib/helper.py');
    zip.end();
    const snapshotPath = join(dir, 'snapshot.zip');
    await new Promise<void>((resolve, reject) =>
      zip.outputStream
        .pipe(createWriteStream(snapshotPath))
        .on('finish', resolve)
        .on('error', reject),
    );
    const snapshot = await readFile(snapshotPath);
    snapshotDigest = sha256(snapshot);
    server = createServer((request, response) => {
      if (request.url === '/snapshot.zip') response.end(snapshot);
      else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    snapshotUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/snapshot.zip`;

    // 1,000 registered models, each a single small JSON file.
    await mkdir(join(dir, 'store'));
    models = await Promise.all(
      Array.from({ length: MODELS }, async (_, i) => {
        const name = `model-${String(i).padStart(4, '0')}`;
        const bytes = Buffer.from(JSON.stringify({ id: i }));
        const file = join(dir, 'store', `${name}.json`);
        await writeFile(file, bytes);
        // A model's digest is its file tree's, as registered (not the download's bytes).
        return { name, version: 1, url: pathToFileURL(file).href, digest: await modelDigest(file) };
      }),
    );
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('unpacks the snapshot and lays out 1,000 model folders for Model.get_model_path', async () => {
    const list = join(dir, 'models.json');
    await writeFile(list, JSON.stringify(models));
    const work = join(dir, 'work');
    const replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: 'score.py',
        SKIFF_SNAPSHOT_URL: snapshotUrl,
        SKIFF_SNAPSHOT_DIGEST: snapshotDigest,
        SKIFF_MODELS_FILE: list,
        SKIFF_WORK_DIR: work,
      },
      { until: 'ready' },
    );
    try {
      await replica.waitForLog((l) => l.msg === 'loaded 1000 models');
      const result = await score(replica, { model: 'model-0042' });
      expect(result.json).toEqual({
        models: MODELS,
        model: { id: 42 },
        path: join(work, 'models', 'model-0042', '1', 'model-0042.json'),
      });
      expect(await readFile(join(work, 'source', 'lib', 'helper.py'), 'utf8')).toBe(
        '# a helper module\n',
      );
    } finally {
      await replica.stop();
    }
  });

  it('refuses to start when a model does not match its digest, naming it', async () => {
    const tampered = models.slice(0, 3).map((m) => ({ ...m }));
    tampered[1] = { ...tampered[1]!, digest: sha256(Buffer.from('something else')) };
    // The tree digest is checked after unpacking, so the message names what the tree hashes to.
    const replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/behaviours.py`,
        SKIFF_MODELS: JSON.stringify(tampered),
      },
      { until: 'exit' },
    );
    expect(await replica.exited).toEqual({ code: 1, signal: null });
    const fatal = await replica.waitForLog((l) => l.level === 60);
    expect(fatal.msg).toContain(`digest mismatch for ${tampered[1]!.url}`);
    expect(fatal.msg).toContain(`expected ${tampered[1]!.digest}, got ${models[1]!.digest}`);
  });

  it('refuses to start with an invalid environment, naming the variable', async () => {
    const replica = await startReplica(
      {
        SKIFF_ENTRY_SCRIPT: `${FIXTURES}python/behaviours.py`,
        SKIFF_MAX_CONCURRENT_REQUESTS: 'many',
      },
      { until: 'exit' },
    );
    expect(await replica.exited).toEqual({ code: 2, signal: null });
    const fatal = await replica.waitForLog((l) => l.level === 60);
    expect(fatal.msg).toBe(
      "invalid configuration: SKIFF_MAX_CONCURRENT_REQUESTS: expected an integer from 1 to 1000, got 'many'",
    );
  });
});
