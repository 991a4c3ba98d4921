import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The ids one request is known by: ours (`x-ms-request-id`) and the caller's, if it sent one. */
export interface RequestIds {
  readonly requestId: string;
  readonly clientRequestId: string | undefined;
}

const USABLE = /^[\x21-\x7e]{1,128}$/;

/**
 * A request id for logs and the `x-ms-request-id` response header: the router's
 * `x-ms-request-id` when it forwarded one, else the caller's `x-ms-client-request-id` (so a
 * caller can find its request in the logs), else a new UUID. Ids that are not 1–128 printable
 * ASCII characters are ignored rather than echoed into logs and headers.
 */
export function requestIds(request: IncomingMessage): RequestIds {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' && USABLE.test(value) ? value : undefined;
  };
  const clientRequestId = header('x-ms-client-request-id');
  return {
    requestId: header('x-ms-request-id') ?? clientRequestId ?? randomUUID(),
    clientRequestId,
  };
}
