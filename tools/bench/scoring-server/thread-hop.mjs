#!/usr/bin/env node
// What running a JS entry script in a worker thread costs per call: a message round trip to a
// thread that calls iris-js run(), against calling run() directly. Sequential calls (like one
// connection). Prints microseconds per call.
//   node tools/bench/scoring-server/thread-hop.mjs
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
process.env.AZUREML_MODEL_DIR = `${REPO}examples/models/iris-logreg/1`;
const SCRIPT = `${REPO}examples/iris-js/score.mjs`;
const BODY = JSON.stringify({
  data: [
    [5.1, 3.5, 1.4, 0.2],
    [6.3, 3.3, 6.0, 2.5],
  ],
});
const CALLS = Number(process.env.CALLS ?? 20_000);

const script = await import(SCRIPT);
await script.init();
const direct = () => JSON.stringify(script.run(BODY));

const worker = new Worker(
  `const { parentPort } = require('node:worker_threads');
   import(${JSON.stringify(SCRIPT)}).then(async (s) => {
     await s.init();
     parentPort.on('message', (m) => parentPort.postMessage(JSON.stringify(s.run(m))));
     parentPort.postMessage('ready');
   });`,
  { eval: true, env: process.env },
);
await new Promise((resolve) => worker.once('message', resolve));
const viaThread = () =>
  new Promise((resolve) => {
    worker.once('message', resolve);
    worker.postMessage(BODY);
  });

async function time(fn) {
  for (let i = 0; i < 2_000; i++) await fn(); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) await fn();
  return Number(process.hrtime.bigint() - start) / 1e3 / CALLS;
}
const inProcess = await time(direct);
const thread = await time(viaThread);
console.log(`run() in-process: ${inProcess.toFixed(1)} µs/call`);
console.log(
  `run() via worker thread: ${thread.toFixed(1)} µs/call (+${(thread - inProcess).toFixed(1)} µs)`,
);
await worker.terminate();
