// Finding and stopping a replica's processes without trusting a bare pid: a pid read from disk
// may belong to another process by now (the replica died, the pid was reused). On Linux a
// process is identified by pid + start time (/proc/<pid>/stat field 22), and all processes of a
// replica — launcher, scoring server, Python workers, whatever the entry script started — carry
// SKIFF_REPLICA_ID=<id> in their environment (/proc/<pid>/environ). Elsewhere only the pid is
// checked (documented limitation: no /proc, no pid-reuse guard).
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

const HAS_PROC = existsSync('/proc/self/stat');

/** A process as recorded: pid and its start time ('' where it cannot be read). */
export interface ProcessIdentity {
  readonly pid: number;
  readonly start: string;
}

/**
 * The start time of `pid` ("clock ticks since boot" on Linux, '' elsewhere), or undefined when
 * no such process runs. A zombie counts as gone: it has exited and only waits to be reaped.
 */
export async function processStart(pid: number): Promise<string | undefined> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (!HAS_PROC) return signalable(pid) ? '' : undefined;
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain ') '.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X') return undefined;
  return fields[19] ?? '';
}

/** Whether the recorded process still runs (same pid and the same start time). */
export async function isRunning(identity: ProcessIdentity): Promise<boolean> {
  const start = await processStart(identity.pid);
  return start !== undefined && (identity.start === '' || start === identity.start);
}

/** Sends `signal` to `pid` (a negative pid: its process group); false when nothing received it. */
export function sendSignal(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Every process whose environment has SKIFF_REPLICA_ID=<replicaId> (Linux; [] elsewhere). */
export async function replicaProcesses(replicaId: string): Promise<number[]> {
  if (!HAS_PROC) return [];
  const found: number[] = [];
  const entries = await readdir('/proc');
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return;
      let environ: Buffer;
      try {
        environ = await readFile(`/proc/${entry}/environ`);
      } catch {
        return; // gone, or another user's
      }
      if (hasReplicaId(environ, replicaId)) found.push(Number(entry));
    }),
  );
  return found.filter((pid) => pid !== process.pid);
}

/** Whether `pid` carries the replica id in its environment (always true without /proc). */
export async function carriesReplicaId(pid: number, replicaId: string): Promise<boolean> {
  if (!HAS_PROC) return true;
  try {
    const environ = await readFile(`/proc/${pid}/environ`);
    return hasReplicaId(environ, replicaId);
  } catch {
    return false;
  }
}

function hasReplicaId(environ: Buffer, replicaId: string): boolean {
  const entry = Buffer.from(`SKIFF_REPLICA_ID=${replicaId}\0`);
  if (environ.subarray(0, entry.length).equals(entry)) return true;
  return environ.includes(Buffer.concat([Buffer.from([0]), entry]));
}

/**
 * SIGKILLs everything of one replica — the launcher's process group when the launcher is still
 * the recorded one, and every process carrying the replica id — and waits until they are gone
 * (at most `waitMs`), so a caller that removes the replica's files next leaves nothing behind.
 */
export async function killReplica(
  replicaId: string,
  launcher: ProcessIdentity | undefined,
  waitMs = 5_000,
): Promise<void> {
  if (launcher && launcher.pid > 0 && (await isRunning(launcher))) {
    sendSignal(-launcher.pid, 'SIGKILL');
    sendSignal(launcher.pid, 'SIGKILL');
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const pids = await replicaProcesses(replicaId);
    const alive: number[] = [];
    for (const pid of pids) {
      if ((await processStart(pid)) === undefined) continue;
      sendSignal(pid, 'SIGKILL');
      alive.push(pid);
    }
    const leaderAlive = launcher !== undefined && (await isRunning(launcher));
    if ((alive.length === 0 && !leaderAlive) || Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function signalable(pid: number): boolean {
  // EPERM means another user's process: not a replica this driver started.
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
