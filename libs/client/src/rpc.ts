import {
  Metadata,
  type CallOptions,
  type Client,
  type ClientReadableStream,
  type ClientUnaryCall,
  type ClientWritableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { SkiffApiError, toApiError } from './errors.js';

/** Per-call options of every {@link SkiffClient} method. */
export interface RpcOptions {
  /**
   * Deadline of this call in milliseconds. Default: the client's `timeoutMs` for unary calls;
   * none for streams (watches and log follows run until the server ends them, uploads take
   * as long as the bytes take).
   */
  readonly timeoutMs?: number;
  /**
   * Cancels the call. A unary call or upload then rejects with `CANCELLED`; a server stream
   * simply ends, because the caller asked it to.
   */
  readonly signal?: AbortSignal;
}

/** Messages a server stream buffers before it pauses until the consumer catches up. */
const STREAM_HIGH_WATER = 16;

/** A unary method of a generated client; its 4-argument overload, which inference picks. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** A server-streaming method of a generated client. */
export type ServerStreamMethod<Req, Res> = (
  request: Req,
  metadata?: Metadata,
  options?: Partial<CallOptions>,
) => ClientReadableStream<Res>;

/** A client-streaming method of a generated client (the metadata + options overload). */
export type ClientStreamMethod<Req, Res> = (
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientWritableStream<Req>;

/**
 * How calls are made on one channel: the credential in `authorization` metadata, the default
 * deadline, cancellation and error mapping. Shared by the service facades.
 */
export class RpcInvoker {
  constructor(
    private readonly token: string | undefined,
    private readonly timeoutMs: number,
  ) {}

  private metadata(): Metadata {
    const metadata = new Metadata();
    if (this.token !== undefined) metadata.set('authorization', `Bearer ${this.token}`);
    return metadata;
  }

  private static callOptions(timeoutMs: number | undefined): Partial<CallOptions> {
    return timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
  }

  /** Calls a unary method; rejects with SkiffApiError. */
  unary<Req, Res>(
    client: Client,
    method: UnaryMethod<Req, Res>,
    request: Req,
    options: RpcOptions = {},
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const { signal } = options;
      if (signal?.aborted) {
        reject(cancelled());
        return;
      }
      const call = method.call(
        client,
        request,
        this.metadata(),
        RpcInvoker.callOptions(options.timeoutMs ?? this.timeoutMs),
        (error, response) => {
          signal?.removeEventListener('abort', onAbort);
          if (error) reject(toApiError(error));
          else resolve(response);
        },
      );
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Calls a server-streaming method and yields its messages. The stream is cancelled when the
   * consumer stops iterating early; when `signal` aborts, iteration simply ends.
   */
  async *serverStream<Req, Res>(
    client: Client,
    method: ServerStreamMethod<Req, Res>,
    request: Req,
    options: RpcOptions = {},
  ): AsyncGenerator<Res, void, undefined> {
    const { signal } = options;
    if (signal?.aborted) return;
    const call = method.call(
      client,
      request,
      this.metadata(),
      RpcInvoker.callOptions(options.timeoutMs),
    );
    // Flowing mode: grpc-js emits every message before 'error' or 'end', so the queue holds
    // everything the server sent when the outcome arrives.
    const queue: Res[] = [];
    let ended = false;
    let failure: unknown;
    let wake: (() => void) | undefined;
    const notify = () => {
      const resume = wake;
      wake = undefined;
      resume?.();
    };
    call.on('data', (message: Res) => {
      queue.push(message);
      // Backpressure: a slow consumer (a download writing to disk) pauses the stream, which
      // stops HTTP/2 flow-control credit, instead of buffering the whole answer in memory.
      if (queue.length >= STREAM_HIGH_WATER) call.pause();
      notify();
    });
    call.on('error', (error: unknown) => {
      failure ??= error;
      ended = true;
      notify();
    });
    call.on('end', () => {
      ended = true;
      notify();
    });
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          if (queue.length === 0 && call.isPaused()) call.resume();
          yield next;
          continue;
        }
        if (ended) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure !== undefined && !signal?.aborted) throw toApiError(failure);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!ended) call.cancel();
    }
  }

  /**
   * Calls a client-streaming method with the messages of `requests`, honouring the stream's
   * flow control. Stops sending as soon as the server answers (an early rejection); a failing
   * `requests` iterable cancels the call and rejects with its error.
   */
  clientStream<Req, Res>(
    client: Client,
    method: ClientStreamMethod<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    options: RpcOptions = {},
  ): Promise<Res> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(cancelled());
    let answered = false;
    let markAnswered!: () => void;
    const answer = new Promise<void>((resolve) => (markAnswered = resolve));
    return new Promise<Res>((resolve, reject) => {
      const call = method.call(
        client,
        this.metadata(),
        RpcInvoker.callOptions(options.timeoutMs),
        (error, response) => {
          answered = true;
          markAnswered();
          signal?.removeEventListener('abort', onAbort);
          if (error) reject(toApiError(error));
          else resolve(response);
        },
      );
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      const send = async () => {
        for await (const request of requests) {
          if (answered) return;
          if (!call.write(request)) {
            await Promise.race([new Promise((resolve) => call.once('drain', resolve)), answer]);
          }
        }
        if (!answered) call.end();
      };
      send().catch((error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        answered = true;
        // Reject before cancelling, so the caller sees why sending stopped, not CANCELLED.
        reject(error instanceof Error ? error : new Error(String(error)));
        call.cancel();
      });
    });
  }
}

function cancelled(): SkiffApiError {
  return new SkiffApiError({ status: 1, details: 'the call was cancelled before it started' });
}
