// Data collection at the router: the request and response of each scored call of a service
// with data_collection on, captured while they stream (up to a cap; bodies are never held
// whole) and handed to a collector. The default collector writes one pino line per record.
import type { Logger } from 'pino';

/** Bytes of each body a record keeps; the rest only counts toward `*Bytes`. */
export const COLLECTED_BODY_BYTES = 64 * 1024;

/** One scored request, as recorded (the fields of the scoring server's records, plus ids). */
export interface CollectedRecord {
  readonly time: string;
  readonly workspace: string;
  readonly service: string;
  readonly replica: string | undefined;
  readonly requestId: string;
  readonly clientRequestId: string | undefined;
  readonly status: number;
  readonly durationMs: number;
  readonly input: string;
  readonly inputBytes: number;
  readonly inputTruncated: boolean;
  readonly output: string;
  readonly outputBytes: number;
  readonly outputTruncated: boolean;
}

/** Where records go. Must never block or throw into the request path. */
export interface DataCollector {
  record(record: CollectedRecord): void;
}

/** Writes each record as one log line (`msg: "data collection"`) on `log`. */
export function logCollector(log: Logger): DataCollector {
  return {
    record(record) {
      log.info({ record }, 'data collection');
    },
  };
}

/** Keeps the first {@link COLLECTED_BODY_BYTES} of a stream's chunks and counts the rest. */
export class BodyCapture {
  #chunks: Buffer[] = [];
  #kept = 0;
  bytes = 0;

  add(chunk: Buffer): void {
    this.bytes += chunk.length;
    const room = COLLECTED_BODY_BYTES - this.#kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    // Copy: the chunk's memory is reused once it has been written on.
    this.#chunks.push(Buffer.from(part));
    this.#kept += part.length;
  }

  get truncated(): boolean {
    return this.bytes > this.#kept;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
