// The router's HTTP surface: the scoring routes of each service, and its own /healthz,
// /readyz and /metrics. One log line and one metrics sample per scoring request.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ServiceAuthenticator } from './auth.js';
import { BodyCapture, type DataCollector } from './data-collection.js';
import { refuseAndClose, sendError } from './http-util.js';
import { UNKNOWN_SERVICE, type RouterMetrics } from './metrics.js';
import { CLIENT_CLOSED, type ForwardResult, type ScoringProxy } from './proxy.js';
import type { ReplicaPools } from './replica-pool.js';
import type { RouteTable } from './table.js';

/** What the handler needs from the rest of the router. */
export interface RequestHandlerDeps {
  readonly table: () => RouteTable | undefined;
  /** The table, waiting a bounded time for the first one (see RoutingTableSource.tableWithin). */
  readonly firstTable: () => Promise<RouteTable | undefined>;
  readonly pools: ReplicaPools;
  readonly authenticator: ServiceAuthenticator;
  readonly proxy: ScoringProxy;
  readonly metrics: RouterMetrics;
  readonly collector: DataCollector;
  readonly log: Logger;
  /** True once the router stops: answers carry `Connection: close`, /readyz says 503. */
  readonly draining: () => boolean;
}

const SCORING_PATH = /^\/api\/v1\/service\/([^/]+)\/(score|swagger\.json)$/;
const USABLE_ID = /^[\x21-\x7e]{1,128}$/;

type Route = 'score' | 'swagger';

/** Creates the request listener of the HTTP and HTTPS servers. */
export function createRequestHandler(
  deps: RequestHandlerDeps,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((error: unknown) => {
      deps.log.error({ err: error, url: req.url }, 'request handler failed');
      if (!res.headersSent) sendError(res, 500, 'internal router error', '');
      else res.destroy();
    });
  };
}

async function handle(deps: RequestHandlerDeps, req: IncomingMessage, res: ServerResponse) {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  // Kept by every answer below: writeHead merges it with the headers it is given.
  if (deps.draining()) res.setHeader('connection', 'close');
  switch (path) {
    case '/healthz':
      return sendText(res, 200, 'ok\n');
    case '/readyz': {
      const table = deps.table();
      if (deps.draining()) return sendText(res, 503, 'draining\n');
      return table
        ? sendText(res, 200, `ready: routing table version ${table.version}\n`)
        : sendText(res, 503, 'no routing table yet\n');
    }
    case '/metrics': {
      const body = await deps.metrics.registry.metrics();
      res.writeHead(200, {
        'content-type': deps.metrics.registry.contentType,
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
      return;
    }
  }
  const match = SCORING_PATH.exec(path);
  const clientRequestId = header(req, 'x-ms-client-request-id');
  const requestId = clientRequestId ?? randomUUID();
  const responseHeaders: OutgoingHttpHeaders = { 'x-ms-request-id': requestId };
  if (clientRequestId) responseHeaders['x-ms-client-request-id'] = clientRequestId;
  if (!match) {
    sendError(res, 404, `no route for ${path}`, requestId, responseHeaders);
    return;
  }
  let name: string;
  try {
    name = decodeURIComponent(match[1] ?? '');
  } catch {
    sendError(res, 404, `no route for ${path}`, requestId, responseHeaders);
    return;
  }
  const route: Route = match[2] === 'score' ? 'score' : 'swagger';
  await score(deps, req, res, {
    name,
    route,
    requestId,
    clientRequestId,
    responseHeaders,
    upstreamPath:
      (route === 'score' ? '/score' : '/swagger.json') + (query < 0 ? '' : url.slice(query)),
  });
}

interface ScoringCall {
  readonly name: string;
  readonly route: Route;
  readonly requestId: string;
  readonly clientRequestId: string | undefined;
  readonly responseHeaders: OutgoingHttpHeaders;
  readonly upstreamPath: string;
}

async function score(
  deps: RequestHandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  call: ScoringCall,
): Promise<void> {
  const started = performance.now();
  const clientAddress = req.socket.remoteAddress ?? 'unknown';
  const method = req.method ?? 'GET';
  const table = deps.table() ?? (await deps.firstTable());
  const endpoint = table?.services.get(call.name);
  const pool = deps.pools.get(call.name);
  const serviceLabel = endpoint ? call.name : UNKNOWN_SERVICE;
  const result: ForwardResult = { status: 0, queueMs: 0, bytesIn: 0, bytesOut: 0, retried: false };
  let capture: { input: BodyCapture; output: BodyCapture } | undefined;

  const allowed = call.route === 'score' ? ['POST', 'GET'] : ['GET', 'HEAD'];
  if (!table) {
    refuse(503, 'the router has no routing table yet; retry later', { 'retry-after': '1' });
  } else if (!endpoint || !pool) {
    refuse(404, `service '${call.name}' not found`);
  } else if (!allowed.includes(method)) {
    refuse(405, `method ${method} not allowed`, { allow: allowed.join(', ') });
  } else {
    const auth = await deps.authenticator.check(
      endpoint,
      table.tokens,
      req.headers.authorization,
      clientAddress,
    );
    if (!auth.ok && auth.status === 429) {
      deps.metrics.authFailures.inc({ service: serviceLabel, result: '429' });
      refuse(429, 'too many failed authentication attempts from this address; retry later', {
        'retry-after': String(auth.retryAfterSeconds),
      });
    } else if (!auth.ok) {
      deps.metrics.authFailures.inc({ service: serviceLabel, result: '401' });
      result.error = auth.reason;
      refuse(401, 'missing or invalid credentials', { 'www-authenticate': 'Bearer' });
    } else if (declaredLength(req) > endpoint.maxBodyBytes) {
      refuse(413, `the request body exceeds ${endpoint.maxBodyBytes} bytes`);
    } else {
      if (endpoint.dataCollection && call.route === 'score') {
        capture = { input: new BodyCapture(), output: new BodyCapture() };
      }
      Object.assign(
        result,
        await deps.proxy.forward({
          req,
          res,
          pool,
          upstreamPath: call.upstreamPath,
          requestId: call.requestId,
          clientAddress,
          protocol: 'encrypted' in req.socket ? 'https' : 'http',
          responseHeaders: call.responseHeaders,
          ...(capture ? { capture } : {}),
        }),
      );
      deps.metrics.queueWait.observe({ service: serviceLabel }, result.queueMs / 1_000);
    }
  }

  // Log and count when the answer is out (or the client is gone), not when headers are.
  const durationMs = performance.now() - started;
  deps.metrics.requests.inc({
    service: serviceLabel,
    route: call.route,
    status: String(result.status),
  });
  deps.metrics.duration.observe({ service: serviceLabel, route: call.route }, durationMs / 1_000);
  const fields = {
    requestId: call.requestId,
    ...(call.clientRequestId ? { clientRequestId: call.clientRequestId } : {}),
    service: call.name,
    ...(endpoint ? { workspace: endpoint.workspace } : {}),
    route: call.route,
    method,
    status: result.status,
    replica: result.replica ?? null,
    client: clientAddress,
    durationMs: round(durationMs),
    queueMs: round(result.queueMs),
    upstreamMs: result.upstreamMs === undefined ? null : round(result.upstreamMs),
    bytesIn: result.bytesIn,
    bytesOut: result.bytesOut,
    ...(result.retried ? { retried: true } : {}),
    ...(result.error ? { error: result.error } : {}),
  };
  if (result.status >= 500 && result.status !== 503) deps.log.warn(fields, 'request');
  else deps.log.info(fields, 'request');
  if (capture && endpoint && result.status !== CLIENT_CLOSED) {
    deps.collector.record({
      time: new Date().toISOString(),
      workspace: endpoint.workspace,
      service: endpoint.service,
      replica: result.replica,
      requestId: call.requestId,
      clientRequestId: call.clientRequestId,
      status: result.status,
      durationMs: round(durationMs),
      input: capture.input.text(),
      inputBytes: capture.input.bytes,
      inputTruncated: capture.input.truncated,
      output: capture.output.text(),
      outputBytes: capture.output.bytes,
      outputTruncated: capture.output.truncated,
    });
  }

  function refuse(status: number, message: string, extra: OutgoingHttpHeaders = {}) {
    result.status = status;
    result.error ??= message;
    const headers = { ...call.responseHeaders, ...extra };
    // A request with a body still coming gets its answer and a closed connection (reading a
    // body only to discard it would let a refused client stream at will); one without keeps
    // its connection.
    if (hasBody(req)) refuseAndClose(req, res, status, message, call.requestId, headers);
    else sendError(res, status, message, call.requestId, headers);
  }
}

/** The Content-Length the client declared; 0 when it streams chunked or sends none. */
function declaredLength(req: IncomingMessage): number {
  const value = req.headers['content-length'];
  return value === undefined ? 0 : Number(value);
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || declaredLength(req) > 0;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' && USABLE_ID.test(value) ? value : undefined;
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
