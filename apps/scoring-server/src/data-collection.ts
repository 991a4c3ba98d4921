// Model data collection: each scored request's input and output as one JSON line. It must
// never slow down or fail scoring, so records go into a bounded write buffer and are dropped
// (and counted) when the disk cannot keep up or fails.
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';

/** One scored request, as recorded. */
export interface CollectedRecord {
  readonly time: string;
  readonly requestId: string;
  readonly clientRequestId: string | undefined;
  readonly status: number;
  readonly durationMs: number;
  readonly input: string;
  readonly output: string;
}

/** Where records go; {@link DISABLED_COLLECTOR} when data collection is off. */
export interface DataCollector {
  record(record: CollectedRecord): void;
  close(): Promise<void>;
}

export const DISABLED_COLLECTOR: DataCollector = {
  record: () => undefined,
  close: () => Promise.resolve(),
};

/** Bytes the writer may hold before new records are dropped. */
const MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

/**
 * Appends records to `<dir>/<service>/<replica>.jsonl` (one file per replica, so replicas on a
 * shared volume never interleave writes).
 */
export function createFileCollector(options: {
  dir: string;
  serviceId: string;
  replicaId: string;
  log: Logger;
  onDrop: () => void;
}): DataCollector {
  const folder = join(options.dir, safeName(options.serviceId));
  const path = join(folder, `${safeName(options.replicaId)}.jsonl`);
  let stream: WriteStream | undefined;
  let failed = false;
  try {
    mkdirSync(folder, { recursive: true });
    stream = createWriteStream(path, { flags: 'a' });
    stream.on('error', (error) => {
      if (!failed) options.log.error({ err: error, path }, 'data collection failed; dropping');
      failed = true;
    });
  } catch (error) {
    failed = true;
    options.log.error({ err: error, path }, 'data collection unavailable; dropping records');
  }
  options.log.info({ path }, 'data collection on');
  return {
    record(record) {
      if (!stream || failed || stream.writableLength > MAX_BUFFERED_BYTES) {
        options.onDrop();
        return;
      }
      stream.write(
        JSON.stringify({ service: options.serviceId, replica: options.replicaId, ...record }) +
          '\n',
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!stream || stream.destroyed) return resolve();
        stream.end(() => resolve());
      }),
  };
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}
