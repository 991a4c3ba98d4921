#!/usr/bin/env node
// Autoscale benchmark: examples/iris-python (its run() made 0.2 s slower, in a temporary copy)
// on the whole platform — its own redis-server, the control plane, one agent, the router, all
// real processes on 127.0.0.1 — under a load step from 1 to 8 concurrent clients and back to 1.
// It measures the time from the step to the autoscaler's decision (GetWebservice
// lastScaleDecision), to the new replicas ready, from the step down to the scale-down decision
// (which must wait out the 60 s window) and to the drained replicas gone, and counts every
// failed request. The comparison figures are the autoscaler's own contract: a decision within
// one refresh period + 1 s, a scale-down not before the 60 s window.
//
//   node --import @skiff/source-runtime/register tools/bench/autoscale/bench.mjs
//
// BENCH_ROUNDS (1) steps, each: 1 client until the service is steady (BENCH_STEADY_S, 15, at
// least), 8 clients until the replicas the autoscaler decided are ready (+ BENCH_HOLD_S, 10),
// then 1 client until the scale-down's replicas are gone. BENCH_SCORE_SECONDS (0.2) is the delay added to run();
// BENCH_REFRESH_S (1) the refreshPeriodInSeconds; BENCH_MAX_REPLICAS (8); cpu 0.1 and
// 0.25 GB per replica so that eight fit a 2-CPU machine. Writes
// bench/results/autoscale-<time>.json. See README.md beside this file.
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { freePort, startRedisServer } from '@skiff/testing';
import {
  BIN,
  REPO,
  cliOf,
  createRun,
  sleep,
  startAgent,
  startControlPlane,
  startNode,
  waitFor,
} from '../lib/platform.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const SCORE_SECONDS = Number(process.env.BENCH_SCORE_SECONDS ?? 0.2);
const REFRESH_S = Number(process.env.BENCH_REFRESH_S ?? 1);
const MAX_REPLICAS = Number(process.env.BENCH_MAX_REPLICAS ?? 8);
const HOLD_S = Number(process.env.BENCH_HOLD_S ?? 10);
const STEADY_S = Number(process.env.BENCH_STEADY_S ?? 15);
const LOW = 1;
const HIGH = 8;
/** The autoscaler's scale-down window (libs/autoscale). */
const DOWN_WINDOW_S = 60;
const SERVICE = 'iris-auto';
const WORKSPACE = `bench-${randomBytes(4).toString('hex')}`;
const SAMPLE = JSON.stringify({ data: [[5.1, 3.5, 1.4, 0.2]] });
const POLL_MS = 100;

const seconds = (ms) => (Number.isFinite(ms) ? (ms / 1_000).toFixed(2) : '—');

// ---------------------------------------------------------------- processes

/** This run: its temporary directory, what it started and their cleanup (../lib/platform.mjs). */
const run = await createRun('autoscale', WORKSPACE);
const { started, cleanup } = run;
const work = run.dir;

// ---------------------------------------------------------------- the platform

async function startPlatform() {
  const redis = await startRedisServer();
  started.push({ stop: () => redis.stop() });
  const routerAddress = `127.0.0.1:${await freePort()}`;
  const { controlPlane, endpoint, admin, deployerToken, agentToken } = await startControlPlane(
    run,
    WORKSPACE,
    { redisUrl: redis.url, prefix: 'skiff:', routerUrl: `http://${routerAddress}` },
  );
  const agent = await startAgent(run, WORKSPACE, {
    endpoint,
    agentToken,
    redisUrl: redis.url,
    node: 'bench-node',
  });
  const router = startNode(BIN('router', 'skiff-router'), {
    SKIFF_ENDPOINT: endpoint,
    SKIFF_TOKEN: agentToken,
    SKIFF_WORKSPACE: WORKSPACE,
    SKIFF_COMPUTE: 'local',
    SKIFF_ROUTER_LISTEN: routerAddress,
    SKIFF_LOG_LEVEL: 'warn',
  });
  started.push(router);
  await waitFor(
    'the router to have a routing table',
    async () => ((await fetch(`http://${routerAddress}/readyz`)).ok ? true : undefined),
    { context: router.output },
  );
  const context = () =>
    `agent:\n${agent.output().slice(-4_000)}\nrouter:\n${router.output().slice(-4_000)}\n` +
    `control plane:\n${controlPlane.output().slice(-4_000)}`;
  const cli = cliOf(run, WORKSPACE, { endpoint, deployerToken });
  return {
    admin,
    cli,
    context,
    scoringUrl: `http://${routerAddress}/api/v1/service/${SERVICE}/score`,
  };
}

// ---------------------------------------------------------------- load

/**
 * Closed-loop clients scoring through the router. A failure is any answer but a 200 with the
 * expected prediction, or a failed connection; each is kept with its time.
 */
function createLoad(url, key) {
  const load = { ok: 0, failures: [], latencies: [], clients: [] };
  const client = () => {
    const state = { running: true };
    state.done = (async () => {
      while (state.running) {
        const sent = performance.now();
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: SAMPLE,
          });
          const text = await response.text();
          if (response.status === 200 && text.includes('"setosa"')) {
            load.ok++;
            load.latencies.push({ at: Date.now(), ms: performance.now() - sent });
          } else {
            load.failures.push({
              at: Date.now(),
              what: `${response.status} ${text.slice(0, 200)}`,
            });
          }
        } catch (error) {
          load.failures.push({ at: Date.now(), what: String(error.cause ?? error) });
          await sleep(50);
        }
      }
    })();
    return state;
  };
  return {
    load,
    /** Adds or stops clients until `count` run. */
    async set(count) {
      while (load.clients.length < count) load.clients.push(client());
      const stopping = load.clients.splice(count);
      for (const state of stopping) state.running = false;
      await Promise.all(stopping.map((state) => state.done));
    },
  };
}

// ---------------------------------------------------------------- observation

/**
 * Polls GetWebservice every POLL_MS, recording every new scale decision (by sequence) and
 * every change of the replica counts, each with the time it was seen.
 */
function watchService(admin) {
  const seen = { decisions: [], counts: [], last: undefined };
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const { webservice } = await admin.webservices.get({ workspace: WORKSPACE, name: SERVICE });
        const at = Date.now();
        seen.last = webservice;
        const decision = webservice?.lastScaleDecision;
        if (decision && decision.sequence !== seen.decisions.at(-1)?.sequence) {
          seen.decisions.push({
            sequence: decision.sequence,
            kind: decision.kind,
            replicas: decision.replicas,
            reason: decision.reason,
            time: decision.time?.getTime(),
            seenAt: at,
          });
        }
        const { ready = 0, desired = 0, current = 0, queued = 0 } = webservice?.replicas ?? {};
        const previous = seen.counts.at(-1);
        if (
          !previous ||
          previous.ready !== ready ||
          previous.desired !== desired ||
          previous.current !== current
        ) {
          seen.counts.push({ at, ready, desired, current, queued });
        }
      } catch {
        // the next poll tells
      }
      await sleep(POLL_MS);
    }
  })();
  return {
    seen,
    async stop() {
      running = false;
      await done;
    },
  };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** One step 1 → 8 → 1 clients; times in ms from each step. */
async function step(platform, driver, watch, round) {
  const { seen } = watch;
  const service = () => seen.last;
  // Steady at one client: at least STEADY_S of it, the replicas it wants ready, and no
  // decision for 5 s (one client may well want a second replica at 70 %).
  const low = Date.now();
  await driver.set(LOW);
  await waitFor(
    `${SERVICE} steady at ${LOW} client`,
    async () => {
      const ws = service();
      const lastDecision = Math.max(low, ...seen.decisions.map((d) => d.seenAt));
      const ready = ws?.replicas?.ready ?? 0;
      return Date.now() - low >= STEADY_S * 1_000 &&
        ready > 0 &&
        ready === ws.replicas.desired &&
        ws.replicas.current === ws.replicas.desired &&
        Date.now() - lastDecision > 5_000
        ? true
        : undefined;
    },
    { timeoutMs: 180_000, context: platform.context },
  );
  const before = service().replicas;
  const sequenceBefore = service().lastScaleDecision?.sequence ?? 0;
  const failuresBefore = driver.load.failures.length;

  // Step up.
  const up = Date.now();
  await driver.set(HIGH);
  const firstUp = await waitFor(
    'a scale-up decision',
    () => seen.decisions.find((d) => d.sequence > sequenceBefore && d.kind === 'up'),
    { timeoutMs: 60_000, context: platform.context },
  );
  // Ready = desired, and no further decision for 3 refresh periods: the scale-up is complete.
  const upDone = await waitFor(
    'the decided replicas to be ready',
    () => {
      const ws = service();
      const last = seen.decisions.at(-1);
      const ready = ws?.replicas?.ready ?? 0;
      return ready === ws?.replicas?.desired &&
        last.sequence > sequenceBefore &&
        Date.now() - last.seenAt > 3 * REFRESH_S * 1_000
        ? {
            ready,
            at: seen.counts.findLast((c) => c.ready === ready && c.at >= up)?.at ?? Date.now(),
          }
        : undefined;
    },
    { timeoutMs: 180_000, context: platform.context },
  );
  const upDecisions = seen.decisions.filter((d) => d.sequence > sequenceBefore);
  const peakDesired = Math.max(...upDecisions.map((d) => d.replicas));
  const firstReadyAtPeak = seen.counts.find((c) => c.at >= up && c.ready >= peakDesired)?.at;
  await sleep(HOLD_S * 1_000);
  const sequenceAtPeak = seen.decisions.at(-1).sequence;

  // Step down.
  const down = Date.now();
  await driver.set(LOW);
  const downDecision = await waitFor(
    'a scale-down decision',
    () => seen.decisions.find((d) => d.sequence > sequenceAtPeak && d.kind === 'down'),
    { timeoutMs: (DOWN_WINDOW_S + 60) * 1_000, everyMs: 200, context: platform.context },
  );
  const drained = await waitFor(
    'the drained replicas to go',
    () => {
      const ws = service();
      return ws?.replicas?.current === ws?.replicas?.desired &&
        ws?.replicas?.desired === downDecision.replicas
        ? Date.now()
        : undefined;
    },
    { timeoutMs: 120_000, context: platform.context },
  );
  const failures = driver.load.failures.slice(failuresBefore);
  const latencies = (from, to) =>
    driver.load.latencies.filter((l) => l.at >= from && l.at < to).map((l) => l.ms);
  const result = {
    round,
    before,
    upDecisions,
    stepToDecisionMs: firstUp.time - up,
    stepToDecisionSeenMs: firstUp.seenAt - up,
    peakDesired,
    stepToPeakReadyMs: (firstReadyAtPeak ?? upDone.at) - up,
    downDecision,
    stepDownToDecisionMs: downDecision.time - down,
    stepDownToDrainedMs: drained - down,
    failures,
    p50Ms: {
      low: percentile(latencies(up - 10_000, up), 50),
      step: percentile(latencies(up, firstReadyAtPeak ?? upDone.at), 50),
      high: percentile(latencies(firstReadyAtPeak ?? upDone.at, down), 50),
    },
    p99Ms: {
      low: percentile(latencies(up - 10_000, up), 99),
      step: percentile(latencies(up, firstReadyAtPeak ?? upDone.at), 99),
      high: percentile(latencies(firstReadyAtPeak ?? upDone.at, down), 99),
    },
    timeline: seen.counts
      .filter((c) => c.at >= up - 1_000 && c.at <= drained)
      .map((c) => ({ ...c, atMs: c.at - up })),
  };
  console.error(
    `round ${round + 1}/${ROUNDS}: decision ${seconds(result.stepToDecisionMs)} s after the step ` +
      `(${firstUp.reason}); ${peakDesired} ready ${seconds(result.stepToPeakReadyMs)} s after it; ` +
      `scale-down decision ${seconds(result.stepDownToDecisionMs)} s after the step down; ` +
      `${failures.length} failed requests`,
  );
  return result;
}

// ---------------------------------------------------------------- report

function report(rounds, meta) {
  const decisionTarget = (REFRESH_S + 1) * 1_000;
  console.log(
    `\nautoscale benchmark (${meta.cores} CPUs, load average ${meta.loadBefore.toFixed(1)} at the start, ` +
      `${meta.loadAfter.toFixed(1)} at the end; examples/iris-python with run() +${SCORE_SECONDS} s ` +
      `(temporary copy); autoScaler min 1, max ${MAX_REPLICAS}, target 70 %, refresh ${REFRESH_S} s; ` +
      `1 slot per replica; cpu 0.1, 0.25 GB; load: ${LOW} → ${HIGH} → ${LOW} closed-loop clients through the router, key auth)\n`,
  );
  console.log('| round | measurement | seconds | target | ratio to target |');
  console.log('|---|---|---|---|---|');
  for (const r of rounds) {
    const row = (label, ms, target, ok, ratio) =>
      console.log(
        `| ${r.round + 1} | ${label} | ${seconds(ms)} | ${target}${ok === undefined ? '' : ok ? ' (meets)' : ' (MISSES)'} | ${ratio ?? ''} |`,
      );
    row(
      `step ${LOW}→${HIGH} clients → scale-up decision (${r.before.ready}→${r.upDecisions[0]?.replicas}, its time)`,
      r.stepToDecisionMs,
      `≤ ${seconds(decisionTarget)}`,
      r.stepToDecisionMs <= decisionTarget,
      (r.stepToDecisionMs / decisionTarget).toFixed(2),
    );
    row('… seen in GetWebservice', r.stepToDecisionSeenMs, '', undefined);
    row(
      `step → ${r.peakDesired} replicas ready (GetWebservice ready count)`,
      r.stepToPeakReadyMs,
      '',
      undefined,
    );
    row(
      `step ${HIGH}→${LOW} → scale-down decision (→${r.downDecision.replicas})`,
      r.stepDownToDecisionMs,
      `≥ ${DOWN_WINDOW_S} (window)`,
      r.stepDownToDecisionMs >= DOWN_WINDOW_S * 1_000,
      (r.stepDownToDecisionMs / (DOWN_WINDOW_S * 1_000)).toFixed(2),
    );
    row(
      'step down → drained replicas gone (current = desired)',
      r.stepDownToDrainedMs,
      '',
      undefined,
    );
    console.log(
      `| ${r.round + 1} | failed requests (of ${r.failures.length + meta.ok}) | ${r.failures.length} | 0${r.failures.length === 0 ? ' (meets)' : ' (MISSES)'} | |`,
    );
  }
  console.log(
    '\nlatency per phase (ms, successful requests): 1 client before the step · during the scale-up · at 8 replicas',
  );
  for (const r of rounds) {
    const f = (v) => (Number.isFinite(v) ? v.toFixed(0) : '—');
    console.log(
      `  round ${r.round + 1}: p50 ${f(r.p50Ms.low)} · ${f(r.p50Ms.step)} · ${f(r.p50Ms.high)}; ` +
        `p99 ${f(r.p99Ms.low)} · ${f(r.p99Ms.step)} · ${f(r.p99Ms.high)}`,
    );
    console.log(
      `  decisions: ${[...r.upDecisions, r.downDecision]
        .map((d) => `#${d.sequence} ${d.kind} → ${d.replicas} ("${d.reason}")`)
        .join('; ')}`,
    );
    console.log(
      `  replicas (s since the step up: ready/desired/current): ${r.timeline
        .map((c) => `${seconds(c.atMs)} ${c.ready}/${c.desired}/${c.current}`)
        .join(' · ')}`,
    );
    for (const failure of r.failures.slice(0, 10)) console.log(`  failed: ${failure.what}`);
  }
}

// ---------------------------------------------------------------- main

const loadBefore = loadavg()[0];
try {
  const platform = await startPlatform();
  const project = join(work, 'iris-python');
  await cp(join(REPO, 'examples/iris-python'), project, { recursive: true });
  // The example, made slow enough that a few clients keep its replicas busy (as in
  // tests/e2e/src/router.test.ts).
  const script = await readFile(join(project, 'score.py'), 'utf8');
  await writeFile(
    join(project, 'score.py'),
    `${script}\n\nimport time\n_predict_run = run\n\n\ndef run(raw_data):\n    time.sleep(${SCORE_SECONDS})\n    return _predict_run(raw_data)\n`,
  );
  await writeFile(
    join(project, 'bench.deploymentconfig.json'),
    JSON.stringify({
      computeType: 'aks',
      autoScaler: {
        autoscaleEnabled: true,
        minReplicas: 1,
        maxReplicas: MAX_REPLICAS,
        targetUtilization: 70,
        refreshPeriodInSeconds: REFRESH_S,
      },
      containerResourceRequirements: { cpu: 0.1, memoryInGB: 0.25 },
      authEnabled: true,
      maxConcurrentRequestsPerContainer: 1,
      maxQueueWaitMs: 60_000,
      scoringTimeoutMs: 10_000,
    }),
  );
  const model = join(REPO, 'examples/models/iris-logreg/1/iris-logreg.json');
  await platform.cli(['model', 'register', '-n', 'iris-logreg', '-p', model], project);
  await platform.cli(
    [
      'model',
      'deploy',
      '-n',
      SERVICE,
      '-m',
      'iris-logreg:1',
      '--ic',
      'inferenceconfig.json',
    ].concat(['--dc', 'bench.deploymentconfig.json', '--ct', 'local']),
    project,
  );
  const { primaryKey } = await platform.admin.webservices.getKeys({
    workspace: WORKSPACE,
    name: SERVICE,
  });
  const probe = async () =>
    (
      await fetch(platform.scoringUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${primaryKey}`, 'content-type': 'application/json' },
        body: SAMPLE,
      })
    ).status === 200
      ? true
      : undefined;
  await waitFor('the router to route the service', probe, { context: platform.context });

  const watch = watchService(platform.admin);
  const driver = createLoad(platform.scoringUrl, primaryKey);
  const rounds = [];
  try {
    for (let round = 0; round < ROUNDS; round++)
      rounds.push(await step(platform, driver, watch, round));
  } finally {
    await driver.set(0);
    await watch.stop();
  }
  const meta = { cores: cpus().length, loadBefore, loadAfter: loadavg()[0], ok: driver.load.ok };
  report(rounds, meta);
  await mkdir(join(REPO, 'bench/results'), { recursive: true });
  const file = join(
    REPO,
    `bench/results/autoscale-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  const settings = { ROUNDS, SCORE_SECONDS, REFRESH_S, MAX_REPLICAS, HOLD_S, LOW, HIGH };
  await writeFile(
    file,
    JSON.stringify(
      { ...meta, settings, node: process.version, requestsOk: driver.load.ok, rounds },
      null,
      2,
    ),
  );
  console.log(`\nwrote ${file}`);
} finally {
  await cleanup();
}
