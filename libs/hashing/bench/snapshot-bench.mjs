// Snapshot and model-digest throughput and peak memory on a large generated tree, with
// Info-ZIP's `zip` (same deflate level) as the comparison peer. Loopback/disk only.
//
//   node --import tsx libs/hashing/bench/snapshot-bench.mjs [totalMiB=1024]
//
// Prints a table and writes JSON to bench/results/hashing-snapshot.json (gitignored).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const { writeSnapshot, snapshotDigest, modelDigest } = await import(
  fileURLToPath(new URL('../src/index.ts', import.meta.url))
);

const totalMiB = Number(process.argv[2] ?? 1024);
const bigFile = 4 << 20;
const bigCount = Math.max(1, Math.floor((totalMiB << 20) / bigFile));
const smallCount = 2000;

const root = await mkdtemp(join(tmpdir(), 'skiff-bench-snapshot-'));
const tree = join(root, 'tree');
try {
  // Half of the big files incompressible, half text-like, one reused buffer each so the
  // generator itself stays small.
  const random = randomBytes(bigFile);
  const text = Buffer.from(
    'def run(raw_data):\n    return model.predict(raw_data)\n'.repeat(bigFile / 52 + 1),
  ).subarray(0, bigFile);
  for (let i = 0; i < bigCount; i++) {
    const dir = join(tree, `shard-${i % 16}`);
    await mkdir(dir, { recursive: true });
    random.writeUInt32LE(i, 0); // distinct contents
    await writeFile(join(dir, `blob-${i}.bin`), i % 2 === 0 ? random : text);
  }
  for (let i = 0; i < smallCount; i++) {
    const dir = join(tree, 'src', `pkg-${i % 50}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `module_${i}.py`), `X = ${i}\n`.repeat(1 + (i % 500)));
  }
  await writeFile(join(tree, '.amlignore'), '*.pyc\n__pycache__/\n');
  const treeBytes = Number(execFileSync('du', ['-sb', tree]).toString().split('\t')[0]);

  const rows = [];
  const measure = async (name, run) => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const start = process.hrtime.bigint();
    const detail = await run();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    rows.push({
      name,
      seconds: Number(seconds.toFixed(2)),
      mibPerSecond: Number((treeBytes / 2 ** 20 / seconds).toFixed(1)),
      rssGrowthMiB: Number(((peak - before) / 2 ** 20).toFixed(1)),
      ...detail,
    });
  };

  const zipPath = join(root, 'snapshot.zip');
  await measure('writeSnapshot (deflate) to file', async () => {
    const result = await writeSnapshot(tree, createWriteStream(zipPath));
    return { zipMiB: Number((result.size / 2 ** 20).toFixed(1)) };
  });
  await measure('snapshotDigest (stored)', async () => {
    const result = await snapshotDigest(tree, { compress: false });
    return { zipMiB: Number((result.size / 2 ** 20).toFixed(1)) };
  });
  await measure('modelDigest', async () => ({ digest: (await modelDigest(tree)).slice(0, 19) }));
  await measure('peer: zip -X -r -6 (Info-ZIP)', async () => {
    const peerZip = join(root, 'peer.zip');
    execFileSync('zip', ['-X', '-r', '-q', '-6', peerZip, '.'], { cwd: tree });
    return { zipMiB: Number(((await stat(peerZip)).size / 2 ** 20).toFixed(1)) };
  });

  const ours = rows[0].seconds;
  const peer = rows.at(-1).seconds;
  console.log(
    `tree: ${bigCount} x 4 MiB + ${smallCount} small files = ${(treeBytes / 2 ** 20).toFixed(0)} MiB; node ${process.version}`,
  );
  console.table(rows);
  console.log(`writeSnapshot / zip time ratio: ${(ours / peer).toFixed(2)}`);
  console.log(
    `peak RSS of this process (OS maxRSS): ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
  const results = fileURLToPath(new URL('../../../bench/results/', import.meta.url));
  await mkdir(results, { recursive: true });
  await writeFile(
    join(results, 'hashing-snapshot.json'),
    JSON.stringify(
      { treeBytes, node: process.version, rows, maxRssMiB: process.resourceUsage().maxRSS / 1024 },
      null,
      2,
    ),
  );
} finally {
  await rm(root, { recursive: true, force: true });
}
