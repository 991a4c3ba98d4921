import { readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedRedis, type IsolatedRedis } from '@skiff/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from './support/platform.js';
import { repoRoot, type AppProcess } from './support/processes.js';

const SERVICE = 'iris-run';
const SAMPLE = JSON.stringify({ data: [[5.1, 3.5, 1.4, 0.2]] });

// `skiff service run` (az ml service run) end to end: examples/iris-python deployed on a local
// agent, scored through the router's scoring URI with the key or token the CLI fetches.
describe('skiff service run through the router', () => {
  let redis: IsolatedRedis;
  let platform: LocalPlatform;
  let agent: AppProcess;
  let router: AppProcess;
  let project: string;

  const context = () => `agent:\n${agent.output()}\nrouter:\n${router.output()}`;
  const run = (...args: string[]) =>
    platform.cli(['service', 'run', '-n', SERVICE, ...args], project);
  const deploymentConfig = (auth: Record<string, boolean>) =>
    writeFile(
      join(project, 'deploymentconfig.json'),
      JSON.stringify({ computeType: 'aks', numReplicas: 1, scoringTimeoutMs: 5000, ...auth }),
    );

  beforeAll(async () => {
    redis = isolatedRedis();
    platform = await startLocalPlatform(redis);
    agent = await platform.startAgent();
    router = await platform.startRouter();
    project = await mkdtemp(join(tmpdir(), 'skiff-e2e-run-'));
    await cp(join(repoRoot, 'examples/iris-python'), project, { recursive: true });
    await deploymentConfig({ authEnabled: true });
    await writeFile(join(project, 'request.json'), SAMPLE);
    const model = join(repoRoot, 'examples/models/iris-logreg/1/iris-logreg.json');
    const registered = await platform.cli(['model', 'register', '-n', 'iris-logreg', '-p', model]);
    expect(registered.code, registered.out).toBe(0);
    const deployed = await platform.cli(
      [
        'model',
        'deploy',
        '-n',
        SERVICE,
        '-m',
        'iris-logreg:1',
        '--ic',
        'inferenceconfig.json',
        '--dc',
        'deploymentconfig.json',
        '--ct',
        'local',
      ],
      project,
    );
    expect(deployed.code, `${deployed.out}\n${context()}`).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await platform?.stop();
    // Replicas outlive a stopped agent by design: stop what this test started.
    for (const pid of processesOf(SERVICE)) process.kill(pid, 'SIGKILL');
    await redis?.cleanup();
    if (project) await rm(project, { recursive: true, force: true });
  });

  it('scores -d and --input-file with the primary key and prints the answer', async () => {
    const inline = await run('-d', SAMPLE);
    expect(inline.code, `${inline.out}\n${context()}`).toBe(0);
    expect(JSON.parse(inline.out)).toMatchObject({ predictions: ['setosa'] });

    const fromFile = await run('--input-file', 'request.json');
    expect(fromFile.code, fromFile.out).toBe(0);
    expect(JSON.parse(fromFile.out)).toMatchObject({ predictions: ['setosa'] });
  });

  it('fetches the key per run: a regenerated primary key keeps working', async () => {
    const regenerated = await platform.cli([
      'service',
      'regen-key',
      '-n',
      SERVICE,
      '--key',
      'primary',
    ]);
    expect(regenerated.code, regenerated.out).toBe(0);
    const after = await run('-d', SAMPLE);
    expect(after.code, after.out).toBe(0);
    expect(after.out).toContain('setosa');
  });

  it('exits 1 with the status and body when the service answers non-2xx', async () => {
    // Two measurements instead of four: run() raises, the replica answers 500.
    const failed = await run('-d', JSON.stringify({ data: [[5.1, 3.5]] }));
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/iris-run answered 500/);
    expect(failed.out).toMatch(/expected 4 measurements per flower/);
  });

  it('uses a token for a token-auth service', async () => {
    await deploymentConfig({ authEnabled: false, tokenAuthEnabled: true });
    const updated = await platform.cli(
      ['service', 'update', '-n', SERVICE, '--dc', 'deploymentconfig.json'],
      project,
    );
    expect(updated.code, `${updated.out}\n${context()}`).toBe(0);
    const scored = await run('-d', SAMPLE);
    expect(scored.code, `${scored.out}\n${context()}`).toBe(0);
    expect(scored.out).toContain('setosa');
  });
});

/** Pids of the processes a local agent started for `service` (SKIFF_SERVICE_ID in their env). */
function processesOf(service: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1')
          .split('\0')
          .includes(`SKIFF_SERVICE_ID=team-a/${service}`);
      } catch {
        return false; // gone meanwhile, or not ours to read
      }
    })
    .map(Number);
}
