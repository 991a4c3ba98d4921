import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { guarded } from './redis.js';
import { fieldsOf, rangeAfter } from './streams.js';

/** One replica log line. */
export interface LogLineRecord {
  /** Stream id (position); empty before it is stored. */
  id: string;
  /** ISO 8601. */
  time: string;
  replica: string;
  stream: 'stdout' | 'stderr' | 'system';
  text: string;
}

/** Replica logs per service in a capped Redis Stream (agents append, callers tail/follow). */
export class ServiceLogStore {
  constructor(
    private readonly redis: Redis,
    private readonly maxLinesPerService = 10_000,
  ) {}

  async append(
    workspace: string,
    service: string,
    lines: Omit<LogLineRecord, 'id'>[],
  ): Promise<number> {
    if (lines.length === 0) return 0;
    return guarded(async () => {
      const pipeline = this.redis.pipeline();
      for (const line of lines) {
        pipeline.xadd(
          keys.serviceLogs(workspace, service),
          'MAXLEN',
          '~',
          this.maxLinesPerService,
          '*',
          't',
          line.time,
          'r',
          line.replica,
          's',
          line.stream,
          'x',
          line.text,
        );
      }
      await pipeline.exec();
      return lines.length;
    });
  }

  /** The last `count` lines (optionally of one replica), oldest first. */
  async tail(
    workspace: string,
    service: string,
    count: number,
    replica?: string,
  ): Promise<LogLineRecord[]> {
    return guarded(async () => {
      const key = keys.serviceLogs(workspace, service);
      const lines: LogLineRecord[] = [];
      let end = '+';
      // Walk backwards in pages until enough lines of the wanted replica were found.
      for (;;) {
        const page = await this.redis.xrevrange(key, end, '-', 'COUNT', Math.max(count, 100));
        for (const [id, flat] of page) {
          const line = toLine(id, flat);
          if (replica === undefined || line.replica === replica) lines.push(line);
          if (lines.length === count) return lines.reverse();
        }
        const last = page.at(-1);
        if (!last || page.length < Math.max(count, 100)) return lines.reverse();
        end = `(${last[0]}`;
      }
    });
  }

  /** Lines after a position (exclusive), oldest first. */
  async after(
    workspace: string,
    service: string,
    afterId: string,
    replica?: string,
    count = 1_000,
  ): Promise<LogLineRecord[]> {
    return guarded(async () => {
      const entries = await rangeAfter(
        this.redis,
        keys.serviceLogs(workspace, service),
        afterId,
        count,
      );
      return entries
        .map(([id, fields]) => fromFields(id, fields))
        .filter((line) => replica === undefined || line.replica === replica);
    });
  }

  /** Position of the newest line ('0' when there is none). */
  async lastId(workspace: string, service: string): Promise<string> {
    return guarded(async () => {
      const [newest] = await this.redis.xrevrange(
        keys.serviceLogs(workspace, service),
        '+',
        '-',
        'COUNT',
        1,
      );
      return newest?.[0] ?? '0';
    });
  }
}

function toLine(id: string, flat: string[]): LogLineRecord {
  return fromFields(id, fieldsOf(flat));
}

function fromFields(id: string, fields: Record<string, string>): LogLineRecord {
  const stream = fields['s'];
  return {
    id,
    time: fields['t'] ?? '',
    replica: fields['r'] ?? '',
    stream: stream === 'stderr' || stream === 'system' ? stream : 'stdout',
    text: fields['x'] ?? '',
  };
}
