// Runs a JavaScript/TypeScript entry script inside a worker thread of the scoring server, so a
// run() stuck in a synchronous loop can be ended (Worker#terminate) without ending the server.
// Plain JavaScript on purpose: it must load the same way from a checkout and from a built image.
//
// In:  workerData = { entryScript }; messages { id, rawData }.
// Out: { type: 'ready', inputSchema, outputSchema } | { type: 'init-error', message, traceback }
//      { type: 'result', id, body } | { type: 'error', id, message, traceback }
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

const port = parentPort;
const { entryScript } = workerData;

function describe(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function traceOf(error) {
  return error instanceof Error && typeof error.stack === 'string' ? error.stack : undefined;
}

async function load() {
  if (/\.(ts|mts|cts)$/i.test(entryScript)) {
    // Loader hooks of the main thread do not reach worker threads (Node 20): register tsx here.
    const { register } = await import('tsx/esm/api');
    register();
  }
  const module = await import(pathToFileURL(entryScript).href);
  // A CommonJS script's exports arrive as `default`.
  const exports = typeof module.run === 'function' ? module : (module.default ?? module);
  if (typeof exports.run !== 'function') {
    throw new TypeError('the entry script exports no run(rawData) function');
  }
  if (typeof exports.init === 'function') await exports.init();
  return exports;
}

let script;
try {
  script = await load();
} catch (error) {
  console.error(traceOf(error) ?? describe(error));
  // The server ends this thread once it has the message; exiting here could drop it.
  port.postMessage({ type: 'init-error', message: describe(error), traceback: traceOf(error) });
}
if (script) {
  port.postMessage({
    type: 'ready',
    inputSchema: script.inputSchema,
    outputSchema: script.outputSchema,
  });
}

port.on('message', async ({ id, rawData }) => {
  try {
    const result = await script.run(rawData);
    port.postMessage({ type: 'result', id, body: JSON.stringify(result ?? null) });
  } catch (error) {
    port.postMessage({ type: 'error', id, message: describe(error), traceback: traceOf(error) });
  }
});
