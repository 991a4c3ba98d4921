// One driver per state directory: two supervisors reading the same directories would each see
// the other's new replicas as missing ones of their own and start more. The lock is a file
// naming the holder's pid and start time; a lock whose holder is gone (a killed agent) is taken
// over. Two agents starting at the same instant over a stale lock could both take it; the lock
// guards against a second agent started by mistake, not against that race.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FailedPreconditionError } from '@skiff/errors';
import { isErrno } from './files.js';
import { isRunning, processStart, type ProcessIdentity } from './processes.js';

/** Takes the lock of `stateDir`; resolves with the function that releases it. */
export async function lockStateDir(stateDir: string): Promise<() => Promise<void>> {
  const file = join(stateDir, '.lock');
  const me: ProcessIdentity = { pid: process.pid, start: (await processStart(process.pid)) ?? '' };
  const mine = JSON.stringify(me);
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await writeFile(file, mine, { flag: 'wx', mode: 0o600 });
      return async () => {
        const current = await readFile(file, 'utf8').catch(() => '');
        if (current === mine) await rm(file, { force: true });
      };
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    const holder = await readHolder(file);
    if (holder && (await isRunning(holder))) {
      throw new FailedPreconditionError(
        `${stateDir} is in use by another local process driver (pid ${holder.pid}); open one driver per state directory`,
      );
    }
    await rm(file, { force: true });
  }
  throw new FailedPreconditionError(`could not take the lock of ${stateDir}`);
}

async function readHolder(file: string): Promise<ProcessIdentity | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<ProcessIdentity>;
    return typeof value.pid === 'number' && typeof value.start === 'string'
      ? { pid: value.pid, start: value.start }
      : undefined;
  } catch {
    return undefined;
  }
}
