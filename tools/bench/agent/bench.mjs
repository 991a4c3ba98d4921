#!/usr/bin/env node
// Agent benchmark: how long the local runtime takes to bring examples/iris-python to Healthy,
// and to scale it 1 → 8, beside the floor — bare skiff-scoring-server processes started by
// hand for the same model, in the same run. Every part is a real process on 127.0.0.1: its own
// redis-server, the control plane, one agent, the replicas it starts.
//
//   node --import @skiff/source-runtime/register tools/bench/agent/bench.mjs
//
// BENCH_ROUNDS (default 3) rounds, each: Deploy RPC → Healthy with 1 replica, then scale that
// service 1 → 8 (a scale job, as the autoscaler will enqueue it), Deploy RPC → Healthy with 4
// replicas, `skiff model deploy` (CLI wall clock, 1 replica), and the floors (1, 4 and 7 bare
// servers started at once). Artifacts are cached: a first CLI deploy warms the agent's
// artifact cache, then every measured deploy is a new service name with the same snapshot and
// model. Writes bench/results/agent-<time>.json. See README.md beside this file.
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { SkiffClient, SkiffApiError } from '@skiff/client';
import { DeploymentStep, WebserviceState } from '@skiff/proto';
import { ComputeQueue } from '@skiff/queue';
import { freePort, startRedisServer } from '@skiff/testing';
import { Redis } from 'ioredis';
import {
  BIN,
  REPO,
  cliOf,
  createRun,
  processesOf,
  sleep,
  startAgent,
  startControlPlane,
  startNode,
  waitFor as poll,
} from '../lib/platform.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SCALE_TO = 8;
const MODEL_DIR = join(REPO, 'examples/models/iris-logreg/1');
const EXAMPLE = join(REPO, 'examples/iris-python');
const PREFIX = 'skiff:';
/** A workspace name of this run alone: its replicas are found (and swept) by it. */
const WORKSPACE = `bench-${randomBytes(4).toString('hex')}`;
const NODE = 'bench-node';
const TIMEOUT_MS = 120_000;

const now = () => performance.now();

// ---------------------------------------------------------------- processes

/** This run: its temporary directory, what it started and their cleanup (../lib/platform.mjs). */
const run = await createRun('agent', WORKSPACE);
const { started, cleanup } = run;
const work = run.dir;

/** Pids of every process of this run's `service` (of any service without one). */
const processesOfRun = (service = '') => processesOf(WORKSPACE, service);

/** Polls `check` every `everyMs` (50 by default) until it returns a value, or fails. */
const waitFor = (what, check, { timeoutMs = TIMEOUT_MS, everyMs = 50, context } = {}) =>
  poll(what, check, { timeoutMs, everyMs, context });

/** GET http://<address>/ with no keep-alive; resolves with the status, 0 when it fails. */
function getRoot(address) {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const req = request({ host, port: Number(port), path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(2_000, () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

// ---------------------------------------------------------------- the platform

async function startPlatform() {
  const redis = await startRedisServer();
  started.push({ stop: () => redis.stop() });
  const { endpoint, admin, deployerToken, agentToken } = await startControlPlane(run, WORKSPACE, {
    redisUrl: redis.url,
    prefix: PREFIX,
  });
  const deployer = await SkiffClient.connect({ endpoint, token: deployerToken });
  started.push({ stop: async () => deployer.close() });
  const agent = await startAgent(run, WORKSPACE, {
    endpoint,
    agentToken,
    redisUrl: redis.url,
    node: NODE,
  });

  const state = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await state.connect();
  started.push({ stop: async () => state.disconnect() });
  const queue = await ComputeQueue.connect({
    redisUrl: redis.url,
    prefix: `${PREFIX.replace(/:$/, '')}:bull`,
    workspace: WORKSPACE,
    compute: 'local',
  });
  started.push({ stop: () => queue.close() });
  await waitFor(
    'the agent to register (compute Ready)',
    async () => {
      const { compute } = await admin.computes.get({ workspace: WORKSPACE, name: 'local' });
      return compute?.readyAgents ? true : undefined;
    },
    { everyMs: 100, context: agent.output },
  );

  const cli = cliOf(run, WORKSPACE, { endpoint, deployerToken, context: agent.output });
  return { admin, deployer, agent, state, queue, cli };
}

// ---------------------------------------------------------------- measurements

/** What the agent last reported for `service` (the control plane's copy, as in tests/e2e). */
async function reported(platform, service) {
  const raw = await platform.state.get(
    `${PREFIX}ws:${WORKSPACE}:compute:local:agent:${NODE}:replicas`,
  );
  return (raw ? JSON.parse(raw) : []).filter((replica) => replica.service === service);
}

/**
 * The replica records the agent's local driver keeps (agent state dir; see libs/workload's
 * local README), each with `initFinished`: the time its scoring server logged
 * `init() finished` (from replica.log, `<ISO time> <stream> <pino JSON line>`), i.e. the moment
 * its GET / turned 200 — before the agent's probe saw it.
 */
async function replicaRecords(service) {
  const dir = join(work, 'agent', 'replicas', WORKSPACE, service);
  const records = [];
  for (const entry of await readdir(dir).catch(() => [])) {
    const record = await readFile(join(dir, entry, 'replica.json'), 'utf8').then(
      (text) => JSON.parse(text),
      () => undefined,
    );
    if (!record) continue;
    const log = await readFile(join(dir, entry, 'replica.log'), 'utf8').catch(() => '');
    const line = log.split('\n').find((l) => l.includes('init() finished'));
    let initFinished = Number.NaN;
    try {
      initFinished = JSON.parse(line.slice(line.indexOf('{'))).time;
    } catch {
      // no such line (yet), or another format: the breakdown shows —
    }
    records.push({ ...record, initFinished });
  }
  return records;
}

/**
 * Waits for `count` replicas of `service` reported ready in GetWebservice, then checks that
 * every address the agent reported answers GET / with 200. Returns the addresses.
 */
async function crossCheck(platform, service, count) {
  const addresses = await waitFor(
    `${count} ready replicas of ${service} reported`,
    async () => {
      const ready = (await reported(platform, service)).filter((r) => r.phase === 'ready');
      return ready.length === count ? ready.map((r) => r.address) : undefined;
    },
    { context: platform.agent.output },
  );
  const statuses = await Promise.all(addresses.map(getRoot));
  if (new Set(addresses).size !== count || statuses.some((status) => status !== 200)) {
    throw new Error(`${service}: GET / on ${addresses.join(', ')} answered ${statuses.join(', ')}`);
  }
  return addresses;
}

/** Polls GetWebservice until `replicas.ready` reaches `count`; resolves with that moment. */
async function readyCountReached(platform, service, count, from) {
  await waitFor(
    `GetWebservice ${service} to show ${count} ready`,
    async () => {
      const { webservice } = await platform.deployer.webservices.get({
        workspace: WORKSPACE,
        name: service,
      });
      if (webservice?.state === WebserviceState.WEBSERVICE_STATE_FAILED) {
        throw new Error(`${service} failed: ${webservice.error?.message}`);
      }
      return (webservice?.replicas?.ready ?? 0) >= count ? true : undefined;
    },
    { everyMs: 50, context: platform.agent.output },
  );
  return now() - from;
}

/**
 * Deploy RPC → HEALTHY for a new service `name` with `replicas` replicas. Returns the time to
 * the terminal HEALTHY event (as WatchDeployment streams it), to GetWebservice's ready count,
 * and each deployment step's time since the RPC (for the breakdown).
 */
async function measureDeploy(platform, spec, name, replicas) {
  const withCount = {
    ...spec,
    deploymentConfig: { ...spec.deploymentConfig, numReplicas: replicas },
  };
  const t0 = now();
  const epoch0 = Date.now();
  const { webservice } = await platform.deployer.webservices.deploy({
    workspace: WORKSPACE,
    name,
    spec: withCount,
  });
  const rpcMs = now() - t0;
  const readyMs = readyCountReached(platform, name, replicas, t0);
  const steps = {};
  let healthyMs;
  let readyAtHealthy;
  for await (const { event } of platform.deployer.webservices.watchDeployment({
    workspace: WORKSPACE,
    name,
    generation: webservice.generation,
  })) {
    const step = DeploymentStep[event.step].replace(/^DEPLOYMENT_STEP_/, '').toLowerCase();
    const at = event.time ? event.time.getTime() - epoch0 : now() - t0;
    const key =
      step === 'replicas' && event.detail?.$case === 'replicas'
        ? `replicas ${event.detail.replicas.ready}/${event.detail.replicas.desired}`
        : step;
    steps[key] ??= at;
    if (event.terminal) {
      if (event.step !== DeploymentStep.DEPLOYMENT_STEP_HEALTHY) {
        throw new Error(`${name}: ${event.message}\n${platform.agent.output()}`);
      }
      healthyMs = now() - t0;
      // What a caller polling GetWebservice sees at that moment (live replica reports).
      const { webservice: atHealthy } = await platform.deployer.webservices.get({
        workspace: WORKSPACE,
        name,
      });
      readyAtHealthy = atHealthy?.replicas?.ready ?? 0;
      break;
    }
  }
  const readyCountMs = await readyMs;
  await crossCheck(platform, name, replicas);
  const records = await replicaRecords(name);
  return {
    name,
    replicas,
    rpcMs,
    healthyMs,
    readyCountMs,
    readyAtHealthy,
    steps,
    replicaSteps: {
      'last replica init() finished (its log)':
        Math.max(...records.map((r) => r.initFinished)) - epoch0,
      'last replica ready (agent probe)': Math.max(...records.map((r) => r.readySince)) - epoch0,
    },
    generation: webservice.generation,
  };
}

/** Scale job 1 → SCALE_TO on `service` → GetWebservice shows every replica ready. */
async function measureScale(platform, service, generation) {
  const before = new Set((await replicaRecords(service)).map((r) => r.id));
  const t0 = now();
  const epoch0 = Date.now();
  await platform.queue.enqueue({
    kind: 'scale',
    workspace: WORKSPACE,
    service,
    generation,
    replicas: SCALE_TO,
    reason: 'bench',
    // The decision's per-service sequence (newer queue schema; an older one ignores it). Each
    // round scales a service of its own, so its first decision is 1.
    sequence: 1,
  });
  const readyCountMs = await readyCountReached(platform, service, SCALE_TO, t0);
  await crossCheck(platform, service, SCALE_TO);
  const added = (await replicaRecords(service)).filter((r) => !before.has(r.id));
  return {
    service,
    readyCountMs,
    steps: {
      'first replica created': Math.min(...added.map((r) => r.createdAt)) - epoch0,
      'last replica started': Math.max(...added.map((r) => r.startedAt)) - epoch0,
      'last replica init() finished (its log)':
        Math.max(...added.map((r) => r.initFinished)) - epoch0,
      'last replica ready (agent probe)': Math.max(...added.map((r) => r.readySince)) - epoch0,
    },
  };
}

/** `skiff model deploy` of a new service, 1 replica: the CLI's wall clock to its exit. */
async function measureCli(platform, project, name) {
  const t0 = now();
  await platform.cli(
    [
      'model',
      'deploy',
      '-n',
      name,
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
  const wallMs = now() - t0;
  await crossCheck(platform, name, 1);
  return { name, wallMs };
}

/** Deletes a service and waits until it and every one of its processes are gone. */
async function remove(platform, name) {
  await platform.deployer.webservices.delete({ workspace: WORKSPACE, name });
  await waitFor(
    `${name} to be deleted`,
    async () => {
      try {
        await platform.deployer.webservices.get({ workspace: WORKSPACE, name });
        return undefined;
      } catch (error) {
        if (error instanceof SkiffApiError && error.code === 'NOT_FOUND') return true;
        throw error;
      }
    },
    { context: platform.agent.output },
  );
  await waitFor(`${name}'s processes to end`, async () =>
    processesOfRun(name).length === 0 ? true : undefined,
  );
}

/**
 * The floor: `count` bare skiff-scoring-server processes started at once by hand for the
 * same model (same entry script, model directory and concurrency as the replicas), each timed
 * from spawn to its first GET / 200. A server logs `init() finished; ready` the moment GET /
 * turns 200, so the probing starts there (polling from the spawn every few ms would load the
 * starting servers, which the agent's 250 ms probe does not). Returns the slowest, and the
 * first one's breakdown from its own log lines (listening, init() finished).
 */
async function measureFloor(count) {
  const servers = [];
  try {
    const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
    const t0 = now();
    const epoch0 = Date.now();
    for (const [i, port] of ports.entries()) {
      const server = startNode(BIN('scoring-server', 'skiff-scoring-server'), {
        SKIFF_ENTRY_SCRIPT: 'score.py',
        SKIFF_SOURCE_DIR: EXAMPLE,
        SKIFF_RUNTIME: 'python',
        AZUREML_MODEL_DIR: MODEL_DIR,
        SKIFF_HOST: '127.0.0.1',
        SKIFF_PORT: String(port),
        SKIFF_MAX_CONCURRENT_REQUESTS: '1',
        SKIFF_SCORING_TIMEOUT_MS: '5000',
        SKIFF_SERVICE_ID: `${WORKSPACE}/floor`,
        SKIFF_REPLICA_ID: `floor-${i}`,
      });
      servers.push(server);
      started.push(server);
    }
    const times = await Promise.all(
      ports.map((port, i) =>
        waitFor(
          `bare scoring server ${i} to answer GET / 200`,
          async () => {
            const server = servers[i];
            if (server.child.exitCode !== null) {
              throw new Error(`exited ${server.child.exitCode}: ${server.output()}`);
            }
            if (!/init\(\) finished/.test(server.output())) return undefined;
            return (await getRoot(`127.0.0.1:${port}`)) === 200 ? now() - t0 : undefined;
          },
          { everyMs: 5, timeoutMs: 60_000, context: servers[i].output },
        ),
      ),
    );
    const lines = servers[0]
      .output()
      .split('\n')
      .flatMap((line) => {
        try {
          return [JSON.parse(line)];
        } catch {
          return [];
        }
      });
    const at = (pattern) => {
      const line = lines.find((l) => pattern.test(l.msg ?? ''));
      return line ? line.time - epoch0 : Number.NaN;
    };
    return {
      count,
      readyMs: Math.max(...times),
      steps: { listening: at(/^listening/), 'init() finished': at(/^init\(\) finished/) },
    };
  } finally {
    for (const server of servers) {
      await server.stop();
      started.splice(started.indexOf(server), 1);
    }
  }
}

// ---------------------------------------------------------------- report

function stats(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1) };
}

const ms = (value) => (Number.isFinite(value) ? value.toFixed(0) : '—');

function report(results) {
  const floor1 = stats(results.rounds.map((r) => r.floor1.readyMs)).median;
  const rows = [
    ['Deploy RPC → HEALTHY event, 1 replica', (r) => r.deploy1.healthyMs, 1],
    ['Deploy RPC → GetWebservice ready 1/1', (r) => r.deploy1.readyCountMs, 1],
    ['Deploy RPC → HEALTHY event, 4 replicas', (r) => r.deploy4.healthyMs, 4],
    ['Deploy RPC → GetWebservice ready 4/4', (r) => r.deploy4.readyCountMs, 4],
    [
      `scale job 1 → ${SCALE_TO} → GetWebservice ready ${SCALE_TO}/${SCALE_TO}`,
      (r) => r.scale.readyCountMs,
      7,
    ],
    ['`skiff model deploy` wall clock (CLI process), 1 replica', (r) => r.cli.wallMs, 1],
    ['floor: 1 bare scoring server → GET / 200', (r) => r.floor1.readyMs, 1],
    ['floor: 4 bare scoring servers at once → all GET / 200', (r) => r.floor4.readyMs, 4],
    ['floor: 7 bare scoring servers at once → all GET / 200', (r) => r.floor7.readyMs, 7],
  ];
  const floors = {
    1: floor1,
    4: stats(results.rounds.map((r) => r.floor4.readyMs)).median,
    7: stats(results.rounds.map((r) => r.floor7.readyMs)).median,
  };
  console.log(
    `\nagent benchmark (${results.cores} cores, load average ${results.loadBefore.toFixed(1)} at the start, ${results.loadavg[0].toFixed(1)} at the end, ` +
      `${ROUNDS} rounds, cached artifacts: each deploy is a new service name after a warm-up deploy)\n`,
  );
  console.log(
    '| measurement | median ms | min ms | max ms | ÷ floor (1 server) | ÷ floor (same count at once) |',
  );
  console.log('|---|---|---|---|---|---|');
  const summary = {};
  for (const [label, pick, parallel] of rows) {
    const s = stats(results.rounds.map(pick));
    summary[label] = s;
    console.log(
      `| ${label} | ${ms(s.median)} | ${ms(s.min)} | ${ms(s.max)} | ${(s.median / floor1).toFixed(1)} | ${(s.median / floors[parallel]).toFixed(1)} |`,
    );
  }
  // One coherent timeline per measurement: the round whose headline figure is the median
  // (medians taken step by step would mix rounds and need not even be in order).
  const timeline = (title, headline, pick) => {
    const sorted = [...results.rounds].sort((x, y) => headline(x) - headline(y));
    const round = sorted[Math.floor((sorted.length - 1) / 2)];
    const entries = Object.entries(pick(round))
      .filter(([, value]) => Number.isFinite(value))
      .sort((x, y) => x[1] - y[1]);
    console.log(`  ${title}: ${entries.map(([k, v]) => `${k} ${ms(v)}`).join(' · ')}`);
    return Object.fromEntries(entries);
  };
  console.log('\nwhere the time goes (ms since the request, in the median round):');
  const steps = {
    deploy1: timeline(
      'deploy, 1 replica',
      (r) => r.deploy1.healthyMs,
      (r) => ({
        ...r.deploy1.steps,
        ...r.deploy1.replicaSteps,
        'GetWebservice ready': r.deploy1.readyCountMs,
      }),
    ),
    deploy4: timeline(
      'deploy, 4 replicas',
      (r) => r.deploy4.healthyMs,
      (r) => ({
        ...r.deploy4.steps,
        ...r.deploy4.replicaSteps,
        'GetWebservice ready': r.deploy4.readyCountMs,
      }),
    ),
    scale: timeline(
      `scale 1 → ${SCALE_TO}`,
      (r) => r.scale.readyCountMs,
      (r) => ({ ...r.scale.steps, 'GetWebservice ready': r.scale.readyCountMs }),
    ),
    floor1: timeline(
      'floor, 1 server (its log lines)',
      (r) => r.floor1.readyMs,
      (r) => ({ ...r.floor1.steps, 'GET / 200': r.floor1.readyMs }),
    ),
  };
  const atHealthy = (pick) => results.rounds.map((r) => pick(r).readyAtHealthy).join(', ');
  console.log(
    `  GetWebservice's ready count right after the HEALTHY event, per round: 1 replica ${atHealthy((r) => r.deploy1)}; ` +
      `4 replicas ${atHealthy((r) => r.deploy4)}`,
  );
  console.log(`  cold first deploy (CLI, artifacts not yet cached): ${ms(results.coldCliMs)}`);
  return { summary, steps };
}

// ---------------------------------------------------------------- main

const loadBefore = loadavg()[0];
try {
  const platform = await startPlatform();
  const project = join(work, 'iris-python');
  await cp(EXAMPLE, project, { recursive: true });
  // The example's file with a fixed replica count instead of the autoscaler (not there yet).
  const { autoScaler: _autoscaler, ...example } = JSON.parse(
    await readFile(join(EXAMPLE, 'deploymentconfig.json'), 'utf8'),
  );
  await writeFile(
    join(project, 'deploymentconfig.json'),
    JSON.stringify({ ...example, numReplicas: 1 }),
  );
  await platform.cli(
    ['model', 'register', '-n', 'iris-logreg', '-p', join(MODEL_DIR, 'iris-logreg.json')],
    project,
  );
  // Warm-up: uploads the snapshot and fills the agent's artifact cache (snapshot and model).
  const cold = await measureCli(platform, project, 'warm-up');
  const { webservice: warm } = await platform.deployer.webservices.get({
    workspace: WORKSPACE,
    name: 'warm-up',
  });
  const spec = warm.spec;
  await remove(platform, 'warm-up');
  await measureFloor(1); // warms the OS page cache for node, tsx and Python alike

  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Each measurement beside its floor, so a change in the machine's load falls on both.
    const floor1 = await measureFloor(1);
    const deploy1 = await measureDeploy(platform, spec, `one-r${round}`, 1);
    const scale = await measureScale(platform, deploy1.name, deploy1.generation);
    await remove(platform, deploy1.name);
    const floor7 = await measureFloor(SCALE_TO - 1);
    const deploy4 = await measureDeploy(platform, spec, `four-r${round}`, 4);
    await remove(platform, deploy4.name);
    const floor4 = await measureFloor(4);
    const cli = await measureCli(platform, project, `cli-r${round}`);
    await remove(platform, cli.name);
    rounds.push({ deploy1, scale, deploy4, cli, floor1, floor4, floor7 });
    console.error(
      `round ${round + 1}/${ROUNDS}: deploy 1 ${ms(deploy1.healthyMs)} ms, deploy 4 ${ms(deploy4.healthyMs)} ms, ` +
        `scale 1→${SCALE_TO} ${ms(scale.readyCountMs)} ms, cli ${ms(cli.wallMs)} ms, floor ${ms(floor1.readyMs)} ms`,
    );
  }
  const results = {
    cores: cpus().length,
    loadBefore,
    loadavg: loadavg(),
    coldCliMs: cold.wallMs,
    rounds,
  };
  const printed = report(results);
  await mkdir(join(REPO, 'bench/results'), { recursive: true });
  const file = join(
    REPO,
    `bench/results/agent-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  await writeFile(file, JSON.stringify({ ...results, ...printed }, null, 2));
  console.log(`\nwrote ${file}`);
} finally {
  await cleanup();
}
