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

/**
 * Appends an event: assigns the generation's next sequence number and adds it to the
 * service's capped event stream in one atomic step.
 */
const APPEND = `
local seq = redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'g', ARGV[1], 's', seq, 'e', ARGV[2])
return seq
`;

type EventClient = Redis & {
  skiffAppendEvent(
    stream: string,
    seqKey: string,
    generation: number,
    event: string,
    maxLen: number,
  ): Promise<number>;
};

/** Deployment events per service, kept so late or reconnecting watchers get the history. */
export class DeploymentEventLog {
  private readonly client: EventClient;

  constructor(
    redis: Redis,
    private readonly maxEventsPerService = 5_000,
  ) {
    this.client = redis as EventClient;
    if (typeof this.client.skiffAppendEvent !== 'function') {
      redis.defineCommand('skiffAppendEvent', { numberOfKeys: 2, lua: APPEND });
    }
  }

  /** Appends and returns the event's sequence number within its generation. */
  async append(
    workspace: string,
    service: string,
    generation: number,
    event: Record<string, unknown>,
  ): Promise<number> {
    return guarded(() =>
      this.client.skiffAppendEvent(
        keys.serviceEvents(workspace, service),
        keys.serviceEventSeq(workspace, service),
        generation,
        JSON.stringify(event),
        this.maxEventsPerService,
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
