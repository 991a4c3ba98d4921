import { NotFoundError } from '@skiff/errors';
import type { Redis } from 'ioredis';
import { parseRecord } from './json.js';
import { keys } from './keys.js';
import { guarded } from './redis.js';

/** One version of a registered environment (an Azure ML v1 environment definition). */
export interface EnvironmentRecord {
  workspace: string;
  name: string;
  /** From 1 per name. */
  version: number;
  /** The API's `Environment` in its JSON mapping, every default filled, no secrets. */
  definition: unknown;
  /** libs/hashing environmentHash of the definition: the image tag deployments get. */
  environmentHash: string;
  /** sha256 over the definition's canonical JSON: equal definitions, equal digests. */
  contentDigest: string;
  createdAt: string;
  createdBy: string;
}

/**
 * Atomically: when the name's latest version has the same content digest, return it
 * ({0, record}); else store the record as the next version ({1, record}). The record arrives
 * without its version and gets it spliced in as the first field, so the JSON is never
 * re-encoded by Lua (cjson would turn empty arrays into objects).
 */
const REGISTER = `
local latest = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if latest > 0 then
  local current = redis.call('HGET', KEYS[1], ARGV[1] .. '@' .. latest)
  if current and cjson.decode(current)['contentDigest'] == ARGV[2] then
    return {0, current}
  end
end
local version = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
local record = '{"version":' .. version .. ',' .. string.sub(ARGV[3], 2)
redis.call('HSET', KEYS[1], ARGV[1] .. '@' .. version, record)
return {1, record}
`;

type EnvironmentClient = Redis & {
  skiffRegisterEnvironment(
    records: string,
    versions: string,
    name: string,
    contentDigest: string,
    record: string,
  ): Promise<[number, string]>;
};

/**
 * Registered environments of each workspace: `ws:<ws>:environments` holds every version's
 * record (field `<name>@<version>`), `ws:<ws>:environment-versions` each name's latest
 * version number.
 */
export class EnvironmentStore {
  private readonly client: EnvironmentClient;

  constructor(redis: Redis) {
    this.client = redis as EnvironmentClient;
    if (typeof this.client.skiffRegisterEnvironment !== 'function') {
      redis.defineCommand('skiffRegisterEnvironment', { numberOfKeys: 2, lua: REGISTER });
    }
  }

  /**
   * Stores `record` as the next version of its name — unless the latest version has the same
   * `contentDigest`, which is then returned with `created: false` (registering is idempotent,
   * also under concurrent calls).
   */
  async register(
    record: Omit<EnvironmentRecord, 'version'>,
  ): Promise<{ record: EnvironmentRecord; created: boolean }> {
    return guarded(async () => {
      const [created, raw] = await this.client.skiffRegisterEnvironment(
        keys.environments(record.workspace),
        keys.environmentVersions(record.workspace),
        record.name,
        record.contentDigest,
        JSON.stringify(record),
      );
      return { record: parseRecord<EnvironmentRecord>(raw, 'environment'), created: created === 1 };
    });
  }

  /** One version; version 0 means the latest. */
  async get(workspace: string, name: string, version = 0): Promise<EnvironmentRecord | undefined> {
    return guarded(async () => {
      const wanted =
        version > 0
          ? version
          : Number((await this.client.hget(keys.environmentVersions(workspace), name)) ?? 0);
      if (wanted === 0) return undefined;
      const raw = await this.client.hget(keys.environments(workspace), `${name}@${wanted}`);
      return raw === null ? undefined : parseRecord<EnvironmentRecord>(raw, 'environment');
    });
  }

  /** @throws NotFoundError naming the environment as the caller wrote it. */
  async require(workspace: string, name: string, version = 0): Promise<EnvironmentRecord> {
    const found = await this.get(workspace, name, version);
    if (!found) {
      throw new NotFoundError(
        `environment '${name}'${version > 0 ? ` version ${version}` : ''} not found`,
      );
    }
    return found;
  }

  /** Every version, or those of one name, ordered by name then version. */
  async list(workspace: string, name?: string): Promise<EnvironmentRecord[]> {
    return guarded(async () => {
      const all = (await this.client.hvals(keys.environments(workspace))).map((raw) =>
        parseRecord<EnvironmentRecord>(raw, 'environment'),
      );
      return all
        .filter((env) => name === undefined || env.name === name)
        .sort((a, b) => a.name.localeCompare(b.name) || a.version - b.version);
    });
  }
}
