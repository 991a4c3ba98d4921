// The replica's HTTP surface (SPEC.md §2): health and probe routes, /score, /swagger.json and
// /metrics. Everything it needs is passed in; main.ts does the wiring.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { DataCollector } from '../data-collection.js';
import type { ConcurrencyLimiter } from '../limiter.js';
import type { ScoringMetrics } from '../metrics.js';
import {
  RunError,
  ScoringTimeoutError,
  WorkerExitedError,
  type EntryScriptInfo,
  type ScoreResponse,
  type ScoringRuntime,
} from '../runtime/types.js';
import { swaggerDocument } from '../swagger.js';
import { readBody } from './body.js';
import { isFormContentType, parseForm, type ParsedForm } from './form.js';
import { requestIds, type RequestIds } from './request-id.js';

/** Where the replica is in its life; decides the health routes' answers. */
export type ReplicaState =
  | { readonly phase: 'initializing' }
  | { readonly phase: 'ready'; readonly info: EntryScriptInfo }
  | { readonly phase: 'init-failed'; readonly reason: string }
  | { readonly phase: 'draining'; readonly info: EntryScriptInfo | undefined };

export interface ScoringHttpOptions {
  readonly serviceId: string;
  readonly scoringTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly runtime: ScoringRuntime;
  readonly limiter: ConcurrencyLimiter;
  readonly metrics: ScoringMetrics;
  readonly collector: DataCollector;
  readonly log: Logger;
}

/** The HTTP server and the state it answers from. */
export interface ScoringHttpServer {
  readonly server: Server;
  state: ReplicaState;
}

/** Seconds a connection whose request was refused as too large may linger before closing. */
const REFUSED_LINGER_MS = 1_000;

/** Creates (does not start) the replica's HTTP server. */
export function createScoringHttpServer(options: ScoringHttpOptions): ScoringHttpServer {
  const handle: ScoringHttpServer = {
    server: createServer((request, response) => {
      route(request, response).catch((error: unknown) => {
        options.log.error({ err: error }, 'request handler failed');
        if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
        else response.destroy();
      });
    }),
    state: { phase: 'initializing' },
  };
  const { log } = options;

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    const method = request.method ?? 'GET';
    const { state } = handle;
    if (state.phase === 'draining') response.setHeader('Connection', 'close');
    switch (path) {
      case '/':
        if (!allow(method, ['GET', 'HEAD'], response)) return;
        if (state.phase === 'ready' || state.phase === 'draining') {
          return sendText(response, 200, 'Healthy');
        }
        return sendText(response, 503, notReadyMessage(state));
      case '/ready':
        if (!allow(method, ['GET', 'HEAD'], response)) return;
        if (state.phase === 'ready') return sendText(response, 200, 'Ready');
        return sendText(response, 503, notReadyMessage(state));
      case '/live': {
        if (!allow(method, ['GET', 'HEAD'], response)) return;
        const dead = state.phase === 'init-failed' || !options.runtime.healthy;
        return sendText(response, dead ? 503 : 200, dead ? notReadyMessage(state) : 'Alive');
      }
      case '/swagger.json':
        if (!allow(method, ['GET', 'HEAD'], response)) return;
        if (state.phase !== 'ready' && state.phase !== 'draining') {
          return sendText(response, 503, notReadyMessage(state));
        }
        return sendJson(
          response,
          200,
          swaggerDocument(
            options.serviceId,
            state.info ?? { rawHttp: false, inputSchema: undefined, outputSchema: undefined },
          ),
        );
      case '/metrics': {
        if (!allow(method, ['GET'], response)) return;
        const text = await options.metrics.registry.metrics();
        return send(response, 200, options.metrics.registry.contentType, text);
      }
      case '/score': {
        const info = state.phase === 'ready' || state.phase === 'draining' ? state.info : undefined;
        const methods = info?.rawHttp ? ['POST', 'GET'] : ['POST'];
        if (!allow(method, methods, response)) return;
        return score(request, response, info);
      }
      default:
        return sendJson(response, 404, { error: `no route ${method} ${path}` });
    }
  }

  async function score(
    request: IncomingMessage,
    response: ServerResponse,
    info: EntryScriptInfo | undefined,
  ): Promise<void> {
    const started = process.hrtime.bigint();
    const ids = requestIds(request);
    response.setHeader('x-ms-request-id', ids.requestId);
    if (ids.clientRequestId) response.setHeader('x-ms-client-request-id', ids.clientRequestId);
    const done = (status: number, extra: Record<string, unknown> = {}) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      options.metrics.requests.inc({ status: String(status) });
      options.metrics.duration.observe({ status: String(status) }, seconds);
      const fields = { requestId: ids.requestId, status, durationMs: seconds * 1_000, ...extra };
      if (status >= 500 && status !== 503) log.error(fields, 'score');
      else log.info(fields, 'score');
      return seconds * 1_000;
    };

    if (!info) {
      sendJson(response, 503, { error: notReadyMessage(handle.state) });
      done(503, { reason: 'not ready' });
      return;
    }
    const release = options.limiter.tryAcquire();
    if (!release) {
      sendJson(response, 503, {
        error: `the replica is busy: ${options.limiter.limit} concurrent request(s) is its limit`,
      });
      done(503, { reason: 'over concurrency limit' });
      return;
    }
    options.metrics.inFlight.inc();
    try {
      const read = await readBody(request, options.maxBodyBytes);
      if (read === 'too-large') {
        refuseTooLarge(request, response, options.maxBodyBytes);
        done(413);
        return;
      }
      const form =
        info.rawHttp && isFormContentType(request.headers['content-type'])
          ? await formOf(request, read.body, ids.requestId)
          : undefined;
      let result: ScoreResponse;
      try {
        result = await options.runtime.score(
          {
            requestId: ids.requestId,
            method: request.method ?? 'POST',
            url: request.url ?? '/score',
            headers: flatHeaders(request),
            body: read.body,
            ...(form ? { form } : {}),
          },
          options.scoringTimeoutMs,
        );
      } catch (error) {
        const { status, message, extra } = failure(error);
        sendJson(response, status, { error: message });
        const durationMs = done(status, extra);
        options.collector.record(collected(ids, status, durationMs, read.body, message));
        return;
      }
      response.writeHead(result.status, withContentLength(result.headers, result.body.length));
      response.end(result.body);
      const durationMs = done(result.status);
      options.collector.record(
        collected(ids, result.status, durationMs, read.body, result.body.toString('utf8')),
      );
    } finally {
      options.metrics.inFlight.dec();
      release();
    }
  }

  /**
   * The parsed form, or undefined when the body does not parse: then, as with Flask, the script
   * finds `request.form` and `request.files` empty and still has the raw body.
   */
  async function formOf(
    request: IncomingMessage,
    body: Buffer,
    requestId: string,
  ): Promise<ParsedForm | undefined> {
    try {
      return await parseForm(request.headers, body);
    } catch (error) {
      log.warn(
        { requestId, err: error },
        'the form body does not parse; request.form and request.files are empty',
      );
      return undefined;
    }
  }

  function failure(error: unknown): {
    status: number;
    message: string;
    extra: Record<string, unknown>;
  } {
    if (error instanceof RunError) {
      return { status: 500, message: error.message, extra: { traceback: error.traceback } };
    }
    if (error instanceof ScoringTimeoutError) {
      return { status: 504, message: error.message, extra: {} };
    }
    if (error instanceof WorkerExitedError) {
      return { status: 500, message: error.message, extra: {} };
    }
    return { status: 500, message: 'internal error', extra: { err: error } };
  }

  return handle;
}

function collected(
  ids: RequestIds,
  status: number,
  durationMs: number,
  input: Buffer,
  output: string,
) {
  return {
    time: new Date().toISOString(),
    requestId: ids.requestId,
    clientRequestId: ids.clientRequestId,
    status,
    durationMs,
    input: input.toString('utf8'),
    output,
  };
}

function notReadyMessage(state: ReplicaState): string {
  switch (state.phase) {
    case 'initializing':
      return 'init() has not finished';
    case 'init-failed':
      return `init() failed: ${state.reason}`;
    case 'draining':
      return 'the replica is shutting down';
    case 'ready':
      return 'a scoring worker could not be restarted';
  }
}

/**
 * 413 without reading the rest. The whole answer goes out at once, but the response is ended
 * (and so the connection closed, by node:http) only when the client has finished sending or
 * after REFUSED_LINGER_MS: closing a socket with unread data resets the connection, and a
 * client still sending would then get the reset instead of the 413. Meanwhile whatever the
 * client sends is read and discarded, never kept.
 */
function refuseTooLarge(request: IncomingMessage, response: ServerResponse, limit: number) {
  const body = Buffer.from(JSON.stringify({ error: `the request body exceeds ${limit} bytes` }));
  response.writeHead(413, {
    'Content-Type': 'application/json',
    'Content-Length': body.length,
    Connection: 'close',
  });
  response.write(body);
  const close = () => {
    clearTimeout(timer);
    response.end();
  };
  const timer = setTimeout(close, REFUSED_LINGER_MS);
  request.once('end', close);
  request.once('close', close);
  request.resume();
}

function allow(method: string, allowed: string[], response: ServerResponse): boolean {
  if (allowed.includes(method)) return true;
  response.setHeader('Allow', allowed.join(', '));
  sendJson(response, 405, { error: `method ${method} not allowed` });
  return false;
}

function flatHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function sendText(response: ServerResponse, status: number, text: string): void {
  send(response, status, 'text/plain; charset=utf-8', text);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, 'application/json', JSON.stringify(value));
}

/**
 * With Content-Length: after writeHead() node:http would frame the body as chunked, which
 * costs the client a chunk parser and the wire a terminating chunk on every answer.
 */
function send(response: ServerResponse, status: number, contentType: string, text: string) {
  const body = Buffer.from(text, 'utf8');
  response.writeHead(status, { 'Content-Type': contentType, 'Content-Length': body.length });
  response.end(body);
}

/** The script's headers with Content-Length set to the body's (its own framing headers dropped). */
function withContentLength(
  headers: Readonly<Record<string, string>>,
  length: number,
): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower !== 'content-length' && lower !== 'transfer-encoding') out[name] = value;
  }
  out['Content-Length'] = length;
  return out;
}
