import { NotFoundError } from '@skiff/errors';
import type { Redis } from 'ioredis';
import { parseRecord } from './json.js';
import { keys } from './keys.js';
import type { ModelRecord, SnapshotRecord } from './records.js';
import { guarded } from './redis.js';

/**
 * Removes one model version and, from the workspace's model-blobs set, the blobs no other
 * version of the workspace lists — atomically, so a version registered meanwhile keeps access
 * to the blobs it shares.
 * KEYS: models hash, model-blobs set. ARGV: field. Returns 1 when the version existed.
 */
const DELETE_MODEL = `
local target = redis.call('HGET', KEYS[1], ARGV[1])
if not target then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local orphaned = {}
for _, file in ipairs(cjson.decode(target)['files']) do orphaned[file['blob']] = true end
for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
  for _, file in ipairs(cjson.decode(raw)['files']) do orphaned[file['blob']] = nil end
end
for blob in pairs(orphaned) do redis.call('SREM', KEYS[2], blob) end
return 1
`;

/**
 * Removes a snapshot record unless it was used at or after the cutoff.
 * KEYS: snapshots hash, snapshot-used hash. ARGV: digest, cutoff ms. Returns 1 when removed.
 */
const DELETE_UNUSED_SNAPSHOT = `
local used = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if used >= tonumber(ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
`;

type ArtifactsMetaClient = Redis & {
  skiffDeleteModel(models: string, blobs: string, field: string): Promise<number>;
  skiffDeleteUnusedSnapshot(
    snapshots: string,
    used: string,
    digest: string,
    cutoffMs: number,
  ): Promise<number>;
};

function withScripts(redis: Redis): ArtifactsMetaClient {
  const client = redis as ArtifactsMetaClient;
  if (typeof client.skiffDeleteModel !== 'function') {
    redis.defineCommand('skiffDeleteModel', { numberOfKeys: 2, lua: DELETE_MODEL });
    redis.defineCommand('skiffDeleteUnusedSnapshot', {
      numberOfKeys: 2,
      lua: DELETE_UNUSED_SNAPSHOT,
    });
  }
  return client;
}

/** Registered model versions of each workspace (the bytes live in the artifact store). */
export class ModelStore {
  private readonly client: ArtifactsMetaClient;

  constructor(private readonly redis: Redis) {
    this.client = withScripts(redis);
  }

  /** Stores a new version of `record.name`: versions auto-increment per name, from 1. */
  async register(record: Omit<ModelRecord, 'version'>): Promise<ModelRecord> {
    return guarded(async () => {
      const version = await this.redis.hincrby(
        keys.modelVersions(record.workspace),
        record.name,
        1,
      );
      const stored: ModelRecord = { ...record, version };
      const multi = this.redis
        .multi()
        .hset(keys.models(record.workspace), field(record.name, version), JSON.stringify(stored));
      // Which blobs the workspace may download (agents fetch models file by file).
      if (record.files.length > 0) {
        multi.sadd(keys.modelBlobs(record.workspace), ...record.files.map((f) => f.blob));
      }
      await multi.exec();
      return stored;
    });
  }

  /** Whether a model file blob (`sha256:<hex>`) belongs to a model registered in `workspace`. */
  async ownsBlob(workspace: string, blob: string): Promise<boolean> {
    return guarded(
      async () => (await this.redis.sismember(keys.modelBlobs(workspace), blob)) === 1,
    );
  }

  /** One version; version 0 means the latest existing one. */
  async get(workspace: string, name: string, version = 0): Promise<ModelRecord | undefined> {
    return guarded(async () => {
      if (version > 0) {
        const raw = await this.redis.hget(keys.models(workspace), field(name, version));
        return raw === null ? undefined : parseRecord<ModelRecord>(raw, 'model');
      }
      const versions = await this.list(workspace, name);
      return versions.at(-1);
    });
  }

  /** @throws NotFoundError naming the model as the caller wrote it. */
  async require(workspace: string, name: string, version = 0): Promise<ModelRecord> {
    const found = await this.get(workspace, name, version);
    if (!found) {
      throw new NotFoundError(
        `model '${name}'${version > 0 ? ` version ${version}` : ''} not found`,
      );
    }
    return found;
  }

  /** Every version, or those of one name, ordered by name then version. */
  async list(workspace: string, name?: string): Promise<ModelRecord[]> {
    return guarded(async () => {
      const all = (await this.redis.hvals(keys.models(workspace))).map((raw) =>
        parseRecord<ModelRecord>(raw, 'model'),
      );
      return all
        .filter((model) => name === undefined || model.name === name)
        .sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
    });
  }

  /** Whether some version anywhere in the workspace has this tree digest. */
  async findByDigest(workspace: string, digest: string): Promise<ModelRecord | undefined> {
    return (await this.list(workspace)).find((model) => model.digest === digest);
  }

  /**
   * Removes one version; false when it did not exist. Its blobs that no other version of the
   * workspace lists stop belonging to the workspace (agents can no longer download them); the
   * bytes stay until the artifact collector sweeps them.
   */
  async delete(workspace: string, name: string, version: number): Promise<boolean> {
    return guarded(
      async () =>
        (await this.client.skiffDeleteModel(
          keys.models(workspace),
          keys.modelBlobs(workspace),
          field(name, version),
        )) === 1,
    );
  }
}

/** Uploaded source snapshots of each workspace, by digest. */
export class SnapshotStore {
  private readonly client: ArtifactsMetaClient;

  constructor(private readonly redis: Redis) {
    this.client = withScripts(redis);
  }

  async get(workspace: string, digest: string): Promise<SnapshotRecord | undefined> {
    return guarded(async () => {
      const raw = await this.redis.hget(keys.snapshots(workspace), digest);
      return raw === null ? undefined : parseRecord<SnapshotRecord>(raw, 'snapshot');
    });
  }

  /** Every snapshot of the workspace, in no particular order. */
  async list(workspace: string): Promise<SnapshotRecord[]> {
    return guarded(async () =>
      (await this.redis.hvals(keys.snapshots(workspace))).map((raw) =>
        parseRecord<SnapshotRecord>(raw, 'snapshot'),
      ),
    );
  }

  /**
   * Records a snapshot; returns false when the workspace had it already. Either way it counts
   * as used at `usedAtMs` (default now).
   */
  async add(record: SnapshotRecord, usedAtMs = Date.now()): Promise<boolean> {
    return guarded(async () => {
      const result = await this.redis
        .multi()
        .hsetnx(keys.snapshots(record.workspace), record.digest, JSON.stringify(record))
        .hset(keys.snapshotsUsed(record.workspace), record.digest, String(usedAtMs))
        .exec();
      return result?.[0]?.[1] === 1;
    });
  }

  /**
   * Marks snapshots as used at `atMs` (asked for, about to be deployed, referenced by a
   * service): the artifact collector removes a snapshot no service references only once it
   * has not been used for its retention. Digests the workspace does not have are ignored.
   */
  async markUsed(workspace: string, digests: readonly string[], atMs = Date.now()): Promise<void> {
    if (digests.length === 0) return;
    await guarded(async () => {
      const records = await this.redis.hmget(keys.snapshots(workspace), ...digests);
      const present = digests.filter((_, index) => records[index] !== null);
      if (present.length === 0) return;
      await this.redis.hset(
        keys.snapshotsUsed(workspace),
        Object.fromEntries(present.map((digest) => [digest, String(atMs)])),
      );
    });
  }

  /**
   * Removes a snapshot record unless it was used at or after `cutoffMs` (checked atomically
   * with the removal, so a client that just asked for it keeps it). True when removed.
   */
  async deleteUnused(workspace: string, digest: string, cutoffMs: number): Promise<boolean> {
    return guarded(
      async () =>
        (await this.client.skiffDeleteUnusedSnapshot(
          keys.snapshots(workspace),
          keys.snapshotsUsed(workspace),
          digest,
          cutoffMs,
        )) === 1,
    );
  }
}

function field(name: string, version: number): string {
  return `${name}@${version}`;
}
