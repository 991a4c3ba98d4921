// What the HTTP layer needs from whatever runs the entry script, independent of the language.
import type { ParsedForm } from '../http/form.js';

/** One call of the entry script's `run()`. */
export interface ScoreRequest {
  readonly requestId: string;
  readonly method: string;
  /** Path with query string, e.g. `/score?verbose=1`. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The body's form fields and files, parsed for a `@rawhttp` run() when the body is a form. */
  readonly form?: ParsedForm;
}

/** What `run()` produced, ready to send. */
export interface ScoreResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Facts the entry script reports once `init()` has finished. */
export interface EntryScriptInfo {
  /** `run` takes the raw request (Python `@rawhttp`); GET /score is then routed to it too. */
  readonly rawHttp: boolean;
  /** JSON Schemas the script declares for its input and output, used in /swagger.json. */
  readonly inputSchema: unknown;
  readonly outputSchema: unknown;
}

/** Runs an entry script: `init()` at start, `run()` per request, at most `workers` at once. */
export interface ScoringRuntime {
  /** Resolves once every worker has finished `init()`; rejects with {@link InitError}. */
  start(): Promise<EntryScriptInfo>;
  /**
   * Runs `run()` for one request. Rejects with {@link RunError} when the script raised,
   * {@link ScoringTimeoutError} past `timeoutMs` (the worker is then recycled), or
   * {@link WorkerExitedError} when the worker died under the request.
   */
  score(request: ScoreRequest, timeoutMs: number): Promise<ScoreResponse>;
  /** False once a worker could not be (re)started: the replica should be restarted. */
  readonly healthy: boolean;
  /** Stops every worker; pending `score()` calls reject with {@link WorkerExitedError}. */
  stop(): Promise<void>;
}

/** The entry script's `init()` failed (or its worker could not start). */
export class InitError extends Error {
  override readonly name = 'InitError';
  constructor(
    message: string,
    readonly traceback?: string,
  ) {
    super(message);
  }
}

/** The entry script's `run()` raised; `message` is the exception's, `traceback` its stack. */
export class RunError extends Error {
  override readonly name = 'RunError';
  constructor(
    message: string,
    readonly traceback?: string,
  ) {
    super(message);
  }
}

/** `run()` took longer than the scoring timeout. */
export class ScoringTimeoutError extends Error {
  override readonly name = 'ScoringTimeoutError';
}

/** The worker process/thread exited while it held the request. */
export class WorkerExitedError extends Error {
  override readonly name = 'WorkerExitedError';
}
