#!/usr/bin/env node
// Control-plane benchmark: throughput and p50/p99 latency of 1,000 concurrent GetWebservice
// calls and 200 concurrent DeployWebservice calls (jobs only, no agent) against the real
// control plane process on its own redis-server, beside a bare grpc-js server answering the
// same methods with canned responses (no auth, no Redis), in one run. Loopback only.
//
//   node --import @skiff/source-runtime/register tools/bench/control-plane/bench.mjs
//
// BENCH_ROUNDS (default 5) repeats the 1,000-call burst. Writes bench/results/control-plane-<time>.json.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, Server, ServerCredentials } from '@grpc/grpc-js';
import {
  ComputeKind,
  ComputeServiceClient,
  Role,
  WebserviceServiceClient,
  WebserviceServiceService,
  WorkspaceServiceClient,
} from '@skiff/proto';
import { freePort, startRedisServer } from '@skiff/testing';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const GETS = 1_000;
const DEPLOYS = 200;
const ADMIN = `skf_${'ab'.repeat(12)}_${'A'.repeat(43)}`;

const spec = (i) => ({
  compute: 'local',
  models: [],
  snapshotDigest: '',
  inferenceConfig: { entryScript: 'score.py', runtime: '', sourceDirectory: '', description: '' },
  deploymentConfig: {
    computeType: 1,
    autoScaler: { maxReplicas: 2 + (i % 5) },
    tags: {},
    properties: {},
    namespace: '',
    description: '',
  },
});

function unary(client, method, request, metadata) {
  return new Promise((resolve, reject) =>
    client[method](request, metadata, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Issues `count` calls at once; returns throughput and latency percentiles. */
async function burst(count, invoke) {
  const latencies = new Array(count);
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const t0 = process.hrtime.bigint();
      await invoke(i);
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    calls: count,
    seconds,
    perSecond: count / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

function merge(results) {
  const calls = results.reduce((n, r) => n + r.calls, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  const p50s = results.map((r) => r.p50).sort((a, b) => a - b);
  const p99s = results.map((r) => r.p99).sort((a, b) => a - b);
  return {
    calls,
    seconds,
    perSecond: calls / seconds,
    p50: p50s[Math.floor(p50s.length / 2)],
    p99: p99s[Math.floor(p99s.length / 2)],
  };
}

async function startPeer() {
  const canned = {
    webservice: {
      workspace: 'bench',
      name: 'svc-0',
      state: 2,
      scoringUri: 'http://127.0.0.1:8080/api/v1/service/svc-0/score',
      swaggerUri: '',
      generation: 1,
      appliedGeneration: 1,
      environmentHash: 'sha256:v1:' + '0'.repeat(64),
      authMode: 2,
      updatedBy: 'x',
      spec: spec(0),
    },
  };
  const server = new Server();
  const fail = (_call, callback) => callback({ code: 12, details: 'unimplemented' });
  server.addService(WebserviceServiceService, {
    getWebservice: (_call, callback) => callback(null, canned),
    deployWebservice: (_call, callback) =>
      callback(null, { ...canned, operationId: 'deploy.bench.svc-0.1' }),
    updateWebservice: fail,
    listWebservices: fail,
    deleteWebservice: fail,
    getWebserviceKeys: fail,
    regenerateWebserviceKey: fail,
    getWebserviceToken: fail,
    watchDeployment: (call) => call.end(),
    getWebserviceLogs: (call) => call.end(),
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, close: () => new Promise((r) => server.tryShutdown(r)) };
}

async function startControlPlane(redisUrl) {
  const dataDir = await mkdtemp(join(tmpdir(), 'skiff-bench-cp-'));
  const grpcPort = await freePort();
  const child = spawn(
    process.execPath,
    [join(REPO, 'apps/control-plane/bin/skiff-control-plane.js')],
    {
      env: {
        ...process.env,
        REDIS_URL: redisUrl,
        SKIFF_DATA_DIR: dataDir,
        SKIFF_ADMIN_TOKEN: ADMIN,
        SKIFF_GRPC_LISTEN: `127.0.0.1:${grpcPort}`,
        SKIFF_HTTP_LISTEN: `127.0.0.1:${await freePort()}`,
        SKIFF_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const address = `127.0.0.1:${grpcPort}`;
  const probe = new WorkspaceServiceClient(address, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${ADMIN}`);
  for (let i = 0; ; i++) {
    try {
      await unary(probe, 'listWorkspaces', { pageSize: 0, pageToken: '' }, metadata);
      break;
    } catch (error) {
      if (i > 200) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  probe.close();
  return {
    address,
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function clients(address, count) {
  return Array.from({ length: count }, () => ({
    webservices: new WebserviceServiceClient(address, credentials.createInsecure()),
  }));
}

async function measure(label, address, metadata, workspace) {
  const pool = clients(address, 4);
  const pick = (i) => pool[i % pool.length].webservices;
  const gets = [];
  await burst(100, (i) => unary(pick(i), 'getWebservice', { workspace, name: 'svc-0' }, metadata)); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    gets.push(
      await burst(GETS, (i) =>
        unary(pick(i), 'getWebservice', { workspace, name: 'svc-0' }, metadata),
      ),
    );
  }
  const deploys = await burst(DEPLOYS, (i) =>
    unary(
      pick(i),
      'deployWebservice',
      { workspace, name: `bench-${i}`, spec: spec(i), overwrite: false },
      metadata,
    ),
  );
  for (const c of pool) c.webservices.close();
  return { label, get: merge(gets), deploy: deploys };
}

const redis = await startRedisServer({ appendOnly: true });
const peer = await startPeer();
const controlPlane = await startControlPlane(redis.url);
try {
  const admin = new Metadata();
  admin.set('authorization', `Bearer ${ADMIN}`);
  const ws = new WorkspaceServiceClient(controlPlane.address, credentials.createInsecure());
  const cs = new ComputeServiceClient(controlPlane.address, credentials.createInsecure());
  await unary(
    ws,
    'createWorkspace',
    { workspace: { name: 'bench', description: '', defaultNamespace: '' } },
    admin,
  );
  const { token } = await unary(
    ws,
    'createCredential',
    { workspace: 'bench', role: Role.ROLE_DEPLOYER, description: 'bench', compute: '' },
    admin,
  );
  await unary(
    cs,
    'attachCompute',
    {
      compute: {
        workspace: 'bench',
        name: 'local',
        kind: ComputeKind.COMPUTE_KIND_LOCAL,
        clusterPurpose: 0,
        namespace: '',
        routerUrl: '',
        region: '',
        apiServer: '',
        state: 0,
        readyAgents: 0,
      },
    },
    admin,
  );
  const deployer = new Metadata();
  deployer.set('authorization', `Bearer ${token}`);
  const wsClient = new WebserviceServiceClient(controlPlane.address, credentials.createInsecure());
  await unary(
    wsClient,
    'deployWebservice',
    { workspace: 'bench', name: 'svc-0', spec: spec(0), overwrite: false },
    deployer,
  );
  wsClient.close();
  ws.close();
  cs.close();

  const skiff = await measure(
    'skiff control plane (auth + Redis AOF + BullMQ)',
    controlPlane.address,
    deployer,
    'bench',
  );
  const bare = await measure('bare grpc-js, canned answers', peer.address, new Metadata(), 'bench');

  const row = (name, s, b) =>
    `| ${name} | ${s.calls} | ${s.perSecond.toFixed(0)} | ${s.p50.toFixed(2)} | ${s.p99.toFixed(2)} | ${b.perSecond.toFixed(0)} | ${b.p50.toFixed(2)} | ${b.p99.toFixed(2)} | ${(s.perSecond / b.perSecond).toFixed(2)} |`;
  console.log(
    `\ncontrol-plane benchmark (${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')})\n`,
  );
  console.log(
    '| call | calls | skiff calls/s | skiff p50 ms | skiff p99 ms | peer calls/s | peer p50 ms | peer p99 ms | throughput ratio |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  console.log(row(`GetWebservice, ${GETS} concurrent x ${ROUNDS}`, skiff.get, bare.get));
  console.log(
    row(`DeployWebservice, ${DEPLOYS} concurrent (jobs only)`, skiff.deploy, bare.deploy),
  );
  await mkdir(join(REPO, 'bench/results'), { recursive: true });
  const file = join(
    REPO,
    `bench/results/control-plane-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  await writeFile(
    file,
    JSON.stringify({ cores: cpus().length, loadavg: loadavg(), skiff, peer: bare }, null, 2),
  );
  console.log(`\nwrote ${file}`);
} finally {
  await controlPlane.close();
  await peer.close();
  await redis.stop();
}
