// Scaling and rolling updates while a client keeps scoring every replica listed as ready, as a
// router would: not one request may fail. Each request takes a while (run() sleeps), so that
// requests are in flight whenever a replica is stopped: only a real drain lets them finish.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Replica, ServiceKey, WorkloadSpec } from '../driver.js';
import type { LocalProcessDriver } from './local-process-driver.js';
import { rolloutProgress } from './rollout.js';
import {
  irisSpec,
  openTestDriver,
  runningReplicaIds,
  score,
  ScoringLoad,
  uniqueKey,
  waitFor,
  waitForReady,
} from './test-support/harness.js';

let driver: LocalProcessDriver;
let dispose: () => Promise<void>;
let scripts: string;
const applied: ServiceKey[] = [];

beforeAll(async () => {
  ({ driver, dispose } = await openTestDriver());
  scripts = await mkdtemp(join(tmpdir(), 'skiff-local-scripts-'));
  await writeFile(
    join(scripts, 'slow.py'),
    [
      'import json',
      'import time',
      '',
      'def init():',
      '    pass',
      '',
      'def run(raw_data):',
      '    time.sleep(json.loads(raw_data).get("sleep", 0.1))',
      '    return {"predictions": ["setosa"]}',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  for (const key of applied) await driver.delete(key);
  await dispose();
  await rm(scripts, { recursive: true, force: true });
});

/** The slow entry script as a spec. */
function slowSpec(key: ServiceKey, overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return irisSpec(key, { sourceDir: scripts, entryScript: 'slow.py', models: [], ...overrides });
}

/** Waits until `count` more requests have succeeded, so each phase runs under load. */
async function whileScoring(load: ScoringLoad, count: number): Promise<void> {
  const target = load.succeeded + count;
  await waitFor(`${count} more scored requests`, () => load.succeeded >= target);
}

describe('LocalProcessDriver under load', { timeout: 90_000 }, () => {
  it('scales 1 → 3 → 1 without failing a request, draining the replicas it removes', async () => {
    const key = uniqueKey();
    applied.push(key);
    await driver.apply(slowSpec(key, { replicas: 1 }));
    const [first] = await waitForReady(driver, key, 1);
    const load = new ScoringLoad(driver, key);
    try {
      await whileScoring(load, 10);
      await driver.scale(key, 3);
      const three = await waitForReady(driver, key, 3);
      expect(three.map((r) => r.id)).toContain(first!.id);
      await whileScoring(load, 30);

      await driver.scale(key, 1);
      // The ones leaving are reported terminating (routers stop sending) before they stop.
      const leaving = await waitFor('terminating replicas', async () => {
        const listed = await driver.listReplicas(key);
        const terminating = listed.filter((r) => r.phase === 'terminating');
        return terminating.length === 2 ? terminating : undefined;
      });
      // Newest first: the replica that was there from the start stays.
      expect(leaving.map((r) => r.id)).not.toContain(first!.id);
      const [kept] = await waitForReady(driver, key, 1);
      expect(kept!.id).toBe(first!.id);
      await whileScoring(load, 10);
    } finally {
      const report = await load.stop();
      expect(report.failures).toEqual([]);
      // Every one of the three replicas took requests.
      expect(report.byReplica.size).toBe(3);
    }
  });

  it('lets a request in flight finish when its replica is stopped, counting it as in flight', async () => {
    const key = uniqueKey();
    applied.push(key);
    await driver.apply(slowSpec(key));
    const [replica] = await waitForReady(driver, key, 1);
    // Longer than the drain grace: it is still running when the replica gets SIGTERM.
    const pending = score(replica!.address, { sleep: 2.5 });
    await waitFor('the request to be in flight', async () => {
      const [listed] = await driver.listReplicas(key);
      return listed?.inFlight === 1;
    });
    await driver.scale(key, 0);
    const [leaving] = await driver.listReplicas(key);
    expect(leaving).toMatchObject({ id: replica!.id, phase: 'terminating', inFlight: 1 });
    expect(await pending).toEqual({ status: 200, json: { predictions: ['setosa'] } });
    await waitFor('the replica to go', async () => (await driver.listReplicas(key)).length === 0);
    expect(await runningReplicaIds(key)).toEqual([]);
  });

  it('rolls generation 1 over to generation 2 without failing a request; old replicas end gone', async () => {
    const key = uniqueKey();
    applied.push(key);
    await driver.apply(slowSpec(key, { replicas: 2 }));
    const old = await waitForReady(driver, key, 2);
    const load = new ScoringLoad(driver, key);
    const seen: Replica[][] = [];
    try {
      await whileScoring(load, 10);
      await driver.apply(
        slowSpec(key, { replicas: 2, generation: 2, environmentVariables: { IRIS: '2' } }),
      );
      const done = await waitFor(
        'generation 2 complete',
        async () => {
          const listed = await driver.listReplicas(key);
          seen.push(listed);
          return rolloutProgress(listed, 2, 2).complete ? listed : undefined;
        },
        60_000,
      );
      expect(done.every((r) => r.generation === 2 && r.phase === 'ready')).toBe(true);
      expect(done.map((r) => r.id)).not.toContain(old[0]!.id);
      await whileScoring(load, 10);
    } finally {
      const report = await load.stop();
      expect(report.failures).toEqual([]);
      const served = [...report.byReplica.keys()];
      expect(served.filter((id) => id.includes('-g1-')).length).toBe(2);
      expect(served.filter((id) => id.includes('-g2-')).length).toBe(2);
    }
    // While the new replicas were not all ready, two ready replicas were always listed.
    for (const listed of seen) {
      expect(listed.filter((r) => r.phase === 'ready').length).toBeGreaterThanOrEqual(2);
    }
    // No process of an old replica is left.
    const current = (await driver.listReplicas(key)).map((r) => r.id).sort();
    expect(current).toHaveLength(2);
    expect(await runningReplicaIds(key)).toEqual(current);
  });
});
