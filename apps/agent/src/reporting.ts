import type { SkiffClient } from '@skiff/client';
import { ReplicaPhase, type LogLine, type ReplicaStatus } from '@skiff/proto';
import type { Replica, ReplicaLogLine, ServiceKey, WorkloadDriver } from '@skiff/workload';
import type { Logger } from 'pino';

const PHASES: Record<Replica['phase'], ReplicaPhase> = {
  starting: ReplicaPhase.REPLICA_PHASE_STARTING,
  ready: ReplicaPhase.REPLICA_PHASE_READY,
  failed: ReplicaPhase.REPLICA_PHASE_FAILED,
  terminating: ReplicaPhase.REPLICA_PHASE_TERMINATING,
};

/** A replica as the API reports it. */
export function replicaStatus(replica: Replica): ReplicaStatus {
  return {
    workspace: replica.workspace,
    service: replica.service,
    generation: replica.generation,
    replicaId: replica.id,
    address: replica.address,
    phase: PHASES[replica.phase],
    inFlight: replica.inFlight,
    maxConcurrent: replica.maxConcurrent,
    nodeName: replica.nodeName,
    startTime: replica.startTime,
    restartCount: replica.restartCount,
    message: replica.message,
  };
}

/**
 * Reports every replica of this node to the control plane every interval (a full snapshot
 * each time, so a missed one costs nothing). Runs until stopped; failures are logged and the
 * next interval tries again. `onUnregistered` is called when the control plane no longer
 * knows this agent (re-register). With `nodeName`, only replicas on that node are reported:
 * on Kubernetes the driver lists the whole cluster, and every node's agent reports its own.
 */
export class ReplicaReporter {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: SkiffClient,
    private readonly driver: WorkloadDriver,
    private readonly agentId: () => string,
    private readonly log: Logger,
    private readonly onUnregistered: () => Promise<void>,
    private readonly nodeName?: string,
  ) {}

  start(intervalMs: number): void {
    const tick = () => {
      this.running ??= this.reportOnce().finally(() => (this.running = undefined));
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
  }

  /** Sends one snapshot now. */
  async reportOnce(): Promise<void> {
    try {
      const replicas = (await this.driver.listReplicas())
        .filter((replica) => this.nodeName === undefined || replica.nodeName === this.nodeName)
        .map(replicaStatus);
      await this.client.agents.reportReplicas(
        (async function* (agentId: string) {
          yield { agentId, time: new Date(), replicas };
        })(this.agentId()),
        { timeoutMs: 10_000 },
      );
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'FAILED_PRECONDITION') await this.onUnregistered().catch(() => undefined);
      this.log.warn({ err: error }, 'could not report replicas; trying again next interval');
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

/**
 * Ships replica log lines to the control plane (`skiff service get-logs`): lines are buffered
 * per service and sent every `flushMs` (or at once via {@link flush}); a failed send keeps
 * them for the next attempt, up to `maxBuffered` lines per service (oldest dropped first).
 */
export class LogShipper {
  private readonly buffered = new Map<string, { key: ServiceKey; lines: ReplicaLogLine[] }>();
  private stopFollowing: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: SkiffClient,
    private readonly driver: WorkloadDriver,
    private readonly log: Logger,
    private readonly flushMs = 500,
    private readonly maxBuffered = 5_000,
  ) {}

  start(): void {
    this.stopFollowing = this.driver.followLogs((key, lines) => {
      const id = `${key.workspace}/${key.service}`;
      const entry = this.buffered.get(id) ?? { key, lines: [] };
      entry.lines.push(...lines);
      if (entry.lines.length > this.maxBuffered)
        entry.lines.splice(0, entry.lines.length - this.maxBuffered);
      this.buffered.set(id, entry);
    });
    this.timer = setInterval(() => void this.flush(), this.flushMs);
  }

  /** Sends everything buffered now (waits for a send in progress first). */
  flush(): Promise<void> {
    this.sending = this.sending.then(() => this.sendAll());
    return this.sending;
  }

  async stop(): Promise<void> {
    this.stopFollowing?.();
    clearInterval(this.timer);
    await this.flush();
  }

  private async sendAll(): Promise<void> {
    for (const [id, entry] of [...this.buffered]) {
      if (entry.lines.length === 0) continue;
      const lines = entry.lines.splice(0, 1_000);
      try {
        await this.client.agents.appendLogs(
          [
            {
              workspace: entry.key.workspace,
              service: entry.key.service,
              lines: lines.map(toLogLine),
            },
          ],
          { timeoutMs: 10_000 },
        );
      } catch (error) {
        const code = (error as { code?: string }).code;
        // A deleted service's lines have nowhere to go; anything else is tried again.
        if (code === 'NOT_FOUND' || code === 'PERMISSION_DENIED') {
          this.buffered.delete(id);
        } else {
          entry.lines.unshift(...lines);
          this.log.warn({ err: error, service: id }, 'could not ship replica logs; keeping them');
        }
      }
      if (entry.lines.length === 0) this.buffered.delete(id);
    }
  }
}

function toLogLine(line: ReplicaLogLine): LogLine {
  return { id: '', time: line.time, replica: line.replicaId, stream: line.stream, text: line.text };
}
