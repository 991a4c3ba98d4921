import { randomBytes } from 'node:crypto';
import { computeQueueName } from '@skiff/queue';
import type { Redis } from 'ioredis';

/** What an agent gets to reach its queue. */
export interface RedisGrant {
  username: string;
  password: string;
  /** BullMQ prefix (no trailing ':'). */
  queuePrefix: string;
}

/**
 * Command categories a BullMQ worker needs, and nothing that administers Redis: the ACL user
 * of an agent may run BullMQ's scripts and blocking reads on its own queue's keys only.
 */
const COMMANDS = [
  '-@all',
  '+@read',
  '+@write',
  '+@keyspace',
  '+@scripting',
  '+@connection',
  '+@transaction',
  '+@blocking',
  '+@stream',
  '+@list',
  '+@hash',
  '+@sortedset',
  '+@string',
  '+@set',
  '-@dangerous',
  // BullMQ checks the server version and names its connections.
  '+info',
  '+client|setname',
  '+client|getname',
];

/** Escapes Redis glob characters so a prefix matches only itself. */
const literal = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/**
 * One Redis ACL user per compute target whose key pattern covers exactly that compute
 * target's BullMQ queue: an agent's credential cannot read the control plane's state or any
 * other compute target's jobs. The password is generated once and kept in the control
 * plane's own keys (which agents cannot read), so every agent of a compute target (a
 * DaemonSet) shares the user and a re-registration never invalidates the others.
 */
export class AgentRedisAccess {
  constructor(
    /** The control plane's state connection (with its key prefix). */
    private readonly redis: Redis,
    /** The state store's key prefix, e.g. 'skiff:'. */
    private readonly statePrefix: string,
    /** BullMQ prefix, e.g. 'skiff:bull'. */
    private readonly queuePrefix: string,
  ) {}

  /** The user name of a compute target's agents. */
  username(workspace: string, compute: string): string {
    return `${this.statePrefix}agent:${workspace}:${compute}`;
  }

  /** Creates or refreshes the compute target's ACL user and returns its credentials. */
  async grant(workspace: string, compute: string): Promise<RedisGrant> {
    const field = `${workspace}/${compute}`;
    // The key prefix of the client applies: this lives under the state store's prefix.
    await this.redis.hsetnx('agent-redis-passwords', field, randomBytes(32).toString('hex'));
    const password = await this.redis.hget('agent-redis-passwords', field);
    if (password === null) throw new Error(`no Redis password for ${field}`);
    const queueKeys = `${literal(this.queuePrefix)}:${literal(computeQueueName(workspace, compute))}`;
    const username = this.username(workspace, compute);
    await this.redis.call(
      'ACL',
      'SETUSER',
      username,
      'reset',
      'on',
      `>${password}`,
      `~${queueKeys}:*`,
      `~${queueKeys}`,
      `&${queueKeys}:*`,
      ...COMMANDS,
    );
    return { username, password, queuePrefix: this.queuePrefix };
  }

  /** Removes the compute target's ACL user (detach). */
  async revoke(workspace: string, compute: string): Promise<void> {
    await this.redis.call('ACL', 'DELUSER', this.username(workspace, compute));
    await this.redis.hdel('agent-redis-passwords', `${workspace}/${compute}`);
  }
}
