// One scoring request through the router: wait for a replica slot, stream the body to the
// replica and its answer back, with the body limit, timeouts and the single retry on a refused
// connection. Nothing is buffered whole: chunks pass through with backpressure both ways.
import {
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { BodyCapture } from './data-collection.js';
import { endToEndHeaders, refuseAndClose } from './http-util.js';
import { NoSlotError, type Lease, type ServicePool } from './replica-pool.js';
import type { ServiceEndpoint } from './table.js';
import type { UpstreamAgents } from './upstream-agents.js';

/** Status recorded when the client went away before an answer (nginx's convention). */
export const CLIENT_CLOSED = 499;

/** Options of {@link ScoringProxy}. */
export interface ScoringProxyOptions {
  readonly agents: UpstreamAgents;
  /** Longest pause while a request or response body streams. */
  readonly idleTimeoutMs: number;
  /** How long a replica that refused a connection gets no new requests. */
  readonly ejectMs?: number;
  /** Called for each retry on another replica. */
  readonly onRetry?: (service: string) => void;
}

/** One request to forward. */
export interface ForwardRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly pool: ServicePool;
  /** Path and query on the replica, e.g. `/score?x=1`. */
  readonly upstreamPath: string;
  readonly requestId: string;
  readonly clientAddress: string;
  readonly protocol: 'http' | 'https';
  /** Headers added to the answer (the request ids). */
  readonly responseHeaders: OutgoingHttpHeaders;
  /** Set when the service has data collection on. */
  readonly capture?: { readonly input: BodyCapture; readonly output: BodyCapture };
}

/** What happened, for the request log line and metrics. */
export interface ForwardResult {
  /** The status the client got (499: it went away first). */
  status: number;
  replica?: string;
  queueMs: number;
  /** From sending to the replica until its response headers. */
  upstreamMs?: number;
  bytesIn: number;
  bytesOut: number;
  retried: boolean;
  error?: string;
}

/** Request headers never passed to replicas: the caller's secret, and ids the router sets. */
const DROP_REQUEST = new Set([
  'authorization',
  'x-ms-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);
/** Response headers the router sets itself. */
const DROP_RESPONSE = new Set(['x-ms-request-id', 'x-ms-client-request-id']);

/** Connection errors that mean the replica never saw the request. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Forwards scoring requests to replicas. */
export class ScoringProxy {
  constructor(private readonly options: ScoringProxyOptions) {}

  /** Forwards one request; resolves once the client has its answer (or is gone). */
  async forward(request: ForwardRequest): Promise<ForwardResult> {
    const { res, pool } = request;
    const endpoint = pool.endpoint;
    const started = performance.now();
    const clientGone = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) clientGone.abort();
    };
    res.once('close', onClose);
    const result: ForwardResult = {
      status: 0,
      queueMs: 0,
      bytesIn: 0,
      bytesOut: 0,
      retried: false,
    };
    try {
      let lease: Lease;
      try {
        lease = await pool.acquire({ waitMs: endpoint.maxQueueWaitMs, signal: clientGone.signal });
      } catch (error) {
        result.queueMs = performance.now() - started;
        return this.#noSlot(request, endpoint, error, result);
      }
      result.queueMs = performance.now() - started;
      const first = await this.#attempt(request, endpoint, lease, result, clientGone.signal);
      if (first !== 'retry') return result;
      // The replica refused the connection before a byte of the request went out: one other
      // replica gets it, with the same wait for a slot.
      result.retried = true;
      this.options.onRetry?.(endpoint.service);
      pool.eject(lease.slots, this.options.ejectMs ?? 1_000);
      let second: Lease;
      try {
        second = await pool.acquire({
          waitMs: endpoint.maxQueueWaitMs,
          signal: clientGone.signal,
          exclude: lease.slots,
        });
      } catch (error) {
        if (error instanceof NoSlotError && error.reason === 'timeout') {
          return this.#fail(
            request,
            result,
            502,
            `replica ${lease.replica.address} refused the connection and no other replica was free`,
          );
        }
        return this.#noSlot(request, endpoint, error, result);
      }
      const again = await this.#attempt(request, endpoint, second, result, clientGone.signal);
      if (again === 'retry') {
        return this.#fail(
          request,
          result,
          502,
          `replicas ${lease.replica.address} and ${second.replica.address} refused the connection`,
        );
      }
      return result;
    } finally {
      res.off('close', onClose);
    }
  }

  #noSlot(
    request: ForwardRequest,
    endpoint: ServiceEndpoint,
    error: unknown,
    result: ForwardResult,
  ): ForwardResult {
    if (!(error instanceof NoSlotError)) throw error;
    if (error.reason === 'aborted') {
      result.status = CLIENT_CLOSED;
      result.error = 'client closed while queued';
      return result;
    }
    if (error.reason === 'gone') {
      return this.#fail(request, result, 404, `service '${endpoint.service}' was deleted`);
    }
    const retryAfter = Math.max(1, Math.ceil(endpoint.maxQueueWaitMs / 1_000));
    result.status = 503;
    result.error = 'no free replica slot';
    refuseAndClose(
      request.req,
      request.res,
      503,
      `no replica of '${endpoint.service}' was free within ${endpoint.maxQueueWaitMs} ms; retry later`,
      request.requestId,
      { ...request.responseHeaders, 'retry-after': String(retryAfter) },
    );
    return result;
  }

  #fail(
    request: ForwardRequest,
    result: ForwardResult,
    status: number,
    message: string,
  ): ForwardResult {
    result.status = status;
    result.error = message;
    if (request.res.headersSent || request.res.destroyed) {
      request.res.destroy();
    } else {
      refuseAndClose(
        request.req,
        request.res,
        status,
        message,
        request.requestId,
        request.responseHeaders,
      );
    }
    return result;
  }

  /**
   * One try on the leased replica. Resolves 'retry' when the connection failed before any of
   * the request was sent (and the client is still there), otherwise 'done' with `result` set.
   */
  #attempt(
    request: ForwardRequest,
    endpoint: ServiceEndpoint,
    lease: Lease,
    result: ForwardResult,
    clientGone: AbortSignal,
  ): Promise<'retry' | 'done'> {
    const { req, res } = request;
    const { replica } = lease;
    const { idleTimeoutMs } = this.options;
    result.replica = replica.replicaId || replica.address;
    return new Promise((resolve) => {
      let settled = false;
      let bodyStarted = false;
      let responded = false;
      let waitingForDrain = false;
      let idleTimer: NodeJS.Timeout | undefined;
      let scoringTimer: NodeJS.Timeout | undefined;
      const sentAt = performance.now();

      const headers = endToEndHeaders(req.headers, DROP_REQUEST);
      headers['host'] = replica.address;
      headers['x-ms-request-id'] = request.requestId;
      headers['x-forwarded-for'] = request.clientAddress;
      headers['x-forwarded-proto'] = request.protocol;
      if (req.headers.host) headers['x-forwarded-host'] = req.headers.host;
      const upstream: ClientRequest = httpRequest({
        host: replica.host,
        port: replica.port,
        method: req.method ?? 'POST',
        path: request.upstreamPath,
        headers,
        agent: this.options.agents.for(replica.address),
      });

      const finish = (outcome: 'retry' | 'done') => {
        if (settled) return;
        settled = true;
        clearTimeout(idleTimer);
        clearTimeout(scoringTimer);
        req.off('data', onData);
        req.off('end', onEnd);
        clientGone.removeEventListener('abort', onClientGone);
        lease.release();
        resolve(outcome);
      };
      const fail = (status: number, message: string) => {
        upstream.destroy();
        this.#fail(request, result, status, message);
        finish('done');
      };
      const armIdle = () => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          // A pause while we wait for the replica to take more is the replica's; else the client's.
          if (waitingForDrain) fail(504, `replica ${replica.address} stopped reading the request`);
          else fail(408, `no request data for ${idleTimeoutMs} ms`);
        }, idleTimeoutMs);
      };

      const onData = (chunk: Buffer) => {
        result.bytesIn += chunk.length;
        if (result.bytesIn > endpoint.maxBodyBytes) {
          upstream.destroy();
          result.status = 413;
          result.error = 'request body over the limit';
          refuseAndClose(
            req,
            res,
            413,
            `the request body exceeds ${endpoint.maxBodyBytes} bytes`,
            request.requestId,
            request.responseHeaders,
          );
          finish('done');
          return;
        }
        request.capture?.input.add(chunk);
        if (!upstream.write(chunk)) {
          req.pause();
          waitingForDrain = true;
        }
        armIdle();
      };
      const onEnd = () => {
        clearTimeout(idleTimer);
        upstream.end();
      };
      const startBody = () => {
        if (settled || bodyStarted) return;
        bodyStarted = true;
        req.on('data', onData);
        req.on('end', onEnd);
        armIdle();
        req.resume();
      };
      upstream.on('drain', () => {
        waitingForDrain = false;
        if (!settled && !responded) {
          req.resume();
          armIdle();
        }
      });
      upstream.on('socket', (socket) => {
        // Small answers must not wait for Nagle's algorithm (measured: ~6x the throughput).
        socket.setNoDelay(true);
        if (socket.connecting) socket.once('connect', startBody);
        else startBody();
      });
      upstream.on('finish', () => {
        // The whole request is with the replica: from here it has scoring_timeout to answer.
        scoringTimer = setTimeout(
          () =>
            fail(
              504,
              `replica ${replica.address} did not answer within ${endpoint.scoringTimeoutMs} ms`,
            ),
          endpoint.scoringTimeoutMs,
        );
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (settled) return;
        if (!bodyStarted && !clientGone.aborted && NOT_CONNECTED.has(error.code ?? '')) {
          result.error = `${replica.address}: ${error.code}`;
          finish('retry');
          return;
        }
        if (responded) {
          // Mid-answer: the status line is out, so the client can only see a cut connection.
          result.error = `replica ${replica.address} failed mid-response: ${error.message}`;
          res.destroy();
          finish('done');
          return;
        }
        if (clientGone.aborted) {
          result.status = CLIENT_CLOSED;
          result.error = 'client closed';
          finish('done');
          return;
        }
        fail(502, `replica ${replica.address} failed: ${error.code ?? error.message}`);
      });
      upstream.on('response', (answer: IncomingMessage) => {
        if (settled) {
          answer.resume();
          return;
        }
        responded = true;
        clearTimeout(scoringTimer);
        result.upstreamMs = performance.now() - sentAt;
        result.status = answer.statusCode ?? 502;
        if (!req.readableEnded) {
          // The replica answered before taking the whole body (e.g. its own 413): stop
          // forwarding and let the client's remaining bytes be discarded.
          req.off('data', onData);
          req.off('end', onEnd);
          clearTimeout(idleTimer);
          res.setHeader('connection', 'close');
          req.resume();
        }
        res.writeHead(result.status, {
          ...endToEndHeaders(answer.headers, DROP_RESPONSE),
          ...request.responseHeaders,
        });
        const armResponseIdle = () => {
          clearTimeout(idleTimer);
          idleTimer = setTimeout(() => {
            result.error = `response stalled for ${idleTimeoutMs} ms`;
            upstream.destroy();
            res.destroy();
            finish('done');
          }, idleTimeoutMs);
        };
        armResponseIdle();
        answer.on('data', (chunk: Buffer) => {
          result.bytesOut += chunk.length;
          request.capture?.output.add(chunk);
          if (!res.write(chunk)) answer.pause();
          armResponseIdle();
        });
        res.on('drain', () => {
          answer.resume();
          armResponseIdle();
        });
        answer.on('end', () => {
          res.end();
          finish('done');
        });
        answer.on('error', () => undefined); // reported through upstream's 'error'
      });
      const onClientGone = () => {
        if (settled) return;
        result.status = CLIENT_CLOSED;
        result.error = responded ? 'client closed mid-response' : 'client closed';
        upstream.destroy();
        finish('done');
      };
      clientGone.addEventListener('abort', onClientGone, { once: true });
    });
  }
}
