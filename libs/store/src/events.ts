import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { guarded } from './redis.js';
import { rangeAfter } from './streams.js';

/** One deployment progress event as stored (the API's DeploymentEvent in its JSON mapping). */
export interface StoredDeploymentEvent {
  generation: number;
  /** 1, 2, ... per generation. */
  sequence: number;
  /** The event without generation and sequence, as the control plane wrote it. */
  event: Record<string, unknown>;
}

/** Generations whose sequence counters are kept besides the newest (older ones are pruned). */
const SEQUENCES_KEPT = 8;
/** How long a once-marker is kept: longer than any job event can be redelivered. */
const ONCE_TTL_SECONDS = 86_400;

/**
 * Appends an event for a service that still exists: assigns the generation's next sequence
 * number and adds it to the service's capped event stream in one atomic step.
 * KEYS: stream, sequence hash, services hash, once-markers (a sorted set by time). ARGV:
 * generation, event JSON, stream max length, service name, once-id ('' = none), '1' = only while the
 * generation is not applied yet. Returns the sequence, or 0 when nothing was appended.
 */
const APPEND = `
local raw = redis.call('HGET', KEYS[3], ARGV[4])
if not raw then return 0 end
local generation = tonumber(ARGV[1])
if ARGV[6] == '1' and cjson.decode(raw)['appliedGeneration'] >= generation then return 0 end
if ARGV[5] ~= '' then
  local now = tonumber(redis.call('TIME')[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - ${ONCE_TTL_SECONDS})
  if redis.call('ZSCORE', KEYS[4], ARGV[5]) then return 0 end
  redis.call('ZADD', KEYS[4], now, ARGV[5])
end
local seq = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
if seq == 1 then
  for _, field in ipairs(redis.call('HKEYS', KEYS[2])) do
    if tonumber(field) <= generation - ${SEQUENCES_KEPT} then redis.call('HDEL', KEYS[2], field) end
  end
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'g', ARGV[1], 's', seq, 'e', ARGV[2])
return seq
`;

type EventClient = Redis & {
  skiffAppendEvent(
    stream: string,
    seqKey: string,
    services: string,
    onceKey: string,
    generation: number,
    event: string,
    maxLen: number,
    service: string,
    onceId: string,
    unappliedOnly: '0' | '1',
  ): Promise<number>;
};

/** Options of {@link DeploymentEventLog.append}. */
export interface AppendOptions {
  /**
   * Records the event at most once per id (for a day): the same job event delivered to
   * several control planes, or applied again by the reconciler, appends once.
   */
  onceId?: string;
  /** Drop the event when its generation is applied already (late progress). */
  unappliedOnly?: boolean;
}

/** Deployment events per service, kept so late or reconnecting watchers get the history. */
export class DeploymentEventLog {
  private readonly client: EventClient;

  constructor(
    redis: Redis,
    private readonly maxEventsPerService = 5_000,
  ) {
    this.client = redis as EventClient;
    if (typeof this.client.skiffAppendEvent !== 'function') {
      redis.defineCommand('skiffAppendEvent', { numberOfKeys: 4, lua: APPEND });
    }
  }

  /**
   * Appends and returns the event's sequence number within its generation, or 0 when nothing
   * was appended: the service is gone (a late event never re-creates a purged service's
   * keys), the once-id was recorded already, or the generation is applied and the event was
   * `unappliedOnly`.
   */
  async append(
    workspace: string,
    service: string,
    generation: number,
    event: Record<string, unknown>,
    options: AppendOptions = {},
  ): Promise<number> {
    return guarded(() =>
      this.client.skiffAppendEvent(
        keys.serviceEvents(workspace, service),
        keys.serviceEventSeq(workspace, service),
        keys.services(workspace),
        keys.serviceEventOnce(workspace, service),
        generation,
        JSON.stringify(event),
        this.maxEventsPerService,
        service,
        options.onceId ?? '',
        options.unappliedOnly ? '1' : '0',
      ),
    );
  }

  /**
   * Events of one generation with a sequence above `afterSequence`, and the stream position to
   * pass back as `afterStreamId` to read only newer ones.
   */
  async read(
    workspace: string,
    service: string,
    generation: number,
    afterSequence: number,
    afterStreamId = '',
  ): Promise<{ events: StoredDeploymentEvent[]; lastStreamId: string }> {
    return guarded(async () => {
      const events: StoredDeploymentEvent[] = [];
      let lastStreamId = afterStreamId;
      for (;;) {
        const batch = await rangeAfter(
          this.client,
          keys.serviceEvents(workspace, service),
          lastStreamId,
          500,
        );
        for (const [id, fields] of batch) {
          lastStreamId = id;
          const g = Number(fields['g']);
          const s = Number(fields['s']);
          if (g !== generation || s <= afterSequence) continue;
          events.push({
            generation: g,
            sequence: s,
            event: JSON.parse(fields['e'] ?? '{}') as Record<string, unknown>,
          });
        }
        if (batch.length < 500) return { events, lastStreamId };
      }
    });
  }
}
