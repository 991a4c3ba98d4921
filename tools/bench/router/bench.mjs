#!/usr/bin/env node
// Router benchmark: the overhead of skiff-router as a reverse proxy. One tiny upstream (a bare
// node:http server answering a small JSON body) measured three ways in one run with one load
// generator, wrk: direct, behind nginx (one worker, upstream keep-alive), and behind
// skiff-router with key auth on (its table from a RoutingService stand-in). Loopback only.
//
//   node --import @skiff/source-runtime/register tools/bench/router/bench.mjs
//
// Equal cores: the peer under test (the upstream when direct, else nginx or the router) is
// pinned to BENCH_PEER_CPU (0) and wrk to BENCH_LOAD_CPU (1) with taskset; behind a proxy the
// upstream runs on wrk's CPU, so each proxy has a CPU to itself. BENCH_ROUNDS (3) rounds, the
// order of the three setups alternating, each setup BENCH_WARMUP_S (3) of warm-up then
// BENCH_DURATION_S (10) measured, BENCH_CONNECTIONS (32) connections, one wrk thread.
// BENCH_PROFILE=1 adds a separate run of the router under `node --cpu-prof` (after the
// measured rounds, so it does not slow them) and prints where its CPU time goes.
// BENCH_ROUTER_LOG_LEVEL (info: one log line per request) is the router's SKIFF_LOG_LEVEL.
// BENCH_ROUTER_CANDIDATE=<dir>: a copy of the repository (or of apps/router, tsconfig.base.json
// and package.json, with node_modules linked) holding a changed router; it is measured as a
// fourth setup in the same rounds, and the table gives candidate ÷ current.
//
// Needs wrk and nginx (apt-get install -y wrk nginx-light). Writes
// bench/results/router-<time>.json. See README.md beside this file.
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import {
  REPO,
  cpuSeconds,
  createRun,
  requireTools,
  serviceKey,
  startNginx,
  startSkiffRouter,
  startUpstream,
} from './peers.mjs';
import { summariseProfile } from './profile.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PEER_CPU = Number(process.env.BENCH_PEER_CPU ?? 0);
const LOAD_CPU = Number(process.env.BENCH_LOAD_CPU ?? 1);
const PROFILE = process.env.BENCH_PROFILE === '1';
/** SKIFF_LOG_LEVEL of the router(s): `info` logs one line per request, as deployed. */
const ROUTER_LOG_LEVEL = process.env.BENCH_ROUTER_LOG_LEVEL ?? 'info';
/** A tree with a changed apps/router, measured as a fourth setup beside the current one. */
const CANDIDATE = process.env.BENCH_ROUTER_CANDIDATE;
const BODY = JSON.stringify({ data: [[5.1, 3.5, 1.4, 0.2]] });
/** Targets from the issue: router ≥ 0.6 × nginx's req/s, p99 ≤ 1.5 × nginx's. */
const TARGET_RPS_RATIO = 0.6;
const TARGET_P99_RATIO = 1.5;

requireTools(['wrk', 'nginx', 'taskset']);
if (cpus().length < 2 && PEER_CPU === LOAD_CPU) {
  console.error('note: one CPU only; the peer and wrk share it');
}

/** Busy and total jiffies of `cpu` from /proc/stat. */
function coreTimes(cpu) {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = values[3] + values[4];
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** wrk's Lua script: the request, and a JSON summary line printed when it is done. */
function wrkScript(authorization) {
  return `wrk.method = "POST"
wrk.body = '${BODY}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "${authorization}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p90Us":%d,"p99Us":%d,"maxUs":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;
}

/** One wrk run against `url`; resolves with its summary. */
function wrk(run, url, seconds, script) {
  const handle = run.spawn(LOAD_CPU, 'wrk', [
    '-t1',
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    '--timeout',
    '5s',
    '-s',
    script,
    url,
  ]);
  let out = '';
  handle.child.stdout.on('data', (chunk) => (out += chunk));
  return handle.exited.then((code) => {
    handle.stop().catch(() => undefined);
    const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
    if (code !== 0 || !line) throw new Error(`wrk exited ${code}:\n${out}\n${handle.output()}`);
    return JSON.parse(line.slice('BENCH_RESULT '.length));
  });
}

/** A measured wrk run with the CPU time of `pid` (the peer under test) and of both cores. */
async function measure(run, setup, script, seconds) {
  const cores = [PEER_CPU, LOAD_CPU].map(coreTimes);
  const before = cpuSeconds(setup.pid);
  const result = await wrk(run, setup.url, seconds, script);
  const used = cpuSeconds(setup.pid) - before;
  const coresAfter = [PEER_CPU, LOAD_CPU].map(coreTimes);
  const busy = cores.map((c, i) => (coresAfter[i].busy - c.busy) / (coresAfter[i].total - c.total));
  const elapsed = result.durationUs / 1e6;
  return {
    setup: setup.name,
    requestsPerSecond: result.requests / elapsed,
    p50Ms: result.p50Us / 1_000,
    p99Ms: result.p99Us / 1_000,
    maxMs: result.maxUs / 1_000,
    requests: result.requests,
    failed: result.connect + result.read + result.write + result.status + result.timeout,
    peerCpuPercent: (100 * used) / elapsed,
    peerCpuUsPerRequest: (1e6 * used) / result.requests,
    peerCoreBusyPercent: 100 * busy[0],
    loadCoreBusyPercent: 100 * busy[1],
  };
}

/** Checks that `setup` answers the benchmark's request with the upstream's 200. */
async function check(setup, authorization) {
  const response = await fetch(setup.url, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: BODY,
  });
  const text = await response.text();
  if (response.status !== 200 || !text.includes('setosa')) {
    throw new Error(`${setup.name} answered ${response.status}: ${text}`);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

function report(runs, meta) {
  const names = ['direct', 'nginx', 'skiff-router', ...(CANDIDATE ? ['candidate'] : [])];
  const summary = {};
  for (const name of names) {
    const own = runs.filter((r) => r.setup === name);
    const pick = (key) => median(own.map((r) => r[key]));
    summary[name] = {
      requestsPerSecond: pick('requestsPerSecond'),
      minRequestsPerSecond: Math.min(...own.map((r) => r.requestsPerSecond)),
      maxRequestsPerSecond: Math.max(...own.map((r) => r.requestsPerSecond)),
      p50Ms: pick('p50Ms'),
      p99Ms: pick('p99Ms'),
      failed: own.reduce((sum, r) => sum + r.failed, 0),
      peerCpuPercent: pick('peerCpuPercent'),
      peerCpuUsPerRequest: pick('peerCpuUsPerRequest'),
      peerCoreBusyPercent: pick('peerCoreBusyPercent'),
      loadCoreBusyPercent: pick('loadCoreBusyPercent'),
    };
  }
  console.log(
    `\nrouter benchmark (${meta.cores} CPUs, load average ${fixed(meta.loadBefore, 1)} at the start, ` +
      `${fixed(meta.loadAfter, 1)} at the end; ${ROUNDS} rounds × ${DURATION_S} s per setup, ` +
      `order alternating; wrk -t1 -c${CONNECTIONS}, POST ${BODY.length} B, answer ~45 B)\n` +
      `pinning: the peer under test (upstream when direct, else the proxy) on CPU ${PEER_CPU}; ` +
      `wrk on CPU ${LOAD_CPU}, and behind a proxy the upstream too.\n`,
  );
  console.log(
    '| setup | req/s (median) | req/s min–max | p50 ms | p99 ms | failed | peer process CPU % | peer CPU µs/req | CPU ' +
      `${PEER_CPU} busy % | CPU ${LOAD_CPU} busy % |`,
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const name of names) {
    const s = summary[name];
    console.log(
      `| ${name} | ${fixed(s.requestsPerSecond, 0)} | ${fixed(s.minRequestsPerSecond, 0)}–${fixed(s.maxRequestsPerSecond, 0)} | ` +
        `${fixed(s.p50Ms)} | ${fixed(s.p99Ms)} | ${s.failed} | ${fixed(s.peerCpuPercent, 0)} | ` +
        `${fixed(s.peerCpuUsPerRequest, 1)} | ${fixed(s.peerCoreBusyPercent, 0)} | ${fixed(s.loadCoreBusyPercent, 0)} |`,
    );
  }
  const router = summary['skiff-router'];
  const nginx = summary.nginx;
  const direct = summary.direct;
  const ratios = {
    rpsRouterOverNginx: router.requestsPerSecond / nginx.requestsPerSecond,
    p99RouterOverNginx: router.p99Ms / nginx.p99Ms,
    p50RouterOverNginx: router.p50Ms / nginx.p50Ms,
    cpuPerRequestRouterOverNginx: router.peerCpuUsPerRequest / nginx.peerCpuUsPerRequest,
    rpsNginxOverDirect: nginx.requestsPerSecond / direct.requestsPerSecond,
    rpsRouterOverDirect: router.requestsPerSecond / direct.requestsPerSecond,
  };
  const verdict = (ok) => (ok ? 'meets' : 'MISSES');
  console.log(`
| ratio | value | target |
|---|---|---|
| router ÷ nginx, req/s | ${fixed(ratios.rpsRouterOverNginx)} | ≥ ${TARGET_RPS_RATIO} (${verdict(ratios.rpsRouterOverNginx >= TARGET_RPS_RATIO)}) |
| router ÷ nginx, p99 | ${fixed(ratios.p99RouterOverNginx)} | ≤ ${TARGET_P99_RATIO} (${verdict(ratios.p99RouterOverNginx <= TARGET_P99_RATIO)}) |
| router ÷ nginx, p50 | ${fixed(ratios.p50RouterOverNginx)} | |
| router ÷ nginx, CPU µs per request | ${fixed(ratios.cpuPerRequestRouterOverNginx)} | |
| nginx ÷ direct, req/s | ${fixed(ratios.rpsNginxOverDirect)} | |
| router ÷ direct, req/s | ${fixed(ratios.rpsRouterOverDirect)} | |`);
  if (CANDIDATE) {
    const c = summary.candidate;
    Object.assign(ratios, {
      rpsCandidateOverRouter: c.requestsPerSecond / router.requestsPerSecond,
      p99CandidateOverRouter: c.p99Ms / router.p99Ms,
      cpuPerRequestCandidateOverRouter: c.peerCpuUsPerRequest / router.peerCpuUsPerRequest,
      rpsCandidateOverNginx: c.requestsPerSecond / nginx.requestsPerSecond,
    });
    console.log(`| candidate (${CANDIDATE}) ÷ router, req/s | ${fixed(ratios.rpsCandidateOverRouter)} | |
| candidate ÷ router, p99 | ${fixed(ratios.p99CandidateOverRouter)} | |
| candidate ÷ router, CPU µs per request | ${fixed(ratios.cpuPerRequestCandidateOverRouter)} | |
| candidate ÷ nginx, req/s | ${fixed(ratios.rpsCandidateOverNginx)} | |`);
  }
  return { summary, ratios };
}

/** Runs the router once more under --cpu-prof for `seconds` of load; returns the summary. */
async function profileRouter(run, upstream, key, authorization, script) {
  const dir = join(run.dir, 'profile');
  await mkdir(dir, { recursive: true });
  const router = await startSkiffRouter(run, PEER_CPU, {
    upstream: upstream.address,
    key,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
    env: { SKIFF_LOG_LEVEL: ROUTER_LOG_LEVEL },
  });
  const setup = { name: 'skiff-router (profiled)', url: `${router.url}${router.scoringPath}` };
  await check(setup, authorization);
  await wrk(run, setup.url, WARMUP_S, script);
  const loadStart = performance.now();
  const profiled = await measure(run, { ...setup, pid: router.pid }, script, DURATION_S);
  const loadEnd = performance.now();
  await router.handle.stop();
  const exited = performance.now();
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${dir}`);
  // Only the samples taken under load: not start-up (module loading) nor the stop.
  const summary = summariseProfile(join(dir, file), {
    fromEndUs: (exited - loadStart) * 1_000,
    toEndUs: (exited - loadEnd) * 1_000,
    limit: 25,
  });
  await mkdir(join(REPO, 'bench/results'), { recursive: true });
  const kept = join(REPO, `bench/results/router-${stamp}.cpuprofile`);
  await copyFile(join(dir, file), kept);
  console.log(
    `\nprofile of the router under load (${fixed(profiled.requestsPerSecond, 0)} req/s under --cpu-prof, ` +
      `${summary.samples} samples while wrk ran; ${kept}):`,
  );
  console.log('\n| self time by origin | % |\n|---|---|');
  for (const o of summary.origins.slice(0, 12))
    console.log(`| ${o.name} | ${fixed(o.percent, 1)} |`);
  console.log('\n| self time by function | % |\n|---|---|');
  for (const f of summary.functions) console.log(`| ${f.name} | ${fixed(f.percent, 1)} |`);
  console.log('\n| total time (self + callees), outside Node internals | % |\n|---|---|');
  for (const f of summary.inclusive) console.log(`| ${f.name} | ${fixed(f.percent, 1)} |`);
  return { ...summary, run: profiled, file: kept };
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const loadBefore = loadavg()[0];
const run = await createRun('router');
try {
  const { key, authorization } = serviceKey();
  const script = join(run.dir, 'request.lua');
  await writeFile(script, wrkScript(authorization));
  // Two upstreams: one on the peer CPU for "direct", one on wrk's CPU behind the proxies.
  const upstreamDirect = await startUpstream(run, PEER_CPU);
  const upstream = await startUpstream(run, LOAD_CPU);
  const nginx = await startNginx(run, PEER_CPU, { upstream: upstream.address, authorization });
  const env = { SKIFF_LOG_LEVEL: ROUTER_LOG_LEVEL };
  const router = await startSkiffRouter(run, PEER_CPU, { upstream: upstream.address, key, env });
  const candidate =
    CANDIDATE &&
    (await startSkiffRouter(run, PEER_CPU, {
      upstream: upstream.address,
      key,
      env,
      bin: join(CANDIDATE, 'apps/router/bin/skiff-router.js'),
      logFile: 'candidate.log',
    }));
  const setups = [
    { name: 'direct', url: `http://${upstreamDirect.address}/score`, pid: upstreamDirect.pid },
    { name: 'nginx', url: `${nginx.url}/api/v1/service/tiny/score`, pid: nginx.pid },
    { name: 'skiff-router', url: `${router.url}${router.scoringPath}`, pid: router.pid },
    ...(candidate
      ? [{ name: 'candidate', url: `${candidate.url}${candidate.scoringPath}`, pid: candidate.pid }]
      : []),
  ];
  for (const setup of setups) await check(setup, authorization);
  const unauthorized = await fetch(setups[2].url, { method: 'POST', body: BODY });
  if (unauthorized.status !== 401) throw new Error(`router without a key: ${unauthorized.status}`);
  await unauthorized.arrayBuffer();

  const runs = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? setups : [...setups].reverse();
    for (const setup of order) {
      await wrk(run, setup.url, WARMUP_S, script);
      const result = await measure(run, setup, script, DURATION_S);
      runs.push({ round, ...result });
      console.error(
        `round ${round + 1}/${ROUNDS} ${setup.name}: ${fixed(result.requestsPerSecond, 0)} req/s, ` +
          `p50 ${fixed(result.p50Ms)} ms, p99 ${fixed(result.p99Ms)} ms, failed ${result.failed}, ` +
          `peer CPU ${fixed(result.peerCpuPercent, 0)} %`,
      );
    }
  }
  const meta = { cores: cpus().length, loadBefore, loadAfter: loadavg()[0] };
  const printed = report(runs, meta);
  let profile;
  if (PROFILE) {
    await router.handle.stop();
    profile = await profileRouter(run, upstream, key, authorization, script);
  }
  await mkdir(join(REPO, 'bench/results'), { recursive: true });
  const file = join(REPO, `bench/results/router-${stamp}.json`);
  const settings = {
    ...{ ROUNDS, DURATION_S, WARMUP_S, CONNECTIONS, PEER_CPU, LOAD_CPU },
    ...{ ROUTER_LOG_LEVEL, CANDIDATE },
  };
  await writeFile(
    file,
    JSON.stringify(
      { ...meta, settings, node: process.version, runs, ...printed, profile },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${file}`);
} finally {
  await run.cleanup();
}
