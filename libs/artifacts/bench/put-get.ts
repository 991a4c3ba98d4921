// Throughput of put and open for each backend, on loopback only:
//   node --import tsx libs/artifacts/bench/put-get.ts [MiB=200]
// Filesystem in a temp dir; Azure Blob against an in-memory Azurite it starts itself. Prints a
// table and the ratio Azure/filesystem. Not run by the tests (no assertion on time anywhere).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AzureBlobArtifactStore } from '../src/azure-blob-store.js';
import { type ArtifactStore } from '../src/artifact-store.js';
import { FilesystemArtifactStore } from '../src/filesystem-store.js';
import { startAzurite } from '../src/test-support/azurite-server.js';
import { generated, generatedDigest } from '../src/test-support/sources.js';

const mib = Number(process.argv[2] ?? 200);
const total = mib * 1024 * 1024;

async function measure(name: string, store: ArtifactStore, withDigest: boolean): Promise<Row> {
  const expectedDigest = withDigest ? await generatedDigest(total, 1024 * 1024) : undefined;
  let start = performance.now();
  const { digest } = await store.put(
    generated(total, undefined, 1024 * 1024),
    expectedDigest ? { expectedDigest } : {},
  );
  const putMs = performance.now() - start;
  start = performance.now();
  let read = 0;
  for await (const chunk of await store.open(digest)) read += chunk.byteLength;
  const getMs = performance.now() - start;
  if (read !== total) throw new Error(`read ${read} of ${total} bytes`);
  await store.delete(digest);
  return { backend: name, putMiBps: mib / (putMs / 1000), getMiBps: mib / (getMs / 1000) };
}

interface Row {
  backend: string;
  putMiBps: number;
  getMiBps: number;
}

const rows: Row[] = [];
const root = await mkdtemp(join(tmpdir(), 'skiff-bench-artifacts-'));
const azurite = await startAzurite();
try {
  const fs = await FilesystemArtifactStore.open({ root });
  rows.push(await measure('filesystem', fs, false));
  rows.push(await measure('filesystem (expectedDigest)', fs, true));
  const blob = await AzureBlobArtifactStore.connect({
    container: 'bench',
    connectionString: azurite.connectionString,
  });
  rows.push(await measure('azure-blob/Azurite (expectedDigest)', blob, true));
  rows.push(await measure('azure-blob/Azurite (no digest: temp + copy)', blob, false));
} finally {
  await azurite.stop();
  await rm(root, { recursive: true, force: true });
}
console.log(`put/open of ${mib} MiB (verifyOnRead on), MiB/s`);
console.table(
  rows.map((r) => ({
    backend: r.backend,
    put: r.putMiBps.toFixed(0),
    open: r.getMiBps.toFixed(0),
  })),
);
