#!/usr/bin/env node
// Scoring-server benchmark: req/s, p50 and p99 latency of the Iris example served by skiff's
// scoring server (JavaScript and Python entry scripts) at concurrency 1 and 4, beside a bare
// Node http server returning the same bytes, all in one run. Loopback only.
//
// Two kinds of rows. Closed loop (autocannon, as fast as each target answers): req/s, with
// uncorrected per-request latency percentiles. Fixed rate (open-loop.mjs): every target gets the
// same request rate, so latencies compare like with like; both per-request (from send) and
// from-schedule percentiles are shown. No coordinated-omission correction is applied anywhere.
//
//   node tools/bench/scoring-server/bench.mjs   (BENCH_DURATION_S=10, BENCH_RATE=500 by default)
//
// BENCH_BASELINE=<dir>: a tree holding another revision's apps/scoring-server (e.g. from
// `git archive <rev> apps/scoring-server tsconfig.base.json package.json`, with node_modules
// linked in). The replica targets then run from it too, each measured with its current-code
// twin in BENCH_ROUNDS alternating rounds (6 by default, splitting BENCH_DURATION_S), and a
// second table gives current ÷ baseline: a before/after comparison that the machine's load
// drifting between two separate runs cannot skew.
//
// Writes bench/results/scoring-server-<time>.json. See README.md beside this file.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { openLoop } from './open-loop.mjs';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
/** Alternating rounds per row when a target is compared with its baseline twin. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
/** Requests per second of the fixed-rate rows: below every target's capacity on 2 vCPUs. */
const RATE = Number(process.env.BENCH_RATE ?? 500);
const BODY = JSON.stringify({
  data: [
    [5.1, 3.5, 1.4, 0.2],
    [6.3, 3.3, 6.0, 2.5],
  ],
});
const MODEL_DIR = join(REPO, 'examples/models/iris-logreg/1');
const SERVER_BIN = join(REPO, 'apps/scoring-server/bin/skiff-scoring-server.js');
const PEER = fileURLToPath(new URL('./peer.mjs', import.meta.url));
const BASELINE = process.env.BENCH_BASELINE;
const BASELINE_BIN = BASELINE && join(BASELINE, 'apps/scoring-server/bin/skiff-scoring-server.js');

/** Starts a process that reports its port (a JSON log line with `port`); resolves when ready. */
async function start(name, args, env = {}) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, SKIFF_PORT: '0', SKIFF_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let port;
  let buffered = '';
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before ready`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let parsed;
        try {
          parsed = JSON.parse(line);
        } catch {
          continue;
        }
        if (parsed.port && !port) port = parsed.port;
        // Peers are ready when they print their port; replicas once init() has finished.
        if (
          (port && !args[0].endsWith('skiff-scoring-server.js')) ||
          /^init\(\) finished/.test(parsed.msg ?? '')
        ) {
          resolve();
        }
        if (/^init\(\) failed/.test(parsed.msg ?? '')) reject(new Error(`${name}: ${parsed.msg}`));
      }
    });
  });
  await ready;
  child.stdout.resume(); // keep draining the replica's request log
  return {
    name,
    env,
    url: `http://127.0.0.1:${port}/score`,
    async stop() {
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Runs autocannon; latencies are kept per response (autocannon's histogram has 1 ms steps). */
async function load(url, connections, duration) {
  const latencies = [];
  const instance = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
    connections,
    pipelining: 1,
    duration,
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  return { result, latencies };
}

/** "min median max" of `values`, two decimals. */
function spread(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return [sorted[0], percentile(sorted, 50), sorted.at(-1)].map((v) => v.toFixed(2)).join(' ');
}

function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One closed-loop run: as many requests as the target answers over `connections`. */
async function closedLoop(target, connections, durationS) {
  const { result, latencies } = await load(target.url, connections, durationS);
  // autocannon drops its connections at the end with requests still inside run(); the replica
  // keeps their slots until run() returns, so give them a moment rather than count 503s.
  await new Promise((resolve) => setTimeout(resolve, 500));
  return {
    requests: result.requests.total,
    seconds: result.duration || durationS,
    sent: latencies,
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

/** One fixed-rate run (open-loop.mjs). */
async function fixedRate(target, connections, durationS) {
  const run = await openLoop({ url: target.url, body: BODY, rate: RATE, connections, durationS });
  return {
    requests: run.sent.length + run.failed,
    seconds: (run.sent.length + run.failed) / run.achievedRate,
    sent: run.sent,
    scheduled: run.scheduled,
    failed: run.failed,
    lagMs: run.lagMs,
  };
}

/**
 * Measures `group` (a target, or a target and its baseline twin) under one load. A pair is
 * measured in ROUNDS alternating rounds (current first, then baseline first, ...), so a change
 * in the machine's load during the run falls on both alike; the rows pool every round.
 */
async function measure(group, kind, connections) {
  const run = kind === 'closed' ? closedLoop : fixedRate;
  for (const target of group) await run(target, connections, WARMUP_S);
  const rounds = group.length > 1 ? ROUNDS : 1;
  const parts = group.map(() => []);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? group.keys() : [...group.keys()].reverse();
    for (const index of order) {
      parts[index].push(await run(group[index], connections, DURATION_S / rounds));
    }
  }
  return group.map((target, index) => {
    const runs = parts[index];
    const sent = runs.flatMap((r) => r.sent).sort((a, b) => a - b);
    const scheduled = runs.flatMap((r) => r.scheduled ?? []).sort((a, b) => a - b);
    const requests = runs.reduce((sum, r) => sum + r.requests, 0);
    const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
    return {
      target: target.name,
      load: kind === 'closed' ? 'closed loop' : `${RATE} req/s`,
      connections,
      requestsPerSecond: requests / seconds,
      p50Ms: percentile(sent, 50),
      p99Ms: percentile(sent, 99),
      ...(kind === 'closed'
        ? {}
        : {
            p50ScheduledMs: percentile(scheduled, 50),
            p99ScheduledMs: percentile(scheduled, 99),
            timerLagMs: Math.max(...runs.map((r) => r.lagMs)),
          }),
      requests,
      non2xx: runs.reduce((sum, r) => sum + r.failed, 0),
      errors: 0,
      rounds,
      roundRates: runs.map((r) => r.requests / r.seconds),
    };
  });
}

const work = await mkdtemp(join(tmpdir(), 'skiff-bench-'));
const targets = [];
try {
  // The peer answers with exactly the bytes the Python replica returns for BODY.
  const python = await start('python iris (4 workers)', [SERVER_BIN], {
    SKIFF_ENTRY_SCRIPT: join(REPO, 'examples/iris-python/score.py'),
    AZUREML_MODEL_DIR: MODEL_DIR,
    SKIFF_MAX_CONCURRENT_REQUESTS: '4',
  });
  targets.push(python);
  const response = await (await fetch(python.url, { method: 'POST', body: BODY })).arrayBuffer();
  const responseFile = join(work, 'response.json');
  await writeFile(responseFile, Buffer.from(response));
  targets.push(await start('bare node:http, fixed bytes', [PEER, 'static', responseFile]));
  targets.push(
    await start(
      'bare node:http + iris-js run() in-process',
      [PEER, 'inline', join(REPO, 'examples/iris-js/score.mjs')],
      { AZUREML_MODEL_DIR: MODEL_DIR },
    ),
  );
  targets.push(
    await start('js iris (4 worker threads)', [SERVER_BIN], {
      SKIFF_ENTRY_SCRIPT: join(REPO, 'examples/iris-js/score.mjs'),
      AZUREML_MODEL_DIR: MODEL_DIR,
      SKIFF_MAX_CONCURRENT_REQUESTS: '4',
    }),
  );
  targets.push(
    await start('python iris (1 worker, queue)', [SERVER_BIN], {
      SKIFF_ENTRY_SCRIPT: join(REPO, 'examples/iris-python/score.py'),
      AZUREML_MODEL_DIR: MODEL_DIR,
      SKIFF_MAX_CONCURRENT_REQUESTS: '4',
      SKIFF_WORKERS: '1',
    }),
  );
  const [pyMulti, peer, inline, js, pySingle] = targets;
  /** Each replica target, followed by its baseline twin when BENCH_BASELINE is set. */
  const twins = new Map();
  if (BASELINE_BIN) {
    for (const target of [js, pyMulti, pySingle]) {
      const twin = await start(`${target.name} @baseline`, [BASELINE_BIN], target.env);
      targets.push(twin);
      twins.set(target, twin);
    }
  }
  const groups = (list) => list.map((t) => (twins.has(t) ? [t, twins.get(t)] : [t]));

  const rows = [];
  for (const connections of [1, 4]) {
    for (const group of groups([peer, inline, js, pyMulti])) {
      rows.push(...(await measure(group, 'closed', connections)));
    }
  }
  for (const group of groups([pySingle])) rows.push(...(await measure(group, 'closed', 4)));
  for (const connections of [1, 4]) {
    for (const group of groups([peer, js, pyMulti])) {
      rows.push(...(await measure(group, 'rate', connections)));
    }
  }

  const peerRow = (r) =>
    rows.find(
      (p) => p.target === peer.name && p.load === r.load && p.connections === r.connections,
    );
  const table = rows.map((r) => ({
    target: r.target,
    load: r.load,
    conc: r.connections,
    'req/s': Math.round(r.requestsPerSecond),
    'p50 ms': r.p50Ms.toFixed(3),
    'p99 ms': r.p99Ms.toFixed(3),
    'sched p50': r.p50ScheduledMs?.toFixed(3) ?? '',
    'sched p99': r.p99ScheduledMs?.toFixed(3) ?? '',
    'req/s vs peer':
      r.load === 'closed loop'
        ? (r.requestsPerSecond / peerRow(r).requestsPerSecond).toFixed(2)
        : '',
    'p50 vs peer': peerRow(r).p50Ms > 0 ? (r.p50Ms / peerRow(r).p50Ms).toFixed(1) : 'n/a',
    'non-2xx': r.non2xx + r.errors,
  }));
  console.table(table);
  if (twins.size > 0) {
    const against = [];
    for (const row of rows) {
      const base = rows.find(
        (b) =>
          b.target === `${row.target} @baseline` &&
          b.load === row.load &&
          b.connections === row.connections,
      );
      if (!base) continue;
      against.push({
        target: row.target,
        load: row.load,
        conc: row.connections,
        'req/s now': Math.round(row.requestsPerSecond),
        'req/s base': Math.round(base.requestsPerSecond),
        'req/s ratio': (row.requestsPerSecond / base.requestsPerSecond).toFixed(2),
        // Rounds ran in pairs, back to back: their ratios show how much of the total is noise.
        'round ratios (min median max)': spread(
          row.roundRates.map((rate, i) => rate / base.roundRates[i]),
        ),
        'p50 now/base': `${row.p50Ms.toFixed(3)} / ${base.p50Ms.toFixed(3)}`,
        'p50 ratio': (row.p50Ms / base.p50Ms).toFixed(2),
        'p99 now/base': `${row.p99Ms.toFixed(3)} / ${base.p99Ms.toFixed(3)}`,
        'p99 ratio': (row.p99Ms / base.p99Ms).toFixed(2),
      });
    }
    console.log(`current code ÷ baseline (${BASELINE}):`);
    console.table(against);
  }
  const lag = rows.filter((r) => r.timerLagMs !== undefined).map((r) => r.timerLagMs);
  if (lag.length > 0) {
    console.log(
      `fixed-rate rows: p50/p99 ms are per request from send (uncorrected); sched = from the ` +
        `instant each request was due; the generator's timer fired ${Math.max(...lag).toFixed(3)} ms late on average at worst`,
    );
  }
  const environment = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadAverageAtEnd: loadavg(),
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    fixedRate: RATE,
    baseline: BASELINE ?? null,
    rounds: BASELINE ? ROUNDS : 1,
    body: BODY,
  };
  console.log(
    `node ${environment.node}, ${environment.cpus} CPUs, load average at end ${environment.loadAverageAtEnd.map((l) => l.toFixed(1)).join(' ')}; ` +
      `${DURATION_S} s per row after ${WARMUP_S} s warm-up; closed-loop latencies are autocannon's per-response timings (2xx only, uncorrected)`,
  );
  const dir = join(REPO, 'bench/results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `scoring-server-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ environment, rows }, null, 2) + '\n');
  console.log(`wrote ${file}`);
} finally {
  await Promise.all(targets.map((t) => t.stop()));
  await rm(work, { recursive: true, force: true });
}
