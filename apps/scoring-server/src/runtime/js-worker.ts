// A JavaScript/TypeScript worker: the entry script loaded in a worker thread (js/worker.mjs).
// A thread, not the server's own event loop, because a run() stuck in a synchronous loop can
// then be terminated and replaced; README.md ("JavaScript entry scripts") gives the cost.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ScoringWorker } from './pool.js';
import { logScriptOutput } from './script-output.js';
import {
  InitError,
  RunError,
  WorkerExitedError,
  type EntryScriptInfo,
  type ScoreRequest,
  type ScoreResponse,
} from './types.js';

const WORKER_URL = new URL('../../js/worker.mjs', import.meta.url);
const JSON_HEADERS = { 'Content-Type': 'application/json' };

export interface JsWorkerOptions {
  readonly entryScript: string;
  /**
   * Requests the thread takes at once. Above one, async `run()`s interleave on the thread's
   * event loop; a synchronous `run()` still runs one at a time.
   */
  readonly capacity: number;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
}

type WorkerMessage =
  | { type: 'ready'; inputSchema?: unknown; outputSchema?: unknown }
  | { type: 'init-error'; message: string; traceback?: string }
  | { type: 'result'; id: number; body: string }
  | { type: 'error'; id: number; message: string; traceback?: string };

/** Starts one worker thread; `init()` runs as soon as it has loaded the script. */
export function startJsWorker(options: JsWorkerOptions): ScoringWorker {
  const worker = new Worker(WORKER_URL, {
    workerData: { entryScript: options.entryScript },
    env: options.env,
    stdout: true,
    stderr: true,
  });
  logScriptOutput(worker.stdout, 'stdout', options.log);
  logScriptOutput(worker.stderr, 'stderr', options.log);

  const pending = new Map<
    number,
    { resolve: (r: ScoreResponse) => void; reject: (e: Error) => void }
  >();
  let nextId = 0;
  let readySettled = false;
  let resolveReady!: (info: EntryScriptInfo) => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<EntryScriptInfo>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);

  worker.on('message', (message: WorkerMessage) => {
    switch (message.type) {
      case 'ready':
        readySettled = true;
        resolveReady({
          rawHttp: false,
          inputSchema: message.inputSchema,
          outputSchema: message.outputSchema,
        });
        return;
      case 'init-error':
        readySettled = true;
        rejectReady(new InitError(message.message, message.traceback));
        return;
      case 'result':
      case 'error': {
        const current = pending.get(message.id);
        if (!current) return;
        pending.delete(message.id);
        if (message.type === 'result') {
          current.resolve({ status: 200, headers: JSON_HEADERS, body: Buffer.from(message.body) });
        } else {
          current.reject(new RunError(message.message, message.traceback));
        }
      }
    }
  });
  // An uncaught error inside the thread (e.g. thrown from a timer the script set) ends it.
  worker.on('error', (error) => options.log.error({ err: error }, 'entry script thread failed'));

  const exited = new Promise<void>((resolve) => {
    worker.once('exit', (code) => {
      if (!readySettled) {
        readySettled = true;
        rejectReady(
          new InitError(`the script thread exited (code ${code}) before init() finished`),
        );
      }
      for (const { reject } of pending.values()) {
        reject(new WorkerExitedError(`the script thread exited (code ${code})`));
      }
      pending.clear();
      resolve();
    });
  });

  return {
    ready,
    exited,
    capacity: options.capacity,
    score(request: ScoreRequest): Promise<ScoreResponse> {
      return new Promise<ScoreResponse>((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, rawData: request.body.toString('utf8') });
      });
    },
    kill() {
      void worker.terminate();
    },
  };
}
