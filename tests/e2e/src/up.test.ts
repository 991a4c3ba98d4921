import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, waitFor, type AppProcess } from './support/processes.js';
import {
  freeUpPorts,
  portFree,
  readUpLock,
  replicaProcesses,
  running,
  skiff,
  skiffRun,
  upFlags,
  waitForOutput,
  type Recorded,
  type UpPorts,
} from './support/up-platform.js';

// The README's quickstart, as a user runs it on a fresh machine: `skiff up` starts its own
// redis-server in the data directory (never the machine's shared one: `--redis embedded`),
// control plane, router and agent, deploys examples/iris-python and scores it through the
// router. Then what the platform promises: one `skiff up` per data directory and port,
// a killed app restarted, Ctrl-C leaving nothing behind, a restart bringing the service back
// with the same keys, and `skiff down`. The tests share one data directory and run in order.
const QUICKSTART = [
  'up',
  '--deploy',
  'examples/iris-python',
  '--model',
  'examples/models/iris-logreg/1',
];
const SAMPLE = JSON.stringify({ data: [[5.1, 3.5, 1.4, 0.2]] });

describe('skiff up', () => {
  let work: string;
  let dataDir: string;
  let configDir: string;
  let ports: UpPorts;
  let up: AppProcess | undefined;
  let scoringUri: string;
  let key: string;

  /** Scores through the router until it answers 200 (it learns new replicas within a moment). */
  async function scoreThroughRouter(withKey = key): Promise<{ predictions: string[] }> {
    return waitFor(
      `a 200 from ${scoringUri}`,
      async () => {
        const response = await fetch(scoringUri, {
          method: 'POST',
          headers: { authorization: `Bearer ${withKey}`, 'content-type': 'application/json' },
          body: SAMPLE,
        });
        const text = await response.text();
        if (response.status !== 200) throw new Error(`${response.status} ${text}`);
        return JSON.parse(text) as { predictions: string[] };
      },
      30_000,
      () => up?.output() ?? '',
    );
  }

  /** Every process of the platform now: supervisor, apps, replicas. */
  function platformProcesses(): Recorded[] {
    const lock = readUpLock(dataDir);
    if (!lock) return replicaProcesses(dataDir);
    return [lock, ...Object.values(lock.children), ...replicaProcesses(dataDir)];
  }

  const redisPort = (output: string) =>
    Number(/redis\s+redis:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1] ?? NaN);

  async function expectAllGone(processes: readonly Recorded[], listening: readonly number[]) {
    expect(processes.length).toBeGreaterThan(0);
    await waitFor('every process of the platform to be gone', async () =>
      processes.every((p) => !running(p)) ? true : undefined,
    );
    expect(replicaProcesses(dataDir)).toEqual([]);
    for (const port of listening) expect(await portFree(port), `port ${port} free`).toBe(true);
    expect(existsSync(join(dataDir, 'up.lock'))).toBe(false);
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'skiff-up-'));
    dataDir = join(work, 'data');
    configDir = join(work, 'config');
    ports = await freeUpPorts();
  });
  afterAll(async () => {
    // Whatever a failed test left running.
    await up?.kill('SIGKILL');
    if (dataDir) await skiffRun(['down', '--data-dir', dataDir], configDir, repoRoot);
    for (const { pid } of replicaProcesses(dataDir ?? '/nonexistent')) process.kill(pid, 'SIGKILL');
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('runs the quickstart: up, deploy examples/iris-python, score through the router, print URI, key and curl', async () => {
    up = skiff(
      [...QUICKSTART, '--redis', 'embedded', ...upFlags(dataDir, ports)],
      configDir,
      repoRoot,
    );
    const curl = (await waitForOutput(up, /^ {2}(curl .*)$/m))[1]!;
    const output = up.output();
    expect(output).toMatch(/Service iris-python is Healthy\./);
    expect(output).toMatch(/Scored iris-python once: .*setosa/);
    scoringUri = /Scoring URI: (\S+)/.exec(output)![1]!;
    expect(scoringUri).toBe(`http://127.0.0.1:${ports.router}/api/v1/service/iris-python/score`);
    key = /Key: +(\S+)/.exec(output)![1]!;

    // Control plane, router, agent and skiff's own redis-server run, recorded in the lock.
    const lock = readUpLock(dataDir)!;
    expect(lock.pid).toBe(up.child.pid);
    expect(Object.keys(lock.children).sort()).toEqual([
      'agent',
      'control-plane',
      'redis',
      'router',
    ]);
    for (const child of Object.values(lock.children)) expect(running(child)).toBe(true);
    expect(existsSync(join(dataDir, 'redis', 'appendonlydir'))).toBe(true);
    for (const port of [ports.router, ports.grpc, ports.metrics, ports.agent, redisPort(output)]) {
      expect(await portFree(port), `port ${port} in use`).toBe(false);
    }

    // The router serves the service with the printed key, and the printed curl line works.
    expect((await scoreThroughRouter()).predictions).toEqual(['setosa']);
    const curled = execFileSync('sh', ['-c', `${curl} --silent --fail`], { encoding: 'utf8' });
    expect(JSON.parse(curled)).toMatchObject({ predictions: ['setosa'] });
    const wrongKey = await fetch(scoringUri, { method: 'POST', body: SAMPLE });
    expect(wrongKey.status).toBe(401);

    // The other commands find the login skiff up wrote.
    const shown = await skiffRun(['service', 'show', '-n', 'iris-python'], configDir, repoRoot);
    expect(shown.code, shown.out).toBe(0);
    expect(shown.out).toMatch(/State: +Healthy/);
    const login = JSON.parse(readFileSync(join(configDir, 'config.json'), 'utf8')) as object;
    expect(login).toMatchObject({ endpoint: `127.0.0.1:${ports.grpc}`, workspace: 'default' });
  });

  it('refuses a second skiff up on the same data directory, starting nothing', async () => {
    const before = readUpLock(dataDir)!;
    const second = await skiffRun(
      ['up', '--redis', 'embedded', ...upFlags(dataDir, await freeUpPorts())],
      configDir,
      repoRoot,
    );
    expect(second.code).toBe(1);
    expect(second.out).toContain(
      `skiff: skiff up is already running on ${dataDir} (pid ${before.pid}`,
    );
    expect(second.out).not.toMatch(/\[(redis|control-plane|agent|router)\]/);
    expect(readUpLock(dataDir)).toEqual(before);
  });

  it('refuses a second skiff up on a busy port, starting nothing', async () => {
    const otherDataDir = join(work, 'other');
    const second = await skiffRun(
      [
        'up',
        '--redis',
        'embedded',
        ...upFlags(otherDataDir, { ...(await freeUpPorts()), router: ports.router }),
      ],
      configDir,
      repoRoot,
    );
    expect(second.code).toBe(1);
    expect(second.out).toMatch(
      new RegExp(`skiff: port ${ports.router} on 127\\.0\\.0\\.1 \\(the router\\) is in use`),
    );
    expect(second.out).not.toMatch(/\[(redis|control-plane|agent|router)\]/);
    expect(existsSync(join(otherDataDir, 'up.lock'))).toBe(false);
    expect(existsSync(join(otherDataDir, 'redis'))).toBe(false);
  });

  it('restarts an app that dies (kill -9 of the agent)', async () => {
    const agent = readUpLock(dataDir)!.children['agent']!;
    process.kill(agent.pid, 'SIGKILL');
    const restarted = await waitFor('a new agent process recorded in the lock', async () => {
      const now = readUpLock(dataDir)?.children['agent'];
      return now && now.pid !== agent.pid && running(now) ? now : undefined;
    });
    expect(restarted.pid).not.toBe(agent.pid);
    expect(up!.output()).toMatch(/agent was killed by SIGKILL; restarting it/);
    await waitFor('the restarted agent to be ready', async () =>
      (await fetch(`http://127.0.0.1:${ports.agent}/readyz`).catch(() => undefined))?.status === 200
        ? true
        : undefined,
    );
    expect((await scoreThroughRouter()).predictions).toEqual(['setosa']);
  });

  it('stops everything on Ctrl-C: apps, replicas, its redis-server; ports free, lock gone', async () => {
    const processes = platformProcesses();
    expect(replicaProcesses(dataDir).length).toBeGreaterThan(0);
    const listening = [
      ports.router,
      ports.grpc,
      ports.metrics,
      ports.agent,
      redisPort(up!.output()),
    ];
    up!.child.kill('SIGINT');
    expect(await up!.exited).toBe(0);
    expect(up!.output()).toMatch(/skiff is down\./);
    await expectAllGone(processes, listening);
  });

  it('brings the service back on a restart with the same data directory, with the same keys; the step-by-step path works', async () => {
    up = skiff(['up', ...upFlags(dataDir, ports)], configDir, repoRoot);
    const output = (await waitForOutput(up, /Stop with Ctrl-C/), up.output());
    // The data directory remembers its Redis: skiff's own again, from its append-only file.
    expect(output).toMatch(/redis +redis:\/\/127\.0\.0\.1:\d+ \(skiff's own redis-server/);
    expect((await scoreThroughRouter(key)).predictions).toEqual(['setosa']);
    const keys = await skiffRun(['service', 'get-keys', '-n', 'iris-python'], configDir, repoRoot);
    expect(keys.out).toContain(`Primary key:   ${key}`);

    // The README's step by step, in the project's folder, with the login skiff up wrote.
    const project = join(repoRoot, 'examples/iris-python');
    const registered = await skiffRun(
      ['model', 'register', '-n', 'iris', '-p', '../models/iris-logreg/1'],
      configDir,
      project,
    );
    expect(registered.code, registered.out).toBe(0);
    const deployed = await skiffRun(
      [
        'model',
        'deploy',
        '-n',
        'iris-steps',
        '-m',
        'iris',
        '--ic',
        'inferenceconfig.json',
        '--dc',
        'deploymentconfig.json',
        '--ct',
        'local',
      ],
      configDir,
      project,
    );
    expect(deployed.code, deployed.out).toBe(0);
    const stepsKey = /Primary key: +(\S+)/.exec(
      (await skiffRun(['service', 'get-keys', '-n', 'iris-steps'], configDir, project)).out,
    )![1]!;
    const stepsUri = `http://127.0.0.1:${ports.router}/api/v1/service/iris-steps/score`;
    expect(deployed.out).toContain(`Scoring URI: ${stepsUri}`);
    const previous = scoringUri;
    scoringUri = stepsUri;
    expect((await scoreThroughRouter(stepsKey)).predictions).toEqual(['setosa']);
    scoringUri = previous;
  });

  it('skiff down stops it from another terminal and leaves nothing behind', async () => {
    const processes = platformProcesses();
    const listening = [
      ports.router,
      ports.grpc,
      ports.metrics,
      ports.agent,
      redisPort(up!.output()),
    ];
    const stopped = await skiffRun(['down', '--data-dir', dataDir], configDir, repoRoot);
    expect(stopped.code, stopped.out).toBe(0);
    expect(stopped.out).toContain(`skiff on ${dataDir} is down.`);
    expect(await up!.exited).toBe(0);
    await expectAllGone(processes, listening);
  });
});
