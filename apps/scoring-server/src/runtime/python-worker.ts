// A Python worker: `python3 runner.py` with the entry script, talking frames (framing.ts) over
// two extra pipes, fd 3 (requests in) and fd 4 (results out), so that whatever the script
// prints on stdout/stderr is only ever log output.
import { spawn } from 'node:child_process';
import { delimiter } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { ParsedForm } from '../http/form.js';
import { FrameDecoder, writeFrame, type Frame } from './framing.js';
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

/** The stdlib-only runner and the `azureml` compatibility package shipped with the app. */
export const PYTHON_DIR = fileURLToPath(new URL('../../python/', import.meta.url));

export interface PythonWorkerOptions {
  readonly python: string;
  readonly entryScript: string;
  readonly sourceDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
}

interface Pending {
  /** The `id` of the run frame; only a result frame with the same id answers it. */
  readonly id: number;
  readonly resolve: (response: ScoreResponse) => void;
  readonly reject: (error: Error) => void;
}

/** Starts one Python worker process; `init()` runs as soon as it starts. */
export function startPythonWorker(options: PythonWorkerOptions): ScoringWorker {
  const { log } = options;
  const pythonPath = [PYTHON_DIR, options.sourceDir, options.env['PYTHONPATH']]
    .filter(Boolean)
    .join(delimiter);
  const child = spawn(options.python, ['-u', `${PYTHON_DIR}runner.py`, options.entryScript], {
    cwd: options.sourceDir,
    env: {
      ...options.env,
      PYTHONPATH: pythonPath,
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONIOENCODING: 'utf-8',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    // Its own process group: a Ctrl-C or a signal to the server's group must not end a run()
    // that the server is still draining. The worker exits by itself when fd 3 closes.
    detached: true,
  });
  const [, stdout, stderr, requestPipe, resultPipe] = child.stdio;
  logScriptOutput(stdout as Readable, 'stdout', log);
  logScriptOutput(stderr as Readable, 'stderr', log);
  const requests = requestPipe as Writable;
  const results = resultPipe as Readable;
  requests.on('error', () => undefined); // EPIPE after the child died: `exited` reports it

  let pending: Pending | undefined;
  let nextId = 0;
  let groupKilled = false;
  let readySettled = false;
  let resolveReady!: (info: EntryScriptInfo) => void;
  let rejectReady!: (error: Error) => void;
  const ready = new Promise<EntryScriptInfo>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined);

  /**
   * SIGKILL to the worker's whole process group (it leads one: `detached`), so processes the
   * entry script started die with it instead of holding the server's log pipes open, also when
   * the worker itself already died. Once only: a group id can be reused once it is empty.
   */
  function killGroup(): void {
    if (groupKilled || child.pid === undefined) return;
    groupKilled = true;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is empty already.
    }
  }

  const decoder = new FrameDecoder();
  results.on('data', (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      log.error({ err: error }, 'python worker sent a malformed frame; killing it');
      killGroup();
      return;
    }
    for (const frame of frames) onFrame(frame);
  });
  results.on('error', () => undefined);

  const exited = new Promise<void>((resolve) => {
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      const how = signal ? `signal ${signal}` : `code ${code}`;
      if (!readySettled) {
        readySettled = true;
        rejectReady(new InitError(`the python worker exited (${how}) before init() finished`));
      }
      pending?.reject(new WorkerExitedError(`the python worker exited (${how})`));
      pending = undefined;
      resolve();
    };
    child.once('exit', done);
    child.once('error', (error) => {
      log.error({ err: error }, `could not start '${options.python}'`);
      done(null, null);
    });
  });

  function onFrame({ header, body }: Frame): void {
    switch (header['type']) {
      case 'ready':
        readySettled = true;
        resolveReady({
          rawHttp: header['rawHttp'] === true,
          inputSchema: header['inputSchema'],
          outputSchema: header['outputSchema'],
        });
        return;
      case 'init-error':
        readySettled = true;
        rejectReady(
          new InitError(String(header['message']), stringOrUndefined(header['traceback'])),
        );
        return;
      case 'result':
      case 'error': {
        const current = pending;
        if (!current || header['id'] !== current.id) {
          // Only a late answer to a request that was given up on can get here.
          log.warn(
            { frame: header['type'], expected: current?.id },
            `python worker sent a ${header['type']} frame for request id ${String(header['id'])}; ignored`,
          );
          return;
        }
        pending = undefined;
        if (header['type'] === 'result') {
          current.resolve({
            status: Number(header['status'] ?? 200),
            headers: stringRecord(header['headers']),
            body,
          });
        } else {
          current.reject(
            new RunError(String(header['message']), stringOrUndefined(header['traceback'])),
          );
        }
        return;
      }
      default:
        log.warn({ frame: header['type'] }, 'python worker sent an unknown frame');
    }
  }

  return {
    ready,
    exited,
    // runner.py reads the next frame only after run() returned.
    capacity: 1,
    score(request: ScoreRequest): Promise<ScoreResponse> {
      return new Promise<ScoreResponse>((resolve, reject) => {
        const id = ++nextId;
        pending = { id, resolve, reject };
        const header = {
          type: 'run',
          id,
          requestId: request.requestId,
          method: request.method,
          url: request.url,
          headers: request.headers,
          ...formHeader(request.form, request.body),
        };
        const files = request.form?.files ?? [];
        writeFrame(requests, header, [request.body, ...files.map((file) => file.data)]);
      });
    },
    kill: killGroup,
  };
}

/**
 * A form's fields and its files' descriptions for the run frame. The files' bytes follow the
 * raw body in the frame's body, in the same order, so they are never escaped into JSON.
 */
function formHeader(form: ParsedForm | undefined, body: Buffer): object {
  if (!form) return {};
  return {
    bodyLength: body.length,
    fields: form.fields,
    files: form.files.map(({ name, filename, contentType, data }) => ({
      name,
      filename,
      contentType,
      length: data.length,
    })),
  };
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function stringRecord(value: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) record[key] = String(item);
  }
  return record;
}
