import { isIP } from 'node:net';
import { DoctorUsageError } from '../errors.js';

/** One DNS server the doctor asks, separately from the others. */
export interface Resolver {
  readonly address: string;
  readonly port: number;
  /** `127.0.0.2:53` or `[::1]:53`, as shown in reports. */
  readonly label: string;
}

function resolver(address: string, port: number): Resolver {
  return {
    address,
    port,
    label: isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`,
  };
}

/**
 * Parses `--resolver IP[:PORT]` (IPv6 as `[::1]:53` or bare `::1`). Names are refused: a
 * resolver given by name would need a resolver to find it.
 */
export function parseResolver(text: string): Resolver {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  let address: string;
  let portText: string | undefined;
  if (bracketed) {
    address = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (isIP(trimmed) === 6) {
    address = trimmed;
  } else {
    const [host, port, ...rest] = trimmed.split(':');
    if (rest.length > 0) throw new DoctorUsageError(`--resolver ${text}: expected IP[:PORT]`);
    address = host ?? '';
    portText = port;
  }
  if (isIP(address) === 0) {
    throw new DoctorUsageError(`--resolver ${text}: "${address}" is not an IP address`);
  }
  const port = portText === undefined ? 53 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new DoctorUsageError(`--resolver ${text}: "${portText}" is not a port`);
  }
  return resolver(address, port);
}

/** The `nameserver` lines of a resolv.conf, in order (what the system resolver asks). */
export function resolversFromResolvConf(text: string): Resolver[] {
  const resolvers: Resolver[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*nameserver\s+(\S+)/.exec(line);
    // A scoped IPv6 address (fe80::1%eth0) names an interface; dns2 cannot use it.
    const address = match?.[1]?.split('%')[0];
    if (address !== undefined && isIP(address) !== 0) resolvers.push(resolver(address, 53));
  }
  return resolvers;
}
