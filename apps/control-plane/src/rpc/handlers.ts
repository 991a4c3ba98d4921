import type {
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  ServerReadableStream,
  ServerWritableStream,
} from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { createContext, requirePlatformScope, type RequestContext } from './context.js';
import { decoded, type UndecodableRequest } from './decode.js';
import { statusName, toServiceError } from './status.js';
import type { RpcMetrics } from './metrics.js';
import type { AuditLog } from '@skiff/store';

/** What every handler wrapper needs. */
export interface HandlerDeps {
  readonly log: Logger;
  readonly metrics: RpcMetrics;
  readonly audit: AuditLog;
}

/** Options of one method. */
export interface MethodOptions {
  /** Full method path, e.g. '/skiff.v1.WebserviceService/DeployWebservice'. */
  readonly method: string;
  /** Record the call in the audit log (every change, and every read of a secret). */
  readonly audited?: boolean;
}

function finish(
  deps: HandlerDeps,
  options: MethodOptions,
  context: RequestContext | undefined,
  code: status,
  started: bigint,
  error?: unknown,
): void {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  deps.metrics.observe(options.method, statusName(code), seconds);
  const log = context?.log ?? deps.log.child({ method: options.method });
  if (code === status.INTERNAL || (code === status.UNAVAILABLE && error)) {
    log.error({ err: error, code: statusName(code), seconds }, 'rpc failed');
  } else {
    log.info({ code: statusName(code), seconds }, 'rpc');
  }
  if (options.audited && context) {
    deps.audit
      .append({
        time: new Date().toISOString(),
        actor: context.caller.principal,
        workspace: context.workspace,
        action: options.method,
        target: context.target,
        outcome: statusName(code),
        requestId: context.requestId,
      })
      .catch((auditError: unknown) =>
        log.error({ err: auditError }, 'could not write the audit log'),
      );
  }
}

function codeOf(error: unknown): status {
  return (toServiceError(error, '').code as status | undefined) ?? status.INTERNAL;
}

/** A unary method: errors mapped at this edge, logged, measured and (optionally) audited. */
export function unary<Req, Res>(
  deps: HandlerDeps,
  options: MethodOptions,
  handler: (request: Req, context: RequestContext) => Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    let context: RequestContext | undefined;
    void (async () => {
      try {
        context = createContext(call, options.method, deps.log);
        requirePlatformScope(context);
        const response = await handler(decoded<Req>(call.request), context);
        finish(deps, options, context, status.OK, started);
        callback(null, response);
      } catch (error) {
        const serviceError = toServiceError(error, context?.requestId ?? '');
        finish(deps, options, context, codeOf(error), started, error);
        callback(serviceError);
      }
    })();
  };
}

/** A server-streaming method: `handler` writes with `send`; returning ends the stream. */
export function serverStream<Req, Res>(
  deps: HandlerDeps,
  options: MethodOptions,
  handler: (
    request: Req,
    context: RequestContext,
    send: (message: Res) => Promise<void>,
  ) => Promise<void>,
): handleServerStreamingCall<Req, Res> {
  return (call: ServerWritableStream<Req, Res>) => {
    const started = process.hrtime.bigint();
    let context: RequestContext | undefined;
    const send = (message: Res): Promise<void> =>
      new Promise((resolve) => {
        if (call.cancelled || call.destroyed) return resolve();
        // Respect backpressure: wait for 'drain' when the buffer is full.
        if (call.write(message)) resolve();
        else call.once('drain', () => resolve());
      });
    void (async () => {
      try {
        context = createContext(call, options.method, deps.log);
        requirePlatformScope(context);
        await handler(decoded<Req>(call.request), context, send);
        finish(deps, options, context, call.cancelled ? status.CANCELLED : status.OK, started);
        if (!call.cancelled) call.end();
      } catch (error) {
        finish(deps, options, context, codeOf(error), started, error);
        // grpc-js sends a server stream's error status on 'error'; destroy() would send nothing
        // and leave the client waiting.
        if (!call.cancelled) call.emit('error', toServiceError(error, context?.requestId ?? ''));
      }
    })();
  };
}

/**
 * The request stream with each undecodable message thrown as its error where the handler
 * reads it. A plain iterator rather than an async generator: `return()` must reach the call at
 * once (handlers stop reading early and discard the rest), not wait behind a pending read.
 */
function decodedStream<Req>(requests: AsyncIterable<Req | UndecodableRequest>): AsyncIterable<Req> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<Req> {
      const inner = requests[Symbol.asyncIterator]();
      return {
        next: async (): Promise<IteratorResult<Req>> => {
          const result = await inner.next();
          return result.done
            ? { done: true, value: undefined }
            : { done: false, value: decoded(result.value) };
        },
        return: async (): Promise<IteratorResult<Req>> => {
          await inner.return?.();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

/** A client-streaming method: `handler` consumes the request stream and returns the answer. */
export function clientStream<Req, Res>(
  deps: HandlerDeps,
  options: MethodOptions,
  handler: (requests: AsyncIterable<Req>, context: RequestContext) => Promise<Res>,
): handleClientStreamingCall<Req, Res> {
  return (call: ServerReadableStream<Req, Res>, callback) => {
    const started = process.hrtime.bigint();
    let context: RequestContext | undefined;
    void (async () => {
      try {
        context = createContext(call, options.method, deps.log);
        requirePlatformScope(context);
        const response = await handler(decodedStream(call as AsyncIterable<Req>), context);
        finish(deps, options, context, status.OK, started);
        callback(null, response);
      } catch (error) {
        // A client that cancelled cut its stream: the read fails, but the outcome is CANCELLED.
        const code = call.cancelled ? status.CANCELLED : codeOf(error);
        finish(deps, options, context, code, started, error);
        callback(toServiceError(error, context?.requestId ?? ''));
      }
    })();
  };
}
