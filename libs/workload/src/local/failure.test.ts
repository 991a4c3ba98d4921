// Replicas that cannot start: an init() that raises, a process that exits before it is ready.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceKey } from '../driver.js';
import type { LocalProcessDriver } from './local-process-driver.js';
import { rolloutProgress } from './rollout.js';
import {
  irisSpec,
  openTestDriver,
  score,
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
    join(scripts, 'broken.py'),
    'def init():\n    raise ValueError("no model here")\n\n\ndef run(raw_data):\n    return raw_data\n',
  );
});

afterAll(async () => {
  for (const key of applied) await driver.delete(key);
  await dispose();
  await rm(scripts, { recursive: true, force: true });
});

/** Liveness that restarts a replica whose init() failed after about a second. */
const QUICK_LIVENESS = {
  periodSeconds: 1,
  initialDelaySeconds: 1,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 1,
};

describe('LocalProcessDriver with replicas that cannot start', { timeout: 90_000 }, () => {
  it('reports a replica whose init() raises as failed with the traceback, and keeps restarting it', async () => {
    const key = uniqueKey();
    applied.push(key);
    await driver.apply(
      irisSpec(key, { sourceDir: scripts, entryScript: 'broken.py', liveness: QUICK_LIVENESS }),
    );
    const failed = await waitFor('the replica to fail', async () => {
      const [replica] = await driver.listReplicas(key);
      return replica?.phase === 'failed' ? replica : undefined;
    });
    expect(failed.message).toMatch(/^init\(\) failed: ValueError: no model here\nTraceback/);
    expect(failed.message).toContain('raise ValueError("no model here")');
    const logs = (await driver.tailLogs(key, 100)).map((l) => l.text);
    expect(logs.some((text) => text.includes('Traceback (most recent call last)'))).toBe(true);

    // Liveness (/live answers 503 after init() failed) restarts it; it stays failed.
    const restarted = await waitFor('a restart', async () => {
      const [replica] = await driver.listReplicas(key);
      return replica && replica.restartCount >= 1 ? replica : undefined;
    });
    expect(restarted).toMatchObject({ id: failed.id, phase: 'failed' });
    expect(restarted.message).toContain('ValueError: no model here');
    const notes = (await driver.tailLogs(key, 1_000)).filter((l) => l.text.startsWith('[skiff]'));
    expect(notes[0]?.text).toContain(
      'liveness probe failed once (GET /live answered 503 init() failed',
    );
  });

  it('keeps the old generation serving while the new one fails, and replaces both with a good one', async () => {
    const key = uniqueKey();
    applied.push(key);
    await driver.apply(irisSpec(key));
    const [good] = await waitForReady(driver, key, 1);
    await driver.apply(
      irisSpec(key, {
        generation: 2,
        sourceDir: scripts,
        entryScript: 'broken.py',
        liveness: QUICK_LIVENESS,
      }),
    );
    const progress = await waitFor('generation 2 to fail', async () => {
      const p = rolloutProgress(await driver.listReplicas(key), 2, 1);
      return p.failed.length === 1 ? p : undefined;
    });
    expect(progress).toMatchObject({ ready: 0, outdated: 1, available: false, complete: false });
    const [old] = (await driver.listReplicas(key)).filter((r) => r.generation === 1);
    expect(old).toMatchObject({ id: good!.id, phase: 'ready' });
    expect((await score(old!.address)).status).toBe(200);

    await driver.apply(irisSpec(key, { generation: 3 }));
    const [fixed] = await waitForReady(driver, key, 1);
    expect(fixed!.generation).toBe(3);
  });
});

describe('LocalProcessDriver with a command that exits at once', { timeout: 90_000 }, () => {
  it('reports it failed with the exit code and its last stderr line, restarting with a doubling delay', async () => {
    const exiting = await openTestDriver({
      command: process.execPath,
      args: ['-e', "console.error('cannot start: no GPU'); process.exit(3)"],
    });
    const key = uniqueKey();
    try {
      await exiting.driver.apply(irisSpec(key));
      const replica = await waitFor('two restarts', async () => {
        const [r] = await exiting.driver.listReplicas(key);
        return r && r.restartCount >= 2 ? r : undefined;
      });
      expect(replica.phase).toBe('failed');
      expect(replica.message).toBe('exited with code 3: cannot start: no GPU; restarting');
      const notes = (await exiting.driver.tailLogs(key, 100))
        .filter((l) => l.text.startsWith('[skiff]'))
        .map((l) => l.text);
      expect(notes.slice(0, 2)).toEqual([
        '[skiff] exited with code 3: cannot start: no GPU; restart 1 in 500 ms',
        '[skiff] exited with code 3: cannot start: no GPU; restart 2 in 1000 ms',
      ]);
      const lines = await exiting.driver.tailLogs(key, 100);
      expect(lines.find((l) => l.text === 'cannot start: no GPU')?.stream).toBe('stderr');
    } finally {
      await exiting.driver.delete(key);
      await exiting.dispose();
    }
  });
});
