import { spawn } from 'node:child_process';
import { cp as copy, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelDigest, snapshotDigest } from '@skiff/hashing';
import { Role } from '@skiff/proto';
import { startComputeWorker } from '@skiff/queue';
import { Store } from '@skiff/store';
import { UnrecoverableError, type Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  runSkiff,
  skiffBin,
  startControlPlaneProcess,
  type ControlPlaneProcess,
} from '../test-support/control-plane.js';

const fixtureProject = fileURLToPath(
  new URL('../../../../libs/config/test-fixtures/project', import.meta.url),
);

describe('skiff model and skiff service against a control plane process', () => {
  let cp: ControlPlaneProcess;
  let store: Store;
  let agent: Worker;
  let project: string;
  let env: Record<string, string>;
  const deployConfigs = (...extra: string[]) => [
    '--ic',
    'inferenceconfig.json',
    '--dc',
    'deploymentconfig.json',
    ...extra,
  ];
  const skiff = (argv: string[]) => runSkiff(argv, env, project);

  beforeAll(async () => {
    cp = await startControlPlaneProcess();
    project = await mkdtemp(join(tmpdir(), 'skiff-cli-deploy-'));
    await copy(fixtureProject, project, { recursive: true });
    await writeFile(join(project, 'model.json'), '{"weights":[1,2,3]}');
    const admin = { SKIFF_ENDPOINT: cp.endpoint, SKIFF_WORKSPACE: 'team-s' };
    const adminToken = await cp.team('team-s', Role.ROLE_ADMIN);
    for (const compute of ['local', 'idle']) {
      const attached = await runSkiff(
        [
          'compute',
          'attach',
          '-n',
          compute,
          '--kind',
          'local',
          '--router-url',
          'http://127.0.0.1:8080',
        ],
        { ...admin, SKIFF_TOKEN: adminToken },
      );
      expect(attached.err).toBe('');
    }
    env = { ...admin, SKIFF_TOKEN: await cp.team('team-s', Role.ROLE_DEPLOYER) };
    store = await Store.connect({ url: cp.redis.url, keyPrefix: cp.redis.prefix });
    // A stand-in agent for compute 'local' ('idle' has none): reports progress as the real
    // agent does, writes replica logs, and fails init() for services named svc-fail.
    agent = startComputeWorker(
      {
        redisUrl: cp.redis.url,
        prefix: `${cp.redis.prefix.replace(/:$/, '')}:bull`,
        workspace: 'team-s',
        compute: 'local',
      },
      {
        deploy: async (job, context) => {
          await context.progress({ step: 'WORKLOAD_APPLIED', message: 'Replicas started' });
          await store.logs.append('team-s', job.service, [
            {
              time: new Date().toISOString(),
              replica: 'r1',
              stream: 'stdout',
              text: `init ${job.generation}`,
            },
          ]);
          if (job.service === 'svc-fail') {
            throw new UnrecoverableError(
              'EntryScriptInitFailed: init() raised ValueError: no model',
            );
          }
          await context.progress({
            step: 'REPLICAS',
            message: 'Replicas ready 2/2',
            readyReplicas: 2,
            desiredReplicas: 2,
          });
          return { readyReplicas: 2, desiredReplicas: 2 };
        },
        delete: () => Promise.resolve(),
        scale: () => Promise.resolve(),
      },
    );
  });
  afterAll(async () => {
    await agent?.close();
    await store?.close();
    await cp?.stop();
    await rm(project, { recursive: true, force: true });
  });

  it('registers a model directory as version 1, then identical content as version 2', async () => {
    const first = await skiff([
      'model',
      'register',
      '-n',
      'iris',
      '-p',
      'source',
      '--tag',
      'stage=dev',
    ]);
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const digest = await modelDigest(join(project, 'source'));
    expect(first.out).toMatch(
      new RegExp(`^Registered model iris:1 \\(${digest}, 3 files, \\d+ bytes\\)\\.\\n$`),
    );
    const second = await skiff(['model', 'register', '-n', 'iris', '-p', 'source']);
    expect(second.out).toContain('Registered model iris:2');
    expect(second.out).toContain('content already stored');

    const list = await skiff(['model', 'list']);
    expect(list.out).toMatch(/^NAME +VERSION +FILES +BYTES +CREATED +DIGEST$/m);
    expect(list.out).toMatch(new RegExp(`^iris +1 +3 +\\d+ +\\S+ +${digest}$`, 'm'));
    expect(list.out).toMatch(/^iris +2 /m);
    const latest = await skiff(['model', 'show', '-n', 'iris', '-o', 'json']);
    expect(JSON.parse(latest.out)).toMatchObject({ name: 'iris', version: 2, digest });
    const v1 = await skiff(['model', 'show', '-n', 'iris', '-v', '1']);
    expect(v1.out).toMatch(/^Tags: +stage=dev$/m);
  });

  it('registers a single file, and reports a missing path without calling anyone', async () => {
    const single = await skiff([
      'model',
      'register',
      '-n',
      'weights',
      '-p',
      'model.json',
      '-o',
      'json',
    ]);
    expect(JSON.parse(single.out)).toMatchObject({ name: 'weights', version: 1, fileCount: 1 });
    const missing = await skiff(['model', 'register', '-n', 'ghost', '-p', 'no-such-dir']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^skiff: no such model file or directory: .*no-such-dir\n$/);
  });

  it('deploys with --no-wait: uploads the snapshot once, sends the files the config names', async () => {
    const queued = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-a',
      '-m',
      'iris:1',
      ...deployConfigs('--ct', 'idle', '--no-wait'),
    ]);
    expect(queued.err).toBe('');
    expect(queued.code).toBe(0);
    const snapshot = await snapshotDigest(join(project, 'source'));
    // score.py, and the conda file and Dockerfile steps v1 kept in sourceDirectory.
    expect(queued.out).toContain(`Uploaded snapshot ${snapshot.digest} (3 files,`);
    expect(queued.out).toMatch(/^Deploying svc-a \(generation 1\) on idle: operation \S+$/m);
    expect(queued.out).toContain(
      'Not waiting. Watch it with: skiff service wait -n svc-a --generation 1',
    );

    const shown = JSON.parse((await skiff(['service', 'show', '-n', 'svc-a', '-o', 'json'])).out);
    expect(shown).toMatchObject({
      name: 'svc-a',
      state: 'WEBSERVICE_STATE_TRANSITIONING',
      scoringUri: 'http://127.0.0.1:8080/api/v1/service/svc-a/score',
      spec: {
        compute: 'idle',
        models: [{ name: 'iris', version: 1 }],
        snapshotDigest: snapshot.digest,
        deploymentConfig: { autoScaler: { minReplicas: 2, maxReplicas: 4 } },
      },
    });
    const environment = shown.spec.inferenceConfig.environment;
    expect(environment.python.condaDependencies).toBe(
      await readFile(join(project, 'source/myenv.yml'), 'utf8'),
    );
    expect(environment.extraDockerfileSteps).toBe(
      await readFile(join(project, 'source/docker-steps'), 'utf8'),
    );

    const again = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-a2',
      '-m',
      'iris',
      ...deployConfigs('--ct', 'idle', '--no-wait'),
    ]);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`Snapshot ${snapshot.digest} (3 files,`);
    expect(again.out).toContain('is already uploaded.');
  });

  it('waits by default: one line per step, then Healthy and the scoring URI, exit 0', async () => {
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-b',
      '-m',
      'iris:1',
      ...deployConfigs('--ct', 'local'),
    ]);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const steps = run.out
      .split('\n')
      .filter((line) => /^\d{4}-\d\d-\d\dT/.test(line))
      .map((line) => line.split(/\s+/)[1]);
    expect(steps).toEqual(['Queued', 'WorkloadApplied', 'Replicas', 'Healthy']);
    expect(run.out).toMatch(/Replicas +Replicas ready 2\/2$/m);
    expect(run.out).toContain('Service svc-b is Healthy.\n');
    expect(run.out).toContain('Scoring URI: http://127.0.0.1:8080/api/v1/service/svc-b/score\n');
  });

  it('exits 1 on a failed deployment with the reason and the replica logs', async () => {
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-fail',
      ...deployConfigs('--ct', 'local'),
    ]);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/ Failed +Failed: EntryScriptInitFailed/m);
    expect(run.err).toContain(
      'Deployment of svc-fail (generation 1) failed: EntryScriptInitFailed: EntryScriptInitFailed: init() raised ValueError: no model\n',
    );
    expect(run.err).toContain('Replica logs:\n  [r1] init 1\n');
  });

  it('refuses an invalid deployment config before calling, naming the file and field', async () => {
    await writeFile(
      join(project, 'bad.json'),
      JSON.stringify({ computeType: 'aks', autoScaler: { targetUtilization: 500 } }),
    );
    const run = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-bad',
      '--ic',
      'inferenceconfig.json',
      '--dc',
      'bad.json',
      '--ct',
      'local',
    ]);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err).toContain('bad.json');
    expect(run.err).toContain('autoScaler.targetUtilization');
  });

  it("passes the control plane's refusals through in one line", async () => {
    const taken = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-b',
      '-m',
      'iris:2',
      ...deployConfigs('--ct', 'local', '--no-wait'),
    ]);
    expect(taken.code).toBe(1);
    expect(taken.err).toMatch(/^skiff: ALREADY_EXISTS: [^\n]+\n$/);
    const badModel = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-c',
      '-m',
      'nosuch:1',
      ...deployConfigs('--ct', 'local', '--no-wait'),
    ]);
    expect(badModel.code).toBe(1);
    expect(badModel.err).toMatch(/^skiff: [A-Z_]+: [^\n]*nosuch[^\n]*\n$/);
    const badRef = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-c',
      '-m',
      'a:b:c',
      ...deployConfigs('--ct', 'local'),
    ]);
    expect(badRef.code).toBe(2);
  });

  it('lists and shows services', async () => {
    const table = await skiff(['service', 'list']);
    expect(table.out).toMatch(/^NAME +STATE +COMPUTE +READY +GENERATION +SCORING URI$/m);
    expect(table.out).toMatch(
      /^svc-b +Healthy +local +2\/2 +1 +http:\/\/127\.0\.0\.1:8080\/api\/v1\/service\/svc-b\/score$/m,
    );
    expect(table.out).toMatch(/^svc-fail +Failed +local /m);
    const onIdle = JSON.parse(
      (await skiff(['service', 'list', '--compute', 'idle', '-o', 'json'])).out,
    ) as { name: string }[];
    expect(onIdle.map((s) => s.name).sort()).toEqual(['svc-a', 'svc-a2']);
    const shown = await skiff(['service', 'show', '-n', 'svc-fail']);
    expect(shown.out).toMatch(/^State: +Failed$/m);
    expect(shown.out).toMatch(/^Error: +EntryScriptInitFailed: /m);
    const missing = await skiff(['service', 'show', '-n', 'svc-none']);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^skiff: NOT_FOUND: /);
  });

  it('prints keys, regenerates one, and refuses a token for a key-auth service', async () => {
    const keys = JSON.parse(
      (await skiff(['service', 'get-keys', '-n', 'svc-b', '-o', 'json'])).out,
    );
    expect(keys.primaryKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const text = await skiff(['service', 'get-keys', '-n', 'svc-b']);
    expect(text.out).toBe(
      `Primary key:   ${keys.primaryKey}\nSecondary key: ${keys.secondaryKey}\n`,
    );
    const regenerated = JSON.parse(
      (await skiff(['service', 'regen-key', '-n', 'svc-b', '--key', 'secondary', '-o', 'json']))
        .out,
    );
    expect(regenerated.primaryKey).toBe(keys.primaryKey);
    expect(regenerated.secondaryKey).not.toBe(keys.secondaryKey);
    const chosen = await skiff([
      'service',
      'regen-key',
      '-n',
      'svc-b',
      '--key',
      'primary',
      '--set-key',
      'my-own-primary-key-of-sufficient-length-123',
    ]);
    expect(chosen.code, chosen.err).toBe(0);
    expect(chosen.out).toContain('Primary key:   my-own-primary-key-of-sufficient-length-123\n');
    const noKey = await skiff(['service', 'regen-key', '-n', 'svc-b', '--key', 'tertiary']);
    expect(noKey.code).toBe(2);
    const token = await skiff(['service', 'get-access-token', '-n', 'svc-b']);
    expect(token.code).toBe(1);
    expect(token.err).toMatch(/^skiff: FAILED_PRECONDITION: /);
  });

  it('gets an access token for a token-auth service', async () => {
    await writeFile(
      join(project, 'token.json'),
      JSON.stringify({ computeType: 'aks', authEnabled: false, tokenAuthEnabled: true }),
    );
    const deployed = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-token',
      '--ic',
      'inferenceconfig.json',
      '--dc',
      'token.json',
      '--ct',
      'idle',
      '--no-wait',
    ]);
    expect(deployed.code, deployed.err).toBe(0);
    const token = JSON.parse(
      (await skiff(['service', 'get-access-token', '-n', 'svc-token', '-o', 'json'])).out,
    );
    expect(token.accessToken.split('.')).toHaveLength(3);
    expect(token.tokenType).toBe('Bearer');
    expect(Date.parse(token.refreshBy)).toBeGreaterThan(Date.now());
    const text = await skiff(['service', 'get-access-token', '-n', 'svc-token']);
    expect(text.out).toMatch(/^Access token: +\S+\.\S+\.\S+$/m);
  });

  it('prints replica logs, the last N with --tail, and as JSON lines', async () => {
    await store.logs.append('team-s', 'svc-b', [
      { time: new Date().toISOString(), replica: 'r2', stream: 'stderr', text: 'warning: slow' },
      { time: new Date().toISOString(), replica: 'r1', stream: 'stdout', text: 'scored 3 rows' },
    ]);
    const all = await skiff(['service', 'get-logs', '-n', 'svc-b']);
    expect(all.out).toBe('[r1] init 1\n[r2] warning: slow\n[r1] scored 3 rows\n');
    const last = await skiff(['service', 'get-logs', '-n', 'svc-b', '--tail', '1', '-o', 'json']);
    expect(
      last.out
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      expect.objectContaining({ replica: 'r1', stream: 'stdout', text: 'scored 3 rows' }),
    ]);
    const badTail = await skiff(['service', 'get-logs', '-n', 'svc-b', '--tail', 'lots']);
    expect(badTail.code).toBe(2);
  });

  it('updates a service to a new model version and waits for the new generation', async () => {
    const queued = await skiff(['service', 'update', '-n', 'svc-b', '-m', 'iris:2', '--no-wait']);
    expect(queued.code, queued.err).toBe(0);
    expect(queued.out).toMatch(/^Updating svc-b \(generation 2\): operation \S+$/m);
    const waited = await skiff(['service', 'wait', '-n', 'svc-b']);
    expect(waited.code, waited.err).toBe(0);
    expect(waited.out).toContain('Scoring URI: http://127.0.0.1:8080/api/v1/service/svc-b/score');
    const shown = JSON.parse((await skiff(['service', 'show', '-n', 'svc-b', '-o', 'json'])).out);
    expect(shown).toMatchObject({
      generation: 2,
      appliedGeneration: 2,
      spec: { models: [{ name: 'iris', version: 2 }] },
    });
    const nothing = await skiff(['service', 'update', '-n', 'svc-b']);
    expect(nothing.code).toBe(2);
  });

  it('updates the deployment and inference configurations: a changed source is uploaded again', async () => {
    await writeFile(
      join(project, 'bigger.json'),
      JSON.stringify({ computeType: 'aks', autoScaler: { minReplicas: 1, maxReplicas: 7 } }),
    );
    const before = JSON.parse((await skiff(['service', 'show', '-n', 'svc-a', '-o', 'json'])).out);
    const dc = await skiff([
      'service',
      'update',
      '-n',
      'svc-a',
      '--dc',
      'bigger.json',
      '--no-wait',
    ]);
    expect(dc.code, dc.err).toBe(0);
    const afterDc = JSON.parse((await skiff(['service', 'show', '-n', 'svc-a', '-o', 'json'])).out);
    expect(afterDc.spec.deploymentConfig.autoScaler).toMatchObject({
      minReplicas: 1,
      maxReplicas: 7,
    });
    expect(afterDc.spec.snapshotDigest).toBe(before.spec.snapshotDigest);
    expect(afterDc.spec.models).toEqual([{ name: 'iris', version: 1 }]);

    await writeFile(join(project, 'source', 'helper.py'), 'ANSWER = 42\n');
    const ic = await skiff([
      'service',
      'update',
      '-n',
      'svc-a',
      '--ic',
      'inferenceconfig.json',
      '--no-wait',
    ]);
    expect(ic.code, ic.err).toBe(0);
    const snapshot = await snapshotDigest(join(project, 'source'));
    expect(ic.out).toContain(`Uploaded snapshot ${snapshot.digest} (4 files,`);
    const afterIc = JSON.parse((await skiff(['service', 'show', '-n', 'svc-a', '-o', 'json'])).out);
    expect(afterIc.spec.snapshotDigest).toBe(snapshot.digest);
    expect(afterIc.spec.deploymentConfig.autoScaler.maxReplicas).toBe(7);
    expect(afterIc.generation).toBe(before.generation + 2);
  });

  it('snapshots the entry script alone when the inference configuration has no source directory', async () => {
    const alone = join(project, 'alone');
    await mkdir(alone);
    await writeFile(
      join(alone, 'score.py'),
      'def init():\n  pass\ndef run(data):\n  return data\n',
    );
    await writeFile(join(alone, 'unrelated.bin'), 'must not be uploaded');
    await writeFile(
      join(alone, 'ic.json'),
      JSON.stringify({ entryScript: 'score.py', runtime: 'python' }),
    );
    await writeFile(join(alone, 'dc.json'), JSON.stringify({ computeType: 'local' }));
    const run = await runSkiff(
      [
        'model',
        'deploy',
        '-n',
        'svc-alone',
        '--ic',
        'alone/ic.json',
        '--dc',
        'alone/dc.json',
        '--ct',
        'idle',
        '--no-wait',
      ],
      env,
      project,
    );
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(/^Uploaded snapshot sha256:[0-9a-f]{64} \(1 files, /m);
    const missing = await runSkiff(
      [
        'model',
        'deploy',
        '-n',
        'svc-alone',
        '--ic',
        'alone/missing-ic.json',
        '--dc',
        'alone/dc.json',
        '--ct',
        'idle',
      ],
      env,
      project,
    );
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('alone/missing-ic.json');
  });

  it('follows logs until Ctrl-C, then exits 0', async () => {
    const child = spawn(
      process.execPath,
      [skiffBin, 'service', 'get-logs', '-n', 'svc-b', '--follow', '--tail', '1'],
      {
        cwd: project,
        env: { ...process.env, ...env, SKIFF_CONFIG_DIR: project },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    let waiting: { text: string; resolve: () => void } | undefined;
    const check = () => {
      if (waiting && out.includes(waiting.text)) waiting.resolve();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      check();
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const sawLine = (text: string) =>
      new Promise<void>((resolve, reject) => {
        waiting = { text, resolve };
        check();
        void exit.then(() => reject(new Error(`get-logs exited early:\n${out}\n${err}`)));
      });
    // The tail first: the last line the stand-in agent wrote for svc-b.
    await sawLine('[r1] init ');
    // What the AppendLogs RPC does: append, then tell followers.
    await store.logs.append('team-s', 'svc-b', [
      { time: new Date().toISOString(), replica: 'r3', stream: 'stdout', text: 'a new line' },
    ]);
    await store.feed.publish('logs:team-s/svc-b');
    await sawLine('[r3] a new line');
    child.kill('SIGINT');
    expect(await exit, err).toBe(0);
  });

  it('deletes a service', async () => {
    const deleted = await skiff(['service', 'delete', '-n', 'svc-a2']);
    expect(deleted.code, deleted.err).toBe(0);
    expect(deleted.out).toMatch(/^Deleting svc-a2: operation \S+\n$/);
    const shown = JSON.parse((await skiff(['service', 'show', '-n', 'svc-a2', '-o', 'json'])).out);
    expect(shown.state).toBe('WEBSERVICE_STATE_DELETING');
  });

  it('stops waiting on Ctrl-C, leaves the deployment going and says how to resume', async () => {
    const child = spawn(
      process.execPath,
      [skiffBin, 'model', 'deploy', '-n', 'svc-int', ...deployConfigs('--ct', 'idle')],
      {
        cwd: project,
        env: { ...process.env, ...env, SKIFF_CONFIG_DIR: project },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Interrupt once the first progress line shows the CLI is waiting.
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (/ Queued /.test(out)) resolve();
      });
      void exit.then(() => reject(new Error(`skiff exited before waiting:\n${out}\n${err}`)));
    });
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(err).toContain('Stopped waiting; the deployment goes on.\n');
    expect(err).toContain('Resume watching with: skiff service wait -n svc-int --generation 1\n');
    const shown = JSON.parse((await skiff(['service', 'show', '-n', 'svc-int', '-o', 'json'])).out);
    expect(shown.state).toBe('WEBSERVICE_STATE_TRANSITIONING');
  });

  it('deploys YAML files to the computeTargetName they name when --ct is absent', async () => {
    await writeFile(
      join(project, 'inferenceconfig.yml'),
      [
        'entryScript: score.py',
        'sourceDirectory: source',
        'condaFile: myenv.yml',
        'extraDockerfileSteps: docker-steps',
        'baseImage: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(project, 'deploymentconfig.yml'),
      [
        'computeType: aks',
        'computeTargetName: idle',
        'autoScaler:',
        '  autoscaleEnabled: yes',
        '  maxReplicas: 6',
        'livenessProbeRequirements:',
        '  successThreshold: 2',
        '',
      ].join('\n'),
    );
    const yamlFiles = ['--ic', 'inferenceconfig.yml', '--dc', 'deploymentconfig.yml'];
    const named = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-yaml',
      '-m',
      'iris:1',
      ...yamlFiles,
      '--no-wait',
    ]);
    expect(named.err).toBe('');
    expect(named.code).toBe(0);
    expect(named.out).toMatch(/^Deploying svc-yaml \(generation 1\) on idle: operation \S+$/m);
    const shown = JSON.parse(
      (await skiff(['service', 'show', '-n', 'svc-yaml', '-o', 'json'])).out,
    );
    expect(shown.spec).toMatchObject({
      compute: 'idle',
      deploymentConfig: {
        autoScaler: { autoscaleEnabled: true, maxReplicas: 6 },
        livenessProbeRequirements: { successThreshold: 2 },
      },
    });
    // The same files as JSON give the same environment.
    const json = JSON.parse((await skiff(['service', 'show', '-n', 'svc-a', '-o', 'json'])).out);
    expect(shown.spec.inferenceConfig.environment).toEqual(json.spec.inferenceConfig.environment);

    // --ct wins over computeTargetName.
    const overridden = await skiff([
      'model',
      'deploy',
      '-n',
      'svc-yaml2',
      '-m',
      'iris:1',
      ...yamlFiles,
      '--ct',
      'local',
      '--no-wait',
    ]);
    expect(overridden.code, overridden.err).toBe(0);
    expect(overridden.out).toMatch(/^Deploying svc-yaml2 \(generation 1\) on local: /m);
  });
});
