import type { ArtifactStore } from '@skiff/artifacts';
import { WebserviceSpec } from '@skiff/proto';
import type { Store } from '@skiff/store';

/** Options of {@link ArtifactCollector}. */
export interface ArtifactCollectorOptions {
  store: Store;
  artifacts: ArtifactStore;
  /**
   * A blob nothing references is swept only once it was last written (or put again) longer
   * ago than this: it covers whatever names a blob right after storing it without a pin.
   */
  graceMs: number;
  /**
   * A snapshot record no service references is removed once it was not used (uploaded, asked
   * for with GetSnapshot, or referenced by a service at a collection) for this long.
   */
  snapshotRetentionMs: number;
  /**
   * Temp files and uncommitted blocks of uploads are removed once not written for this long
   * (an upload that sends nothing for this long fails). Default: `graceMs`.
   */
  partialUploadIdleMs?: number;
  /** Clock, ms since the epoch (default Date.now). */
  now?: () => number;
}

/** What one collection did. */
export interface CollectionReport {
  /** Workspaces whose models, snapshots and services were read. */
  workspaces: number;
  /** Workspaces whose unreferenced snapshot records were all kept (a rollout in progress). */
  rollingOut: string[];
  snapshotRecordsRemoved: number;
  /** Blobs kept because a model version, snapshot record or upload in progress names them. */
  blobsReferenced: number;
  /** Unreferenced blobs kept because they are younger than the grace period. */
  blobsYoung: number;
  blobsSwept: number;
  bytesSwept: number;
  partialUploadsRemoved: number;
  partialUploadBytesRemoved: number;
}

/**
 * One mark-and-sweep collection of the artifact store.
 *
 * 1. **Snapshot records.** Per workspace, the snapshots its services' specs name are live
 *    (and marked used now). While a service rolls out (applied generation behind the desired
 *    one) the applied generation's spec is no longer stored, so that workspace keeps all its
 *    snapshot records this time. Otherwise a record no spec names, created and last used
 *    before the retention, is removed (the use time is checked atomically with the removal).
 * 2. **Marks**: the pins of uploads in progress — read *before* the records, because an
 *    upload unpins only after its record is written — then every blob any model version of
 *    any workspace lists, and every remaining snapshot record's digest.
 * 3. **Sweep**: every stored blob that is not marked and was last written before
 *    `now - grace` is deleted if it is still the revision listed (a concurrent put of the
 *    same content refreshes it, and then it stays).
 * 4. Partial uploads idle for `partialUploadIdleMs` are removed.
 *
 * Why this is safe: a blob becomes visible only after its upload pinned it, stays pinned
 * until its record exists, and a record naming it is read after the pins. A record that
 * appears after the marks were read names a blob that was pinned (then written after the
 * pins were read, so younger than the cutoff) or refreshed by its put. Running two
 * collections at once is safe too, only wasteful (the loop takes a lease).
 */
export class ArtifactCollector {
  readonly #options: ArtifactCollectorOptions;
  readonly #now: () => number;

  constructor(options: ArtifactCollectorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Runs one collection. Throws when Redis or the artifact store fails midway. */
  async collect(): Promise<CollectionReport> {
    const { store, artifacts, graceMs, snapshotRetentionMs } = this.#options;
    const started = this.#now();
    const cutoff = started - graceMs;
    const report: CollectionReport = {
      workspaces: 0,
      rollingOut: [],
      snapshotRecordsRemoved: 0,
      blobsReferenced: 0,
      blobsYoung: 0,
      blobsSwept: 0,
      bytesSwept: 0,
      partialUploadsRemoved: 0,
      partialUploadBytesRemoved: 0,
    };
    const workspaces = await store.artifactGc.workspaces();
    report.workspaces = workspaces.length;

    for (const workspace of workspaces) {
      report.snapshotRecordsRemoved += await this.#pruneSnapshots(
        workspace,
        started,
        started - snapshotRetentionMs,
        report,
      );
    }

    const marks = await store.artifactGc.pinned(started);
    for (const workspace of workspaces) {
      for (const model of await store.models.list(workspace)) {
        for (const file of model.files) marks.add(file.blob);
      }
      for (const snapshot of await store.snapshots.list(workspace)) marks.add(snapshot.digest);
    }

    for await (const artifact of artifacts.list()) {
      if (marks.has(artifact.digest)) {
        report.blobsReferenced += 1;
      } else if (artifact.modifiedAt.getTime() >= cutoff) {
        report.blobsYoung += 1;
      } else if (await artifacts.deleteIfUnchanged(artifact)) {
        report.blobsSwept += 1;
        report.bytesSwept += artifact.size;
      }
    }

    const idle = this.#options.partialUploadIdleMs ?? graceMs;
    const partial = await artifacts.removeStaleUploads(new Date(started - idle));
    report.partialUploadsRemoved = partial.count;
    report.partialUploadBytesRemoved = partial.bytes;
    return report;
  }

  /** Removes the workspace's superseded snapshot records; returns how many. */
  async #pruneSnapshots(
    workspace: string,
    now: number,
    unusedBefore: number,
    report: CollectionReport,
  ): Promise<number> {
    const { store } = this.#options;
    const services = await store.services.list(workspace);
    const referenced = new Set(
      services
        .map((service) => WebserviceSpec.fromJSON(service.spec).snapshotDigest)
        .filter((digest) => digest !== ''),
    );
    // Referenced counts as used: once a service moves on, its old snapshot stays for the
    // retention (a rollback within it needs no upload).
    await store.snapshots.markUsed(workspace, [...referenced], now);
    const rollingOut = services.some(
      (service) => service.appliedGeneration > 0 && service.appliedGeneration < service.generation,
    );
    if (rollingOut) {
      report.rollingOut.push(workspace);
      return 0;
    }
    let removed = 0;
    for (const record of await store.snapshots.list(workspace)) {
      if (referenced.has(record.digest)) continue;
      if (Date.parse(record.createdAt) >= unusedBefore) continue;
      if (await store.snapshots.deleteUnused(workspace, record.digest, unusedBefore)) removed += 1;
    }
    return removed;
  }
}
