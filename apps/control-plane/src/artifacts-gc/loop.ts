import { processLeaseHolder, type Store } from '@skiff/store';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ArtifactCollector, CollectionReport } from './collector.js';

const LEASE = 'artifact-gc';

/** Options of {@link ArtifactGcLoop}. */
export interface ArtifactGcLoopOptions {
  collector: ArtifactCollector;
  store: Store;
  log: Logger;
  /** Time between collections; 0 disables the periodic run (runOnce still works). */
  intervalMs: number;
  /** Where the metrics go (none when absent). */
  registry?: Registry;
}

/**
 * Runs the artifact collector every `intervalMs`, in one control-plane process at a time
 * (the Redis lease `lease:artifact-gc`, renewed while a collection runs), with one log line
 * and metrics per run:
 * `skiff_artifact_gc_swept_total{kind="blob|partial_upload|snapshot_record"}`,
 * `skiff_artifact_gc_swept_bytes_total{kind="blob|partial_upload"}`,
 * `skiff_artifact_gc_runs_total{result="ok|error"}` and
 * `skiff_artifact_gc_last_success_timestamp_seconds`.
 */
export class ArtifactGcLoop {
  readonly #options: ArtifactGcLoopOptions;
  readonly #holder = processLeaseHolder();
  readonly #leaseMs: number;
  readonly #swept: Counter<'kind'> | undefined;
  readonly #sweptBytes: Counter<'kind'> | undefined;
  readonly #runs: Counter<'result'> | undefined;
  readonly #lastSuccess: Gauge | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<CollectionReport | undefined> | undefined;
  #stopped = false;

  constructor(options: ArtifactGcLoopOptions) {
    this.#options = options;
    // Outlives one interval, so a holder that died hands over within about two.
    this.#leaseMs = Math.max(options.intervalMs * 2, 60_000);
    if (options.registry) {
      const registers = [options.registry];
      this.#swept = new Counter({
        name: 'skiff_artifact_gc_swept_total',
        help: 'What the artifact collector removed: blobs, partial uploads, snapshot records.',
        labelNames: ['kind'],
        registers,
      });
      this.#sweptBytes = new Counter({
        name: 'skiff_artifact_gc_swept_bytes_total',
        help: 'Bytes the artifact collector removed: blobs and partial uploads.',
        labelNames: ['kind'],
        registers,
      });
      this.#runs = new Counter({
        name: 'skiff_artifact_gc_runs_total',
        help: 'Artifact collections this process ran, by result.',
        labelNames: ['result'],
        registers,
      });
      this.#lastSuccess = new Gauge({
        name: 'skiff_artifact_gc_last_success_timestamp_seconds',
        help: 'When this process last finished an artifact collection.',
        registers,
      });
    }
  }

  /** Starts the periodic collection (the first one an interval after start). */
  start(): void {
    if (this.#options.intervalMs <= 0) return;
    const loop = () => {
      void this.runOnce()
        .catch(() => undefined) // logged by runOnce
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#options.intervalMs);
        });
    };
    this.#timer = setTimeout(loop, this.#options.intervalMs);
  }

  /**
   * One collection if this process holds (or takes) the lease; undefined when another one
   * does. A call while a collection runs here returns that collection.
   */
  runOnce(): Promise<CollectionReport | undefined> {
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Stops the periodic run and waits for a collection in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #run(): Promise<CollectionReport | undefined> {
    const { store, log, collector } = this.#options;
    if (!(await store.leases.lease(LEASE, this.#holder, this.#leaseMs))) return undefined;
    const renewal = setInterval(() => {
      store.leases.lease(LEASE, this.#holder, this.#leaseMs).catch(() => undefined);
    }, this.#leaseMs / 4);
    const started = Date.now();
    try {
      const report = await collector.collect();
      this.#swept?.inc({ kind: 'blob' }, report.blobsSwept);
      this.#swept?.inc({ kind: 'partial_upload' }, report.partialUploadsRemoved);
      this.#swept?.inc({ kind: 'snapshot_record' }, report.snapshotRecordsRemoved);
      this.#sweptBytes?.inc({ kind: 'blob' }, report.bytesSwept);
      this.#sweptBytes?.inc({ kind: 'partial_upload' }, report.partialUploadBytesRemoved);
      this.#runs?.inc({ result: 'ok' });
      this.#lastSuccess?.setToCurrentTime();
      log.info({ ...report, durationMs: Date.now() - started }, 'artifact collection finished');
      return report;
    } catch (error) {
      this.#runs?.inc({ result: 'error' });
      log.warn(
        { err: error, durationMs: Date.now() - started },
        'artifact collection failed; the next one starts over',
      );
      throw error;
    } finally {
      clearInterval(renewal);
    }
  }
}
