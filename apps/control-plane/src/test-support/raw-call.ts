import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import * as proto from '@skiff/proto';

/** One RPC as the generated grpc-js service definitions describe it. */
export interface RpcMethod {
  /** Full path, `/skiff.v1.WebserviceService/DeployWebservice`. */
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/**
 * Every RPC of every skiff.v1 service, read from the generated service definitions (the
 * `*ServiceService` exports of @skiff/proto), so a new RPC or service is included by itself.
 */
export function everyRpc(): RpcMethod[] {
  const methods: RpcMethod[] = [];
  for (const [name, value] of Object.entries(proto)) {
    if (!name.endsWith('ServiceService') || typeof value !== 'object' || value === null) continue;
    for (const method of Object.values(value as Record<string, unknown>)) {
      const m = method as Partial<RpcMethod>;
      if (typeof m.path === 'string' && m.path.startsWith('/skiff.v1.')) {
        methods.push({
          path: m.path,
          requestStream: m.requestStream === true,
          responseStream: m.responseStream === true,
        });
      }
    }
  }
  return methods;
}

/** How a raw call ended. */
export interface RawOutcome {
  /** Status name: 'OK', 'INVALID_ARGUMENT', … */
  readonly code: string;
  readonly details: string;
  /** `skiff-field` of the trailers, when the server named one. */
  readonly field: string | undefined;
  /** Response messages received before the end (server streams are cut after the first). */
  readonly responses: number;
}

const identity = (value: Buffer): Buffer => value;

/**
 * Calls `method` with already-encoded request messages (one for a unary or server-streaming
 * call; any number for a client stream), as `token`. A server stream is cancelled after its
 * first response: follow streams never end by themselves, and a response already shows the
 * call was served. Calls that outlive `timeoutMs` end DEADLINE_EXCEEDED.
 */
export function rawCall(
  client: Client,
  method: RpcMethod,
  token: string | undefined,
  messages: readonly Buffer[],
  timeoutMs = 5_000,
): Promise<RawOutcome> {
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  const options = { deadline: new Date(Date.now() + timeoutMs) };
  let responses = 0;
  return new Promise((resolve) => {
    const settle = (error: ServiceError | null) =>
      resolve({
        code: error ? (status[error.code] ?? String(error.code)) : 'OK',
        details: error?.details ?? '',
        field: error?.metadata?.get('skiff-field')[0]?.toString(),
        responses,
      });
    const first = messages[0] ?? Buffer.alloc(0);
    if (!method.requestStream && !method.responseStream) {
      client.makeUnaryRequest(method.path, identity, identity, first, metadata, options, (e) => {
        responses += e ? 0 : 1;
        settle(e);
      });
    } else if (!method.requestStream) {
      const stream = client.makeServerStreamRequest(
        method.path,
        identity,
        identity,
        first,
        metadata,
        options,
      );
      stream.on('data', () => {
        responses += 1;
        if (responses === 1) stream.cancel();
      });
      stream.on('error', (error: ServiceError) =>
        settle(error.code === status.CANCELLED && responses > 0 ? null : error),
      );
      stream.on('end', () => settle(null));
    } else if (!method.responseStream) {
      const stream = client.makeClientStreamRequest(
        method.path,
        identity,
        identity,
        metadata,
        options,
        (e) => {
          responses += e ? 0 : 1;
          settle(e);
        },
      );
      for (const message of messages) stream.write(message);
      stream.end();
    } else {
      const stream = client.makeBidiStreamRequest(
        method.path,
        identity,
        identity,
        metadata,
        options,
      );
      stream.on('data', () => {
        responses += 1;
        if (responses === 1) stream.cancel();
      });
      stream.on('error', (error: ServiceError) =>
        settle(error.code === status.CANCELLED && responses > 0 ? null : error),
      );
      stream.on('end', () => settle(null));
      for (const message of messages) stream.write(message);
      stream.end();
    }
  });
}

/** A generic client of the control plane at `address` (close it when done). */
export function rawClient(address: string): Client {
  return new Client(address, credentials.createInsecure());
}
