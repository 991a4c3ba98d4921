// An agent restart: a new driver on the same state directory adopts what runs, restarts what
// died, and finishes what a killed agent left half done — converging to exactly N replicas.
import { once } from 'node:events';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { kill } from 'node:process';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceKey } from '../driver.js';
import { LocalProcessDriver } from './local-process-driver.js';
import { processStart } from './processes.js';
import {
  irisSpec,
  openTestDriver,
  runningReplicaIds,
  score,
  serverPid,
  startAgentChild,
  testDriverOptions,
  uniqueKey,
  waitFor,
  waitForReady,
} from './test-support/harness.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A driver on a fresh state directory; the service is deleted and the state removed after. */
async function firstAgent(key: ServiceKey) {
  const opened = await openTestDriver();
  cleanups.push(async () => {
    const last = await LocalProcessDriver.open(testDriverOptions(opened.stateDir));
    await last.delete(key);
    await last.close();
    await opened.dispose();
  });
  return opened;
}

async function reopen(stateDir: string): Promise<LocalProcessDriver> {
  const driver = await LocalProcessDriver.open(testDriverOptions(stateDir));
  cleanups.push(() => driver.close());
  return driver;
}

async function launcherPid(stateDir: string, key: ServiceKey, id: string): Promise<number> {
  const file = join(stateDir, key.workspace, key.service, id, 'replica.json');
  return (JSON.parse(await readFile(file, 'utf8')) as { pid: number }).pid;
}

async function replicaDirs(stateDir: string, key: ServiceKey): Promise<string[]> {
  const names = await readdir(join(stateDir, key.workspace, key.service));
  return names.filter((name) => /-g\d+-[0-9a-f]{8}$/.test(name)).sort();
}

describe('LocalProcessDriver after an agent restart', { timeout: 90_000 }, () => {
  it('a new driver lists the running replicas as they are and does not restart them', async () => {
    const key = uniqueKey();
    const { driver, stateDir } = await firstAgent(key);
    await driver.apply(irisSpec(key, { replicas: 2 }));
    const before = await waitForReady(driver, key, 2);
    const pids = await Promise.all(before.map((r) => serverPid(stateDir, key, r.id)));
    // Never two supervisors on one state directory.
    await expect(LocalProcessDriver.open(testDriverOptions(stateDir))).rejects.toThrow(
      /in use by another local process driver/,
    );
    await driver.close();

    const restarted = await reopen(stateDir);
    const listed = await restarted.listReplicas(key);
    expect(listed.map(({ inFlight: _, ...r }) => r)).toEqual(
      before.map(({ inFlight: _, ...r }) => r),
    );
    // The same spec applied again by the new agent, and a few supervisor passes later: still
    // the same processes, serving.
    await restarted.apply(irisSpec(key, { replicas: 2 }));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await restarted.listReplicas(key);
    expect(after.map((r) => [r.id, r.phase, r.restartCount])).toEqual(
      before.map((r) => [r.id, 'ready', 0]),
    );
    expect(await Promise.all(after.map((r) => serverPid(stateDir, key, r.id)))).toEqual(pids);
    for (const replica of after) expect((await score(replica.address)).status).toBe(200);
  });

  it('restarts a replica that died while no agent ran, and one whose launcher was killed', async () => {
    const key = uniqueKey();
    const { driver, stateDir } = await firstAgent(key);
    await driver.apply(irisSpec(key, { replicas: 2 }));
    const [a, b] = await waitForReady(driver, key, 2);
    await driver.close();
    kill(await serverPid(stateDir, key, a!.id), 'SIGKILL');
    // Without its launcher the server would run on unsupervised; the driver must end it.
    const orphan = await serverPid(stateDir, key, b!.id);
    kill(await launcherPid(stateDir, key, b!.id), 'SIGKILL');

    const restarted = await reopen(stateDir);
    const after = await waitForReady(restarted, key, 2, (r) => r.restartCount === 1);
    expect(after.map((r) => r.id).sort()).toEqual([a!.id, b!.id].sort());
    // Gone (or a zombie its new parent has not reaped yet).
    expect(await processStart(orphan)).toBeUndefined();
    expect(await runningReplicaIds(key)).toEqual([a!.id, b!.id].sort());
    const notes = (await restarted.tailLogs(key, 1_000)).filter((l) =>
      l.text.startsWith('[skiff]'),
    );
    expect(notes.find((l) => l.replicaId === a!.id)?.text).toContain('exited on signal SIGKILL');
    expect(notes.find((l) => l.replicaId === b!.id)?.text).toContain(
      'launcher process ended without recording an exit',
    );
  });

  it('finishes half-done work found on disk: a start not recorded, a start not made, a replica half created', async () => {
    const key = uniqueKey();
    const { driver, stateDir } = await firstAgent(key);
    await driver.apply(irisSpec(key, { replicas: 2 }));
    const [adoptable, unstarted] = await waitForReady(driver, key, 2);
    await driver.close();
    const dir = (id: string) => join(stateDir, key.workspace, key.service, id);
    const edit = async (id: string, change: Record<string, unknown>) => {
      const file = join(dir(id), 'replica.json');
      const record = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(file, JSON.stringify({ ...record, ...change }));
    };
    // Killed after spawning a launcher, before recording its pid: it runs, unrecorded.
    const launcher = await launcherPid(stateDir, key, adoptable!.id);
    await edit(adoptable!.id, { pid: 0, pidStart: '', restartAt: 0 });
    // Killed after deciding a start, before spawning: nothing of it runs.
    const unstartedServer = await serverPid(stateDir, key, unstarted!.id);
    kill(await launcherPid(stateDir, key, unstarted!.id), 'SIGKILL');
    kill(unstartedServer, 'SIGKILL');
    await waitFor('the killed replica to stop', () =>
      runningReplicaIds(key).then((ids) => !ids.includes(unstarted!.id)),
    );
    await rm(join(dir(unstarted!.id), 'run.json'));
    await edit(unstarted!.id, { pid: 0, pidStart: '', restartAt: 0 });
    // Killed while creating a third: a directory without a record.
    const halfCreated = `${key.service}-g1-0123abcd`;
    await mkdir(join(dir(halfCreated), 'work'), { recursive: true });

    const restarted = await reopen(stateDir);
    await restarted.apply(irisSpec(key, { replicas: 2 }));
    const after = await waitForReady(restarted, key, 2);
    expect(after.map((r) => [r.id, r.restartCount])).toEqual([
      [adoptable!.id, 0],
      [unstarted!.id, 0],
    ]);
    expect(await launcherPid(stateDir, key, adoptable!.id)).toBe(launcher);
    expect(await replicaDirs(stateDir, key)).toEqual([adoptable!.id, unstarted!.id].sort());
    expect(await runningReplicaIds(key)).toEqual([adoptable!.id, unstarted!.id].sort());
  });

  it('an agent killed with SIGKILL during apply: the next apply converges to exactly N', async () => {
    const key = uniqueKey();
    const { driver, stateDir } = await firstAgent(key);
    await driver.close();
    const spec = irisSpec(key, { replicas: 3 });
    const agent = startAgentChild(stateDir, spec);
    const exited = once(agent, 'exit');
    // Kill it as soon as the first replica directory appears: the apply is under way.
    await waitFor('the first replica directory', async () => {
      try {
        return (await replicaDirs(stateDir, key)).length > 0;
      } catch {
        return false;
      }
    });
    agent.kill('SIGKILL');
    await exited;

    const restarted = await reopen(stateDir);
    await restarted.apply(spec);
    const ready = await waitForReady(restarted, key, 3);
    const ids = ready.map((r) => r.id).sort();
    expect(await replicaDirs(stateDir, key)).toEqual(ids);
    expect(await runningReplicaIds(key)).toEqual(ids);
    await restarted.apply(spec);
    expect((await restarted.listReplicas(key)).map((r) => r.id).sort()).toEqual(ids);
  });
});
