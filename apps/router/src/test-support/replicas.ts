// Tiny real HTTP upstreams standing in for scoring-server replicas.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One upstream "replica". */
export interface TestReplica {
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  readonly name: string;
  /** Requests that reached it. */
  readonly received: ReceivedRequest[];
  /** Requests currently being handled. */
  active(): number;
  /** Most requests handled at once. */
  peak(): number;
  close(): Promise<void>;
}

export interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

export type ReplicaHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  replica: { readonly name: string },
) => void | Promise<void>;

/** Echo: answers `{replica, path, body}` once the whole body arrived. */
export const echo: ReplicaHandler = async (req, res, { name }) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = JSON.stringify({
    replica: name,
    path: req.url,
    body: Buffer.concat(chunks).toString('utf8'),
    requestId: req.headers['x-ms-request-id'],
  });
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
};

/** Starts a replica on a kernel-chosen loopback port. */
export async function startReplica(
  name: string,
  handler: ReplicaHandler = echo,
): Promise<TestReplica> {
  const received: ReceivedRequest[] = [];
  let active = 0;
  let peak = 0;
  const server: Server = createServer((req, res) => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    active += 1;
    peak = Math.max(peak, active);
    res.once('close', () => (active -= 1));
    Promise.resolve(handler(req, res, { name })).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    name,
    received,
    active: () => active,
    peak: () => peak,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
