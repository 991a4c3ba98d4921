// The local driver with real scoring-server processes: start, score, restart, logs, delete.
import { kill } from 'node:process';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplicaLogLine, ServiceKey } from '../driver.js';
import {
  EXAMPLES,
  irisSpec,
  openTestDriver,
  processesOfService,
  runningReplicaIds,
  score,
  serverPid,
  uniqueKey,
  waitFor,
  waitForReady,
} from './test-support/harness.js';
import type { LocalProcessDriver } from './local-process-driver.js';

let driver: LocalProcessDriver;
let stateDir: string;
let dispose: () => Promise<void>;
const applied: ServiceKey[] = [];

beforeAll(async () => {
  ({ driver, stateDir, dispose } = await openTestDriver());
});

afterAll(async () => {
  for (const key of applied) await driver.delete(key);
  await dispose();
});

function newKey(): ServiceKey {
  const key = uniqueKey();
  applied.push(key);
  return key;
}

describe('LocalProcessDriver with real scoring servers', { timeout: 90_000 }, () => {
  it('starts the replicas on their own loopback ports, each scoring; the same spec again adds none', async () => {
    const key = newKey();
    await driver.apply(irisSpec(key, { replicas: 2 }));
    const ready = await waitForReady(driver, key, 2);

    expect(new Set(ready.map((r) => r.address)).size).toBe(2);
    for (const replica of ready) {
      expect(replica.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(replica).toMatchObject({ generation: 1, restartCount: 0, maxConcurrent: 2 });
      const { status, json } = await score(replica.address);
      expect(status).toBe(200);
      expect(json).toMatchObject({ predictions: ['setosa'] });
      // The replica knows its service and id (SKIFF_SERVICE_ID, SKIFF_REPLICA_ID).
      const metrics = await (await fetch(`http://${replica.address}/metrics`)).text();
      expect(metrics).toContain(
        `skiff_scoring_in_flight_requests{service="${key.workspace}/${key.service}",replica="${replica.id}"} 0`,
      );
    }

    await driver.apply(irisSpec(key, { replicas: 2 }));
    await driver.apply(irisSpec(key, { replicas: 2 }));
    const again = await driver.listReplicas(key);
    expect(again.map((r) => r.id).sort()).toEqual(ready.map((r) => r.id).sort());
    const dirs = (await readdir(join(stateDir, key.workspace, key.service))).filter((name) =>
      name.startsWith('iris-g'),
    );
    expect(dirs).toHaveLength(2);
    // Processes (launchers, servers, Python workers) of these two replicas and of no third.
    expect(await runningReplicaIds(key)).toEqual(again.map((r) => r.id).sort());
  });

  it('watchReplicas reports each change of phase, and nothing once unsubscribed', async () => {
    const key = newKey();
    const phases: string[] = [];
    const stop = await driver.watchReplicas((replicas) => {
      const mine = replicas.filter((r) => r.workspace === key.workspace);
      const text = mine.map((r) => r.phase).join(',');
      if (phases.at(-1) !== text) phases.push(text);
    });
    await driver.apply(irisSpec(key));
    await waitFor('ready to be watched', () => phases.at(-1) === 'ready');
    stop();
    expect(phases).toEqual(['', 'starting', 'ready']);
    await driver.scale(key, 0);
    await waitFor('the replica to go', async () => (await driver.listReplicas(key)).length === 0);
    expect(phases.at(-1)).toBe('ready');
  });

  it('gives a replica of several models a folder of <name>/<version> links as AZUREML_MODEL_DIR', async () => {
    const key = newKey();
    const spec = irisSpec(key, {
      sourceDir: join(EXAMPLES, 'multi-model'),
      models: [
        {
          name: 'iris-logreg',
          version: 1,
          digest: '',
          path: join(EXAMPLES, 'models/iris-logreg/1'),
        },
        { name: 'iris-tree', version: 1, digest: '', path: join(EXAMPLES, 'models/iris-tree/1') },
      ],
    });
    await driver.apply(spec);
    const [replica] = await waitForReady(driver, key, 1);
    const { status, json } = await score(replica!.address);
    expect(status).toBe(200);
    expect(json).toEqual({ logreg: ['setosa'], tree: ['setosa'], agree: [true] });
    const folders = await readdir(join(stateDir, key.workspace, key.service, 'models'));
    expect(folders).toHaveLength(1);

    await driver.delete(key);
    await expect(access(join(stateDir, key.workspace, key.service))).rejects.toThrow();
  });

  it("passes the spec's variables on, but not over its own; data collection goes under dataCollectionDir", async () => {
    const key = newKey();
    await driver.apply(
      irisSpec(key, {
        dataCollection: true,
        environmentVariables: {
          GREETING: 'hi',
          SKIFF_PORT: '1',
          AZUREML_MODEL_DIR: '/nowhere',
          // Quieter than info would hide the `listening` line the port is learned from.
          SKIFF_LOG_LEVEL: 'warn',
        },
      }),
    );
    const [replica] = await waitForReady(driver, key, 1);
    expect(replica!.address).not.toBe('127.0.0.1:1');
    expect((await score(replica!.address)).status).toBe(200);
    // The scoring server's layout: <dir>/<service id, '/' made '_'>/<replica>.jsonl.
    const collected = join(
      stateDir,
      '.data-collection',
      `${key.workspace}_${key.service}`,
      `${replica!.id}.jsonl`,
    );
    const record = await waitFor('the data-collection record', () =>
      readFile(collected, 'utf8').then(
        (text) => (text.includes('setosa') ? text : undefined),
        () => undefined,
      ),
    );
    expect(JSON.parse(record.split('\n')[0]!)).toMatchObject({ replica: replica!.id, status: 200 });
    // The scoring server's own environment: the spec's variable, the driver's values.
    const environ = (
      await readFile(`/proc/${await serverPid(stateDir, key, replica!.id)}/environ`, 'utf8')
    ).split('\0');
    expect(environ).toEqual(
      expect.arrayContaining([
        'GREETING=hi',
        'SKIFF_PORT=0',
        'SKIFF_HOST=127.0.0.1',
        'SKIFF_LOG_LEVEL=info',
        `AZUREML_MODEL_DIR=${join(EXAMPLES, 'models/iris-logreg/1')}`,
        `SKIFF_SOURCE_DIR=${join(EXAMPLES, 'iris-python')}`,
      ]),
    );
  });

  it('restarts a replica killed with SIGKILL, counts the restart and says why', async () => {
    const key = newKey();
    await driver.apply(irisSpec(key));
    const [before] = await waitForReady(driver, key, 1);
    kill(await serverPid(stateDir, key, before!.id), 'SIGKILL');

    // Reported while it waits for its restart (500 ms here) and starts again.
    const restarting = await waitFor('the restart to be reported', async () => {
      const [replica] = await driver.listReplicas(key);
      return replica?.message.includes('exited on signal SIGKILL') ? replica : undefined;
    });
    expect(restarting).toMatchObject({ id: before!.id, phase: 'starting' });

    const [after] = await waitForReady(driver, key, 1);
    expect(after).toMatchObject({ id: before!.id, restartCount: 1, message: '' });
    expect(after!.address).not.toBe('');
    expect((await score(after!.address)).status).toBe(200);
    const notes = (await driver.tailLogs(key, 1_000)).filter((l) => l.text.startsWith('[skiff]'));
    expect(notes.map((l) => l.text)).toEqual([
      expect.stringContaining('exited on signal SIGKILL; restart 1 in 500 ms'),
    ]);
  });

  it('tails the last lines of every replica and follows new ones, also across a restart', async () => {
    const key = newKey();
    const followed: ReplicaLogLine[] = [];
    const stop = driver.followLogs((service, lines) => {
      if (service.workspace === key.workspace) followed.push(...lines);
    });
    try {
      await driver.apply(irisSpec(key));
      const [replica] = await waitForReady(driver, key, 1);
      const listening = (l: ReplicaLogLine) => l.text.includes('"msg":"listening"');
      await waitFor('the listening line to be followed', () => followed.some(listening));

      const tail = await driver.tailLogs(key, 3);
      expect(tail).toHaveLength(3);
      expect(tail.every((l) => l.replicaId === replica!.id && l.stream === 'stdout')).toBe(true);
      expect(tail.map((l) => l.time.getTime())).toEqual(
        [...tail.map((l) => l.time.getTime())].sort((a, b) => a - b),
      );
      const all = await driver.tailLogs(key, 1_000);
      expect(all.slice(-3)).toEqual(tail);

      kill(await serverPid(stateDir, key, replica!.id), 'SIGKILL');
      await waitFor('the second run to be followed', () => followed.filter(listening).length === 2);
      expect(followed.some((l) => l.text.includes('[skiff] exited on signal SIGKILL'))).toBe(true);
    } finally {
      stop();
    }
  });

  it('rotates a large log to replica.log.1 without the follower losing or repeating a line', async () => {
    const small = await openTestDriver({ maxLogBytes: 4_096 });
    const key = uniqueKey();
    const scored: ReplicaLogLine[] = [];
    const stop = small.driver.followLogs((_, lines) =>
      scored.push(...lines.filter((l) => l.text.includes('"msg":"score"'))),
    );
    try {
      await small.driver.apply(irisSpec(key));
      const [replica] = await waitForReady(small.driver, key, 1);
      // One request at a time, each seen by the follower before the next: several rotations
      // happen, never two between polls.
      for (let i = 1; i <= 30; i += 1) {
        expect((await score(replica!.address)).status).toBe(200);
        await waitFor(`score line ${i}`, () => scored.length >= i);
      }
      expect(scored).toHaveLength(30);
      const ids = scored.map((l) => (JSON.parse(l.text) as { requestId: string }).requestId);
      expect(new Set(ids).size).toBe(30);
      const dir = join(small.stateDir, key.workspace, key.service, replica!.id);
      expect(await readdir(dir)).toContain('replica.log.1');
      // The tail reaches into the rotated file when the current one is short.
      const tail = await small.driver.tailLogs(key, 1_000);
      expect(tail.filter((l) => l.text.includes('"msg":"score"')).length).toBeGreaterThan(
        (await readFile(join(dir, 'replica.log'), 'utf8')).split('"msg":"score"').length - 1,
      );
    } finally {
      stop();
      await small.driver.delete(key);
      await small.dispose();
    }
  });

  it('deletes a service: no process, file or directory is left, and a second delete is a no-op', async () => {
    const key = newKey();
    await driver.apply(irisSpec(key, { replicas: 2 }));
    await waitForReady(driver, key, 2);
    expect((await processesOfService(key)).length).toBeGreaterThanOrEqual(4);

    await driver.delete(key);
    expect(await processesOfService(key)).toEqual([]);
    await expect(access(join(stateDir, key.workspace, key.service))).rejects.toThrow();
    expect(await driver.listReplicas(key)).toEqual([]);
    await driver.delete(key);
    await expect(driver.scale(key, 1)).rejects.toThrow(/not deployed/);
  });
});
