// Replicas outlive their agent by design (a restarted agent adopts them), so stopping the
// platform stops them explicitly. They are found from the agent's state directory (the local
// driver's `<workspace>/<service>/<service>-g<generation>-<8 hex>/`, libs/workload): every process of a replica — launcher, scoring server, Python workers, what the entry
// script started — carries SKIFF_REPLICA_ID=<directory name>. The next `skiff up` restarts
// them from the same directories.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { processesWithEnv, signal, waitGone } from './processes.js';

const REPLICA_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*-g\d+-[0-9a-f]{8}$/;

async function directories(path: string): Promise<string[]> {
  try {
    return (await readdir(path, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}

/**
 * The ids of every replica directory under the agent's state directory. The agent keeps the
 * driver's directory somewhere inside it (today `replicas/`), so this looks a few levels deep
 * rather than depending on the exact layout.
 */
export async function replicaIds(stateDir: string, depth = 5): Promise<Set<string>> {
  const ids = new Set<string>();
  const walk = async (dir: string, level: number): Promise<void> => {
    for (const entry of await directories(dir)) {
      if (REPLICA_ID.test(entry)) ids.add(entry);
      else if (level < depth && !(level === 1 && entry === 'cache'))
        await walk(join(dir, entry), level + 1);
    }
  };
  await walk(stateDir, 1);
  return ids;
}

/**
 * Stops every process of every replica recorded under `stateDir`: SIGTERM (the scoring server
 * finishes what is in flight), SIGKILL after `graceMs`. Returns how many processes it stopped.
 */
export async function stopReplicas(stateDir: string, graceMs: number): Promise<number> {
  const ids = await replicaIds(stateDir);
  const running = await processesWithEnv('SKIFF_REPLICA_ID', ids);
  if (running.length === 0) return 0;
  for (const { pid } of running) signal(pid, 'SIGTERM');
  if (!(await waitGone(running, graceMs))) {
    // Also what started meanwhile (a launcher restarting its server).
    const left = [...running, ...(await processesWithEnv('SKIFF_REPLICA_ID', ids))];
    for (const { pid } of left) signal(pid, 'SIGKILL');
    await waitGone(left, 5_000);
  }
  return running.length;
}
