// What a `skiff up` leaves running when it could not stop it itself (killed with -9): the
// apps its lock file names (checked by pid + start time) and the replicas of its agent.
import type { DataDir } from './data-dir.js';
import type { LockRecord } from './lock.js';
import { stopRecorded } from './processes.js';
import { stopReplicas } from './replicas.js';

/**
 * Stops the recorded apps still running and every replica of the data directory's agent, in
 * the order LocalPlatform stops them (nothing is left without what it depends on while it
 * runs); returns the names of what it stopped.
 */
export async function stopLeftovers(
  dataDir: DataDir,
  lock: LockRecord | undefined,
  graceMs: number,
): Promise<string[]> {
  const stopped: string[] = [];
  const children = lock?.children ?? {};
  const stopApp = async (name: string) => {
    const child = children[name];
    if (child && (await stopRecorded(child, graceMs))) stopped.push(name);
  };
  await stopApp('router');
  await stopApp('agent');
  const replicas = await stopReplicas(dataDir.agentDir, graceMs);
  if (replicas > 0) stopped.push(`${replicas} replica process(es)`);
  await stopApp('control-plane');
  await stopApp('redis');
  return stopped;
}
