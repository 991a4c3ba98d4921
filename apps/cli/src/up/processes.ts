// Processes recorded on disk are identified by pid + start time, never by a bare pid: a pid
// read from a lock file may belong to another process by now. On Linux the start time is
// field 22 of /proc/<pid>/stat; elsewhere only the pid is checked (no pid-reuse guard there).
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const HAS_PROC = existsSync('/proc/self/stat');

/** A process as recorded: its pid and start time ('' where it cannot be read). */
export interface ProcessIdentity {
  readonly pid: number;
  readonly start: string;
}

/** The start time of a running `pid`, or undefined when none runs (a zombie counts as gone). */
export async function processStart(pid: number): Promise<string | undefined> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (!HAS_PROC) {
    try {
      process.kill(pid, 0);
      return '';
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? '' : undefined;
    }
  }
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain ') '.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
  return fields[19] ?? '';
}

/** This process's identity, for the lock file. */
export async function selfIdentity(): Promise<ProcessIdentity> {
  return { pid: process.pid, start: (await processStart(process.pid)) ?? '' };
}

/** Whether the recorded process still runs: same pid, same start time. */
export async function isRunning(identity: ProcessIdentity | undefined): Promise<boolean> {
  if (!identity) return false;
  const start = await processStart(identity.pid);
  return start !== undefined && (identity.start === '' || start === identity.start);
}

/** Sends `signal` (to a process group when `pid` is negative); false when nothing got it. */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a recorded process and its process group (every app runs in its own group): SIGTERM,
 * then SIGKILL after `graceMs`; resolves once it is gone (true) or at once when the recorded
 * process no longer runs (false), so a reused pid is never signalled.
 */
export async function stopRecorded(identity: ProcessIdentity, graceMs: number): Promise<boolean> {
  if (!(await isRunning(identity))) return false;
  if (!signal(-identity.pid, 'SIGTERM')) signal(identity.pid, 'SIGTERM');
  if (await waitGone([identity], graceMs)) return true;
  signal(-identity.pid, 'SIGKILL');
  signal(identity.pid, 'SIGKILL');
  await waitGone([identity], 5_000);
  return true;
}

/** Waits until none of `identities` runs; false when some still run after `timeoutMs`. */
export async function waitGone(
  identities: readonly ProcessIdentity[],
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = await Promise.all(identities.map((identity) => isRunning(identity)));
    if (!alive.includes(true)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

/**
 * Every process whose environment holds one of `variable=value` for the given values
 * (Linux; [] elsewhere), as pid + start time.
 */
export async function processesWithEnv(
  variable: string,
  values: ReadonlySet<string>,
): Promise<ProcessIdentity[]> {
  if (!HAS_PROC || values.size === 0) return [];
  const wanted = [...values].map((value) => Buffer.from(`${variable}=${value}\0`));
  const found: ProcessIdentity[] = [];
  await Promise.all(
    (await readdir('/proc')).map(async (entry) => {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return;
      let environ: Buffer;
      try {
        environ = await readFile(`/proc/${entry}/environ`);
      } catch {
        return; // gone meanwhile, or another user's
      }
      const matches = wanted.some(
        (entry) =>
          environ.subarray(0, entry.length).equals(entry) ||
          environ.includes(Buffer.concat([Buffer.from([0]), entry])),
      );
      if (!matches) return;
      const start = await processStart(Number(entry));
      if (start !== undefined) found.push({ pid: Number(entry), start });
    }),
  );
  return found;
}
