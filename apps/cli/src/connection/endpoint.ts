/** Where the CLI connects, parsed from `--endpoint`, `SKIFF_ENDPOINT` or the login. */
export interface Endpoint {
  /** `host:port` for the gRPC channel. */
  readonly address: string;
  readonly tls: boolean;
}

/** The default endpoint: the embedded control plane on this machine. */
export const DEFAULT_ENDPOINT = '127.0.0.1:50051';

/**
 * Parses `host:port` (plaintext), `http://host:port` (plaintext) or `https://host[:port]`
 * (TLS, port 443 by default). Returns an error message for anything else.
 */
export function parseEndpoint(text: string): Endpoint | string {
  const match = /^(?:(https?):\/\/)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?\/?$/.exec(
    text.trim(),
  );
  const [, scheme, host, port] = match ?? [];
  if (host === undefined) {
    return `expected host:port or https://host[:port], e.g. ${DEFAULT_ENDPOINT}, got '${text}'`;
  }
  const tls = scheme === 'https';
  if (port === undefined && !tls) return `expected a port, e.g. ${host}:50051, got '${text}'`;
  return { address: `${host}:${port ?? '443'}`, tls };
}
