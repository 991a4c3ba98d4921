// The router's listeners: HTTP always, HTTPS when configured, both with the same handler and
// the same slow-client protections. The HTTPS certificate and key are reloaded when their files
// change, through setSecureContext: new handshakes use the new pair, open connections stay.
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenAddress } from './config.js';

/** Timeouts against slow clients. */
export interface ListenerTimeouts {
  /** A client must send its request headers within this. */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection closes after this. */
  readonly keepAliveTimeoutMs: number;
}

/** A listening server and its URL. */
export interface Listener {
  readonly server: Server | HttpsServer;
  readonly url: string;
  /** Stops certificate reloading (HTTPS); the server itself is closed by the caller. */
  stopWatching(): void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function applyTimeouts(server: Server, timeouts: ListenerTimeouts): void {
  server.headersTimeout = timeouts.headersTimeoutMs;
  // Bodies may legitimately take long (100 MB from a slow link; a long run()): the body and
  // scoring timeouts of the proxy bound them instead of one whole-request deadline.
  server.requestTimeout = 0;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  server.timeout = 0;
}

/** Starts the HTTP listener. */
// connectionsCheckingInterval: how often headersTimeout is checked (default 30 s).
export async function listenHttp(
  address: ListenAddress,
  handler: Handler,
  timeouts: ListenerTimeouts,
): Promise<Listener> {
  const server = createHttpServer({ connectionsCheckingInterval: 1_000, noDelay: true }, handler);
  applyTimeouts(server, timeouts);
  const url = await listen(server, address, 'http');
  return { server, url, stopWatching: () => undefined };
}

/** The certificate files of the HTTPS listener. */
export interface TlsFiles {
  readonly certPath: string;
  readonly keyPath: string;
  readonly reloadIntervalMs: number;
}

function readPair(files: TlsFiles): SecureContextOptions {
  const options: SecureContextOptions = {
    cert: readFileSync(files.certPath),
    key: readFileSync(files.keyPath),
    minVersion: 'TLSv1.2',
  };
  // Throws when the files are not PEM or the key does not match the certificate.
  createSecureContext(options);
  return options;
}

/** Starts the HTTPS listener (TLS ≥ 1.2) and watches its certificate files. */
export async function listenHttps(
  address: ListenAddress,
  files: TlsFiles,
  handler: Handler,
  timeouts: ListenerTimeouts,
  log: Logger,
): Promise<Listener> {
  const server = createHttpsServer(
    { ...readPair(files), connectionsCheckingInterval: 1_000, noDelay: true },
    handler,
  );
  applyTimeouts(server, timeouts);
  const url = await listen(server, address, 'https');
  // Stat polling rather than fs.watch: it sees the symlink swaps of mounted Kubernetes secrets
  // and editors' rename-over writes alike.
  let pending: NodeJS.Timeout | undefined;
  const reload = () => {
    // Both files usually change within moments of each other; read them once both settled.
    clearTimeout(pending);
    pending = setTimeout(() => {
      try {
        server.setSecureContext(readPair(files));
        log.info({ cert: files.certPath }, 'TLS certificate reloaded');
      } catch (error) {
        log.warn(
          { err: error, cert: files.certPath },
          'TLS certificate not reloaded; keeping the previous one',
        );
      }
    }, 50);
  };
  const options = { interval: files.reloadIntervalMs, persistent: false };
  watchFile(files.certPath, options, reload);
  watchFile(files.keyPath, options, reload);
  return {
    server,
    url,
    stopWatching: () => {
      clearTimeout(pending);
      unwatchFile(files.certPath, reload);
      unwatchFile(files.keyPath, reload);
    },
  };
}

function listen(server: Server, address: ListenAddress, scheme: 'http' | 'https'): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      resolve(`${scheme}://${host}:${bound.port}`);
    });
  });
}
