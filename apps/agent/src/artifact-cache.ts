import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, link, mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { extractSnapshot, modelDigest } from '@skiff/hashing';
import type { DeployedModel } from '@skiff/proto';
import type { Logger } from 'pino';

/** Fetches an artifact's bytes by digest (the control plane's DownloadArtifact). */
export type ArtifactSource = (digest: string) => AsyncIterable<Uint8Array>;

/** The bytes of an artifact did not hash to its digest. */
export class ArtifactDigestMismatchError extends Error {
  override readonly name = 'ArtifactDigestMismatchError';
}

const COMPLETE = '.complete';

/**
 * The node-local artifact cache: blobs by digest (downloaded once, verified while they
 * stream), models laid out as the scoring server expects (`models/<name>/<version>/…`,
 * hard links to the blobs, checked against the model's tree digest) and snapshots extracted
 * once per digest. A scale-up or a second service with the same model downloads nothing.
 * Size-bounded: entries not in use are removed least recently used first once the cache
 * holds more than `maxBytes`.
 */
export class ArtifactCache {
  private readonly flights = new Map<string, Promise<string>>();

  constructor(
    private readonly root: string,
    private readonly maxBytes: number,
    private readonly source: ArtifactSource,
    private readonly log: Logger,
  ) {}

  /** The path of a verified blob, downloading it once. */
  blob(digest: string): Promise<string> {
    return this.once(`blob:${digest}`, async () => {
      const path = join(this.root, 'blobs', digest.replace(':', '-'));
      if (await exists(path)) return touch(path);
      await mkdir(dirname(path), { recursive: true });
      const partial = `${path}.${randomUUID()}.partial`;
      const hash = createHash('sha256');
      try {
        const source = this.source(digest);
        await pipeline(
          Readable.from(
            (async function* () {
              for await (const chunk of source) {
                hash.update(chunk);
                yield chunk;
              }
            })(),
          ),
          createWriteStream(partial),
        );
        const actual = `sha256:${hash.digest('hex')}`;
        if (actual !== digest) {
          throw new ArtifactDigestMismatchError(`artifact ${digest} arrived as ${actual}`);
        }
        await rename(partial, path);
      } finally {
        await rm(partial, { force: true });
      }
      this.log.debug({ digest }, 'artifact downloaded');
      return path;
    });
  }

  /** `models/<name>/<version>`, laid out from its blobs and checked against its digest. */
  model(model: DeployedModel): Promise<string> {
    return this.once(`model:${model.name}/${model.version}/${model.digest}`, async () => {
      const dir = join(this.root, 'models', model.name, String(model.version));
      if (await exists(join(dir, COMPLETE))) return touch(dir);
      await rm(dir, { recursive: true, force: true });
      for (const file of model.files) {
        const blob = await this.blob(file.blobDigest);
        const target = join(dir, ...file.path.split('/'));
        await mkdir(dirname(target), { recursive: true });
        await link(blob, target);
        if (file.executable) await chmod(target, 0o755);
      }
      const actual = await modelDigest(dir);
      if (actual !== model.digest) {
        await rm(dir, { recursive: true, force: true });
        throw new ArtifactDigestMismatchError(
          `model ${model.name}:${model.version} laid out as ${actual}, expected ${model.digest}`,
        );
      }
      // The marker is outside the digest's view: written after the check.
      await writeFile(join(dir, COMPLETE), '');
      return dir;
    });
  }

  /** `snapshots/<hex>`: the snapshot zip extracted (the entry script is relative to it). */
  snapshot(digest: string): Promise<string> {
    return this.once(`snapshot:${digest}`, async () => {
      const dir = join(this.root, 'snapshots', digest.replace(':', '-'));
      if (await exists(join(dir, COMPLETE))) return touch(dir);
      await rm(dir, { recursive: true, force: true });
      await extractSnapshot(await this.blob(digest), dir);
      await writeFile(join(dir, COMPLETE), '');
      return dir;
    });
  }

  /**
   * Removes least recently used entries (blobs, models, snapshots) not in `inUse` until the
   * cache fits `maxBytes`. Hard-linked model files count once per link name, so the total is
   * an upper bound.
   */
  async evict(inUse: ReadonlySet<string>): Promise<number> {
    const entries = await this.entries();
    let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    let removed = 0;
    for (const entry of entries.sort((a, b) => a.usedAt - b.usedAt)) {
      if (total <= this.maxBytes) break;
      if (inUse.has(entry.path) || [...inUse].some((path) => path.startsWith(`${entry.path}/`))) {
        continue;
      }
      await rm(entry.path, { recursive: true, force: true });
      total -= entry.bytes;
      removed++;
    }
    if (removed > 0) this.log.info({ removed, bytes: total }, 'artifact cache trimmed');
    return removed;
  }

  private async entries(): Promise<Array<{ path: string; bytes: number; usedAt: number }>> {
    const out: Array<{ path: string; bytes: number; usedAt: number }> = [];
    for (const kind of ['blobs', 'snapshots']) {
      for (const name of await list(join(this.root, kind))) {
        if (name.endsWith('.partial')) continue;
        const path = join(this.root, kind, name);
        out.push({ path, bytes: await sizeOf(path), usedAt: (await stat(path)).mtimeMs });
      }
    }
    for (const name of await list(join(this.root, 'models'))) {
      for (const version of await list(join(this.root, 'models', name))) {
        const path = join(this.root, 'models', name, version);
        out.push({ path, bytes: await sizeOf(path), usedAt: (await stat(path)).mtimeMs });
      }
    }
    return out;
  }

  /** One download/layout per key at a time; concurrent callers share it. */
  private once(key: string, work: () => Promise<string>): Promise<string> {
    let flight = this.flights.get(key);
    if (!flight) {
      flight = work().finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
    }
    return flight;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Marks an entry used now (its mtime orders eviction). */
async function touch(path: string): Promise<string> {
  const now = new Date();
  await utimes(path, now, now);
  return path;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await list(path)) total += await sizeOf(join(path, name));
  return total;
}
