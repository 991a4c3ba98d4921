import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, connect, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import { Worker } from 'node:worker_threads';
import type { PemPair } from './certificates.js';
import { assertLoopback } from './loopback.js';

/** A listener on a loopback address. */
export interface TestListener {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

function listen(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => {
      const bound = server.address();
      if (bound !== null && typeof bound === 'object') resolve(bound.port);
      else reject(new Error('no port'));
    });
  });
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

/**
 * An HTTPS server choosing its certificate by SNI (`certificates` by name, `fallback`
 * otherwise). Answers `/v2/` with 401 (a registry asking for credentials), `/healthz` with
 * 200, anything else with 400, like the real services the plan probes.
 */
export async function startHttpsEndpoint(
  address: string,
  certificates: ReadonlyMap<string, PemPair>,
  fallback: PemPair,
): Promise<TestListener & { readonly requests: readonly string[] }> {
  assertLoopback(address, 'test HTTPS endpoint');
  const contexts = new Map(
    [...certificates].map(([name, pair]) => [name, createSecureContext(pair)]),
  );
  const requests: string[] = [];
  const server = createHttpsServer(
    { ...fallback, SNICallback: (name, done) => done(null, contexts.get(name.toLowerCase())) },
    (request, response) => {
      requests.push(`${request.headers.host ?? ''}${request.url ?? ''}`);
      const status = request.url === '/v2/' ? 401 : request.url === '/healthz' ? 200 : 400;
      response
        .writeHead(status, { 'content-type': 'text/plain', connection: 'close' })
        .end(String(status));
    },
  );
  const sockets = track(server);
  const port = await listen(server, address);
  return { address, port, requests, close: closer(server, sockets) };
}

/** Accepts TCP connections and never sends a byte: TLS handshakes and HTTP requests hang. */
export async function startSilentListener(address: string): Promise<TestListener> {
  assertLoopback(address, 'silent listener');
  const server = createTcpServer(() => undefined);
  const sockets = track(server);
  const port = await listen(server, address);
  return { address, port, close: closer(server, sockets) };
}

/**
 * A port where TCP connects time out, as behind a firewall that drops SYNs. A worker thread
 * listens with a backlog of one and then blocks its event loop, so it never accepts; once the
 * kernel's accept queue is full (filled here), further SYNs are dropped and connects hang.
 */
export async function startBlackholeListener(address: string): Promise<TestListener> {
  assertLoopback(address, 'blackhole listener');
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `
    const { workerData, parentPort } = require('node:worker_threads');
    const net = require('node:net');
    const flag = workerData.flag;
    const server = net.createServer();
    server.listen({ host: workerData.address, port: 0, backlog: 1 }, () => {
      parentPort.postMessage(server.address().port);
      setImmediate(() => {
        while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 200);
        server.close();
        parentPort.close();
      });
    });
    `,
    { eval: true, workerData: { address, flag } },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  // Fill the accept queue (backlog 1 holds two) so the next connect is the one that hangs.
  const fillers: Socket[] = [];
  for (let filled = 0; filled < 2; filled += 1) {
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: address, port }, () => resolve());
      socket.once('error', reject);
      fillers.push(socket);
    });
  }
  return {
    address,
    port,
    close: async () => {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      for (const socket of fillers) socket.destroy();
      await worker.terminate();
    },
  };
}

/** A port on `address` where nothing listens (connects are refused), free a moment ago. */
export async function closedPort(address: string): Promise<number> {
  assertLoopback(address, 'closed port');
  const server = createTcpServer();
  const port = await listen(server, address);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
