// One `skiff up` per data directory: `<dataDir>/up.lock` names the running supervisor (pid +
// start time) and the processes it started, so a second start fails with a clear sentence and
// `skiff down` knows what to stop — even after the supervisor itself was killed with -9.
import { open, rm } from 'node:fs/promises';
import { z } from 'zod';
import { readJsonFile, writePrivateJson, type DataDir } from './data-dir.js';
import { isRunning, selfIdentity, type ProcessIdentity } from './processes.js';

const identity = z.object({ pid: z.number().int(), start: z.string() });

const lockRecord = z.object({
  pid: z.number().int(),
  start: z.string(),
  startedAt: z.string(),
  /** The processes started (app name → identity), updated on every (re)start. */
  children: z.record(z.string(), identity),
});
export type LockRecord = z.infer<typeof lockRecord>;

/** A data directory another running `skiff up` holds. */
export class DataDirBusyError extends Error {
  override readonly name = 'DataDirBusyError';
}

/** The lock of a running `skiff up`; `release()` when stopped. */
export class UpLock {
  private children: Record<string, ProcessIdentity> = {};
  private writes: Promise<void> = Promise.resolve();
  private released = false;

  private constructor(
    private readonly dataDir: DataDir,
    private readonly record: Omit<LockRecord, 'children'>,
  ) {}

  /**
   * Takes the data directory. A lock whose holder no longer runs is stale and is returned as
   * `stale` (its children may still run: the caller stops them) and replaced.
   *
   * @throws DataDirBusyError when a running `skiff up` holds it.
   */
  static async acquire(dataDir: DataDir): Promise<{ lock: UpLock; stale?: LockRecord }> {
    const self = await selfIdentity();
    const record = { ...self, startedAt: new Date().toISOString() };
    let stale: LockRecord | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // O_EXCL: of two starts at the same moment exactly one creates the file.
        const handle = await open(dataDir.lockFile, 'wx', 0o600);
        try {
          await handle.writeFile(`${JSON.stringify({ ...record, children: {} }, null, 2)}\n`);
        } finally {
          await handle.close();
        }
        return { lock: new UpLock(dataDir, record), ...(stale ? { stale } : {}) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readLock(dataDir);
      if (holder && (await isRunning(holder))) {
        throw new DataDirBusyError(
          `skiff up is already running on ${dataDir.path} (pid ${holder.pid}, started ${holder.startedAt}): ` +
            `stop it with 'skiff down --data-dir ${dataDir.path}', or use another --data-dir`,
        );
      }
      stale ??= holder;
      await rm(dataDir.lockFile, { force: true });
    }
    throw new DataDirBusyError(`could not take ${dataDir.lockFile}: another skiff up is starting`);
  }

  /** Records the current process of app `name` (written at once: a kill -9 may follow). */
  setChild(name: string, child: ProcessIdentity | undefined): Promise<void> {
    if (child) this.children[name] = child;
    else delete this.children[name];
    const record = { ...this.record, children: { ...this.children } };
    // Writes in order, and none after release (it would bring the lock back).
    this.writes = this.writes.then(async () => {
      if (!this.released) await writePrivateJson(this.dataDir.lockFile, record);
    });
    return this.writes;
  }

  /** Removes the lock file. */
  async release(): Promise<void> {
    this.released = true;
    await this.writes.catch(() => undefined);
    await rm(this.dataDir.lockFile, { force: true });
  }
}

/** The lock record, or undefined when none (or a damaged one) is there. */
export function readLock(dataDir: DataDir): Promise<LockRecord | undefined> {
  return readJsonFile(dataDir.lockFile, lockRecord);
}
