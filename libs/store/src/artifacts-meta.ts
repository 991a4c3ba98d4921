import { NotFoundError } from '@skiff/errors';
import type { Redis } from 'ioredis';
import { parseRecord } from './json.js';
import { keys } from './keys.js';
import type { ModelRecord, SnapshotRecord } from './records.js';
import { guarded } from './redis.js';

/** Registered model versions of each workspace (the bytes live in the artifact store). */
export class ModelStore {
  constructor(private readonly redis: Redis) {}

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

  /** Removes one version; false when it did not exist. */
  async delete(workspace: string, name: string, version: number): Promise<boolean> {
    return guarded(
      async () => (await this.redis.hdel(keys.models(workspace), field(name, version))) === 1,
    );
  }
}

/** Uploaded source snapshots of each workspace, by digest. */
export class SnapshotStore {
  constructor(private readonly redis: Redis) {}

  async get(workspace: string, digest: string): Promise<SnapshotRecord | undefined> {
    return guarded(async () => {
      const raw = await this.redis.hget(keys.snapshots(workspace), digest);
      return raw === null ? undefined : parseRecord<SnapshotRecord>(raw, 'snapshot');
    });
  }

  /** Records a snapshot; returns false when the workspace had it already. */
  async add(record: SnapshotRecord): Promise<boolean> {
    return guarded(
      async () =>
        (await this.redis.hsetnx(
          keys.snapshots(record.workspace),
          record.digest,
          JSON.stringify(record),
        )) === 1,
    );
  }
}

function field(name: string, version: number): string {
  return `${name}@${version}`;
}
