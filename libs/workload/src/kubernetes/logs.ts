// Replica logs through the pod log API: `timestamps=true` gives each line the kubelet's
// RFC 3339 time with nanoseconds, which orders lines across replicas and lets a follow that
// reconnects skip what it already delivered.
import { Writable } from 'node:stream';
import { Log, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { ReplicaLogLine, ServiceKey } from '../driver.js';
import { SCORING_CONTAINER } from './manifests.js';
import { scoringStatus, serviceKeyOf } from './replicas.js';

/** A log line with the kubelet's timestamp, in nanoseconds since the epoch for ordering. */
export interface TimedLine {
  readonly nanos: bigint;
  readonly time: Date;
  readonly text: string;
}

const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) (.*)$/;

/** Splits `2024-01-02T03:04:05.123456789Z text`; a line without a timestamp gets `fallback`. */
export function parseTimedLine(line: string, fallback: Date): TimedLine {
  const match = STAMPED.exec(line);
  if (!match) return { nanos: BigInt(fallback.getTime()) * 1_000_000n, time: fallback, text: line };
  const seconds = Date.parse(`${match[1] ?? ''}${match[3] ?? 'Z'}`);
  const fraction = (match[2] ?? '').padEnd(9, '0');
  const nanos = BigInt(seconds) * 1_000_000n + BigInt(fraction);
  return {
    nanos,
    time: new Date(seconds + Math.floor(Number(fraction) / 1e6)),
    text: match[4] ?? '',
  };
}

/** Lines of a log body (the last, empty after its newline, dropped). */
export function splitLines(body: string): string[] {
  const lines = body.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) => l.replace(/\r$/, ''));
}

/** A replica log line from a timed line. */
export function replicaLine(pod: V1Pod, line: TimedLine): ReplicaLogLine {
  return {
    replicaId: pod.metadata?.name ?? '',
    time: line.time,
    stream: 'stdout',
    text: line.text,
  };
}

/** Whether the scoring container is running (a follow of its log makes sense). */
export function isRunning(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && scoringStatus(pod)?.state?.running !== undefined;
}

interface Stream {
  readonly restartCount: number;
  abort: (() => void) | undefined;
  done: boolean;
}

/**
 * Follows the scoring container's log of every pod given to {@link LogFollower.update}, from
 * `since` on: opens a follow per running container, re-opens one that ended while its container
 * still runs (or restarted), and delivers each line once.
 */
export class LogFollower {
  readonly #streams = new Map<string, Stream>();
  readonly #last = new Map<string, bigint>();
  readonly #log: Log;
  readonly #pods = new Map<string, V1Pod>();
  readonly #since: Date;
  #closed = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    kubeConfig: KubeConfig,
    private readonly onLines: (key: ServiceKey, lines: ReplicaLogLine[]) => void,
    private readonly retryDelayMs = 1_000,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.#log = new Log(kubeConfig);
    this.#since = new Date();
  }

  /** The pods to follow now (all of the view): starts and stops streams to match. */
  update(pods: readonly V1Pod[]): void {
    if (this.#closed) return;
    const seen = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata?.uid;
      if (!uid || !serviceKeyOf(pod)) continue;
      seen.add(uid);
      this.#pods.set(uid, pod);
      const stream = this.#streams.get(uid);
      const restarts = scoringStatus(pod)?.restartCount ?? 0;
      if (!isRunning(pod)) continue;
      if (stream && !stream.done && stream.restartCount === restarts) continue;
      stream?.abort?.();
      void this.#open(pod, uid, restarts);
    }
    for (const [uid, stream] of this.#streams) {
      if (seen.has(uid)) continue;
      stream.abort?.();
      this.#streams.delete(uid);
      this.#pods.delete(uid);
      this.#last.delete(uid);
    }
  }

  async #open(pod: V1Pod, uid: string, restartCount: number): Promise<void> {
    const stream: Stream = { restartCount, abort: undefined, done: false };
    this.#streams.set(uid, stream);
    const key = serviceKeyOf(pod);
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? '';
    if (!key) return;
    const last = this.#last.get(uid);
    const from = last === undefined ? this.#since : new Date(Number(last / 1_000_000n));
    const floor = last ?? BigInt(this.#since.getTime()) * 1_000_000n - 1n;
    let partial = '';
    const deliver = (text: string) => {
      const lines = splitLines(text)
        .map((l) => parseTimedLine(l, new Date()))
        .filter((l) => l.nanos > (this.#last.get(uid) ?? floor));
      const newest = lines.at(-1);
      if (!newest || this.#closed) return;
      this.#last.set(uid, newest.nanos);
      this.onLines(
        key,
        lines.map((l) => replicaLine(pod, l)),
      );
    };
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        const text = partial + chunk.toString('utf8');
        const cut = text.lastIndexOf('\n');
        partial = cut < 0 ? text : text.slice(cut + 1);
        if (cut >= 0) deliver(text.slice(0, cut + 1));
        callback();
      },
      final(callback) {
        if (partial) deliver(`${partial}\n`);
        callback();
      },
    });
    const ended = () => {
      if (stream.done) return;
      stream.done = true;
      stream.abort = undefined;
      // A follow ends when its container stops; if the pod still runs it, resume.
      const current = this.#pods.get(uid);
      if (this.#closed || !current || this.#streams.get(uid) !== stream) return;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        const pod = this.#pods.get(uid);
        if (pod && isRunning(pod) && this.#streams.get(uid) === stream) {
          void this.#open(pod, uid, scoringStatus(pod)?.restartCount ?? 0);
        }
      }, this.retryDelayMs);
      this.#timers.add(timer);
    };
    sink.on('finish', ended);
    sink.on('error', ended);
    try {
      const controller = await this.#log.log(namespace, name, SCORING_CONTAINER, sink, {
        follow: true,
        timestamps: true,
        sinceTime: from.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
      if (this.#closed || stream.done) controller.abort();
      else stream.abort = () => controller.abort();
    } catch (error) {
      this.onError(error);
      ended();
    }
  }

  /** Stops every stream. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    for (const stream of this.#streams.values()) stream.abort?.();
    this.#streams.clear();
  }
}
