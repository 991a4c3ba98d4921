#!/usr/bin/env node
// Payload benchmark: one 100 MiB request streamed through skiff-router (key auth on) to an
// upstream that reads and discards the body and answers a few bytes, beside the same request
// through nginx (one worker, proxy_request_buffering off) and straight to the upstream, in one
// run. For each proxy: how much its resident memory grows while the body passes (peak VmRSS,
// polled from /proc every 20 ms, minus VmRSS before the request; VmHWM before/after too) and
// the throughput in MB/s. Loopback only.
//
//   node --import @skiff/source-runtime/register tools/bench/payload/bench.mjs
//
// BENCH_PAYLOAD_MIB (100: the router's default body limit, which the request exactly meets),
// BENCH_ROUNDS (3) rounds in alternating order after one warm-up request per setup. The proxy
// under test runs on BENCH_PEER_CPU (0); the client and the upstream on BENCH_LOAD_CPU (1).
// BENCH_ROUTER_NODE_ARGS: extra node flags for the router process, to try a V8 setting.
// Needs nginx (apt-get install -y nginx-light). Writes bench/results/payload-<time>.json.
// See README.md beside this file.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  REPO,
  createRun,
  memory,
  requireTools,
  serviceKey,
  sleep,
  startNginx,
  startSkiffRouter,
  startUpstream,
} from '../router/peers.mjs';

const MIB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_PAYLOAD_MIB ?? 100) * MIB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PEER_CPU = Number(process.env.BENCH_PEER_CPU ?? 0);
const LOAD_CPU = Number(process.env.BENCH_LOAD_CPU ?? 1);
const POLL_MS = 20;
/** Extra node flags for the router process (e.g. `--max-semi-space-size=2`), space-separated. */
const ROUTER_NODE_ARGS = (process.env.BENCH_ROUTER_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** Target from the issue: the router's RSS grows by at most 32 MB for a 100 MB request. */
const TARGET_GROWTH_MB = 32;
const CLIENT = fileURLToPath(new URL('./client.mjs', import.meta.url));

requireTools(['nginx', 'taskset']);

/** One request of SIZE bytes to `setup`, with the RSS of its process polled meanwhile. */
async function send(run, setup, authorization) {
  const before = setup.pid ? memory(setup.pid) : undefined;
  setup.idle ??= before; // the process before its first large request
  let peak = before?.rss ?? 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      if (setup.pid) peak = Math.max(peak, memory(setup.pid).rss);
      await sleep(POLL_MS);
    }
  })();
  const client = run.spawn(LOAD_CPU, process.execPath, [
    CLIENT,
    setup.url,
    String(SIZE),
    authorization,
  ]);
  let out = '';
  client.child.stdout.on('data', (chunk) => (out += chunk));
  const code = await client.exited;
  await client.stop();
  polling = false;
  await poller;
  const after = setup.pid ? memory(setup.pid) : undefined;
  const result = JSON.parse(out.trim().split('\n').at(-1) || '{}');
  const upstreamBytes = Number(/"bytes":(\d+)/.exec(result.answer ?? '')?.[1]);
  if (code !== 0 || result.status !== 200 || upstreamBytes !== SIZE) {
    throw new Error(
      `${setup.name}: client exited ${code}, status ${result.status}, the upstream read ` +
        `${upstreamBytes} of ${SIZE} bytes: ${out}${client.output()}`,
    );
  }
  return {
    setup: setup.name,
    seconds: result.seconds,
    megabytesPerSecond: SIZE / 1e6 / result.seconds,
    ...(before
      ? {
          rssBeforeMB: before.rss / 1e6,
          rssPeakMB: peak / 1e6,
          rssGrowthMB: (peak - before.rss) / 1e6,
          rssOverIdleMB: (peak - setup.idle.rss) / 1e6,
          hwmBeforeMB: before.hwm / 1e6,
          hwmAfterMB: after.hwm / 1e6,
          hwmGrowthMB: (after.hwm - before.hwm) / 1e6,
        }
      : {}),
  };
}

const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fixed = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

function report(runs, meta) {
  const names = ['direct', 'nginx', 'skiff-router'];
  const summary = {};
  for (const name of names) {
    // The warm-up request counts for memory (the first 100 MiB through a fresh process), not
    // for the medians.
    const all = runs.filter((r) => r.setup === name);
    const own = all.filter((r) => r.round !== 'warm-up');
    summary[name] = {
      megabytesPerSecond: median(own.map((r) => r.megabytesPerSecond)),
      rssGrowthMB: median(own.map((r) => r.rssGrowthMB)),
      maxRssGrowthMB: Math.max(...own.map((r) => r.rssGrowthMB ?? Number.NaN)),
      rssBeforeMB: median(own.map((r) => r.rssBeforeMB)),
      idleRssMB: all[0]?.idleRssMB,
      maxRssOverIdleMB: Math.max(...all.map((r) => r.rssOverIdleMB ?? Number.NaN)),
    };
  }
  console.log(
    `\npayload benchmark (${meta.cores} CPUs, load average ${fixed(meta.loadBefore)} at the start, ` +
      `${fixed(meta.loadAfter)} at the end; one POST of ${SIZE / MIB} MiB with Content-Length, ` +
      `${ROUNDS} rounds in alternating order after a warm-up request each)\n` +
      `pinning: the proxy on CPU ${PEER_CPU}; the client and the upstream on CPU ${LOAD_CPU}. ` +
      `RSS of the proxy process (nginx: its worker) polled every ${POLL_MS} ms.` +
      (ROUTER_NODE_ARGS.length ? ` Router node flags: ${ROUTER_NODE_ARGS.join(' ')}.` : '') +
      '\n',
  );
  console.log(
    '| setup | MB/s (median) | idle RSS MB | RSS before MB (median) | RSS growth MB (median) | RSS growth MB (max) | peak RSS − idle RSS MB (max) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const name of names) {
    const s = summary[name];
    console.log(
      `| ${name} | ${fixed(s.megabytesPerSecond, 0)} | ${fixed(s.idleRssMB)} | ${fixed(s.rssBeforeMB)} | ` +
        `${fixed(s.rssGrowthMB)} | ${fixed(s.maxRssGrowthMB)} | ${fixed(s.maxRssOverIdleMB)} |`,
    );
  }
  const router = summary['skiff-router'];
  const nginx = summary.nginx;
  const ratios = {
    mbpsRouterOverNginx: router.megabytesPerSecond / nginx.megabytesPerSecond,
    mbpsRouterOverDirect: router.megabytesPerSecond / summary.direct.megabytesPerSecond,
  };
  const worst = Math.max(router.maxRssGrowthMB, router.maxRssOverIdleMB);
  const ok = worst <= TARGET_GROWTH_MB;
  console.log(`
| figure | value | target |
|---|---|---|
| router RSS growth, worst request (over RSS before it, or over the idle router) | ${fixed(worst)} MB | ≤ ${TARGET_GROWTH_MB} MB (${ok ? 'meets' : 'MISSES'}) |
| router ÷ nginx, MB/s | ${fixed(ratios.mbpsRouterOverNginx, 2)} | |
| router ÷ direct, MB/s | ${fixed(ratios.mbpsRouterOverDirect, 2)} | |`);
  return { summary, ratios };
}

const loadBefore = loadavg()[0];
const run = await createRun('payload');
try {
  const { key, authorization } = serviceKey();
  const upstream = await startUpstream(run, LOAD_CPU);
  const nginx = await startNginx(run, PEER_CPU, { upstream: upstream.address, authorization });
  const router = await startSkiffRouter(run, PEER_CPU, {
    upstream: upstream.address,
    key,
    nodeArgs: ROUTER_NODE_ARGS,
  });
  const setups = [
    { name: 'direct', url: `http://${upstream.address}/score` },
    { name: 'nginx', url: `${nginx.url}/api/v1/service/tiny/score`, pid: nginx.pid },
    { name: 'skiff-router', url: `${router.url}${router.scoringPath}`, pid: router.pid },
  ];
  const runs = [];
  for (const setup of setups) {
    const warmUp = await send(run, setup, authorization);
    runs.push({ round: 'warm-up', ...warmUp, idleRssMB: setup.idle?.rss / 1e6 });
  }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? setups : [...setups].reverse();
    for (const setup of order) {
      await sleep(500); // let the previous request's buffers go
      const result = await send(run, setup, authorization);
      runs.push({ round, ...result });
      console.error(
        `round ${round + 1}/${ROUNDS} ${setup.name}: ${fixed(result.megabytesPerSecond, 0)} MB/s` +
          (setup.pid ? `, RSS +${fixed(result.rssGrowthMB)} MB` : ''),
      );
    }
  }
  const meta = { cores: cpus().length, loadBefore, loadAfter: loadavg()[0] };
  const printed = report(runs, meta);
  await mkdir(join(REPO, 'bench/results'), { recursive: true });
  const file = join(
    REPO,
    `bench/results/payload-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  const settings = { SIZE, ROUNDS, PEER_CPU, LOAD_CPU, POLL_MS, ROUTER_NODE_ARGS };
  await writeFile(
    file,
    JSON.stringify({ ...meta, settings, node: process.version, runs, ...printed }, null, 2),
  );
  console.log(`\nwrote ${file}`);
} finally {
  await run.cleanup();
}
