import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { guarded } from './redis.js';
import { rangeAfter } from './streams.js';

/** One audited action. */
export interface AuditRecord {
  /** Stream id; empty before it is stored. */
  id: string;
  time: string;
  actor: string;
  workspace: string;
  action: string;
  target: string;
  outcome: string;
  requestId: string;
}

/** Who did what, when: a capped Redis Stream shared by all workspaces. */
export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly maxEvents = 100_000,
  ) {}

  async append(record: Omit<AuditRecord, 'id'>): Promise<void> {
    await guarded(() =>
      this.redis.xadd(
        keys.audit(),
        'MAXLEN',
        '~',
        this.maxEvents,
        '*',
        'j',
        JSON.stringify(record),
      ),
    );
  }

  /** Events after `afterId` (exclusive), oldest first, optionally of one workspace. */
  async list(options: {
    workspace?: string;
    afterId?: string;
    limit: number;
  }): Promise<AuditRecord[]> {
    return guarded(async () => {
      const out: AuditRecord[] = [];
      let cursor = options.afterId ?? '';
      for (;;) {
        const batch = await rangeAfter(this.redis, keys.audit(), cursor, 1_000);
        for (const [id, fields] of batch) {
          cursor = id;
          const record = { ...(JSON.parse(fields['j'] ?? '{}') as Omit<AuditRecord, 'id'>), id };
          if (options.workspace === undefined || record.workspace === options.workspace)
            out.push(record);
          if (out.length === options.limit) return out;
        }
        if (batch.length < 1_000) return out;
      }
    });
  }
}
