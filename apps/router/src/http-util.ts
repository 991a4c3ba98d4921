// Small HTTP helpers shared by the server and the proxy: JSON answers, refusals that do not
// reset a client still sending, and header filtering.
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
  ServerResponse,
} from 'node:http';

/** How long a refused request's remaining body is read and discarded before the connection closes. */
export const REFUSED_LINGER_MS = 1_000;

/** The JSON error body of every answer the router makes itself. */
export function errorBody(status: number, message: string, requestId: string): Buffer {
  return Buffer.from(JSON.stringify({ error: { code: status, message }, requestId }));
}

/** Sends a JSON error with Content-Length (no chunked framing). */
export function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  requestId: string,
  headers: OutgoingHttpHeaders = {},
): void {
  res.end(writeErrorHead(res, status, message, requestId, headers));
}

/** Writes the head of a JSON error answer; returns its body, for the caller to send. */
function writeErrorHead(
  res: ServerResponse,
  status: number,
  message: string,
  requestId: string,
  headers: OutgoingHttpHeaders,
): Buffer {
  const body = errorBody(status, message, requestId);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': body.length,
  });
  return body;
}

/**
 * Answers without reading the rest of the body: the answer goes out at once, but the response
 * is ended (and the connection closed, by node:http) only when the client has finished sending
 * or after {@link REFUSED_LINGER_MS}: closing a socket with unread data resets the connection,
 * and a client still sending would then get the reset instead of the answer. What it still
 * sends is discarded.
 */
export function refuseAndClose(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  message: string,
  requestId: string,
  headers: OutgoingHttpHeaders = {},
): void {
  res.write(writeErrorHead(res, status, message, requestId, { ...headers, connection: 'close' }));
  const close = () => {
    clearTimeout(timer);
    res.end();
  };
  const timer = setTimeout(close, REFUSED_LINGER_MS);
  timer.unref();
  if (req.readableEnded) return close();
  req.removeAllListeners('data');
  req.once('end', close);
  req.once('close', close);
  req.resume();
}

/** Connection-level headers that a proxy must not forward (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
]);

/** `headers` without hop-by-hop ones (and those named in `Connection`) or names in `drop`. */
export function endToEndHeaders(
  headers: IncomingHttpHeaders,
  drop: ReadonlySet<string> = new Set(),
): OutgoingHttpHeaders {
  const named = headers.connection
    ? new Set(headers.connection.split(',').map((name) => name.trim().toLowerCase()))
    : undefined;
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || drop.has(name) || named?.has(name)) {
      continue;
    }
    out[name] = value;
  }
  return out;
}
