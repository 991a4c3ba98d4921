// `skiff down`: stops the `skiff up` of a data directory from another terminal — or, when that
// supervisor was killed, what it left running.
import { rm } from 'node:fs/promises';
import type { CliIo } from '../io.js';
import type { DataDir } from './data-dir.js';
import { stopLeftovers } from './leftovers.js';
import { readLock } from './lock.js';
import { isRunning, signal, waitGone } from './processes.js';

/** Stops the platform of `dataDir`; returns the exit code (0 also when nothing ran). */
export async function down(io: CliIo, dataDir: DataDir, timeoutMs: number): Promise<number> {
  const lock = await readLock(dataDir);
  if (lock && (await isRunning(lock))) {
    io.out(`Stopping skiff up (pid ${lock.pid}) on ${dataDir.path}…\n`);
    signal(lock.pid, 'SIGTERM');
    if (!(await waitGone([lock], timeoutMs))) {
      io.err(`skiff: pid ${lock.pid} did not stop within ${timeoutMs / 1000} s; killing it\n`);
      signal(lock.pid, 'SIGKILL');
      await waitGone([lock], 5_000);
    }
  }
  // Normally nothing is left; after a kill -9 of the supervisor its children and replicas are.
  const left = await readLock(dataDir);
  const stopped = await stopLeftovers(dataDir, left ?? lock, 5_000);
  if (left) await rm(dataDir.lockFile, { force: true });
  if (stopped.length > 0) io.out(`Stopped what was left running: ${stopped.join(', ')}.\n`);
  if (!lock) {
    if (stopped.length === 0) io.err(`skiff: nothing runs on ${dataDir.path}\n`);
    return 0;
  }
  io.out(`skiff on ${dataDir.path} is down.\n`);
  return 0;
}
