import { isIP } from 'node:net';
import { DoctorUsageError } from '../errors.js';

/** Where to connect instead of where DNS points, for one host name. */
export interface HostOverride {
  /** Connect here and skip DNS for the name; absent: DNS is asked as usual. */
  readonly address?: string;
  /** Connect to this port instead of the plan's. */
  readonly port?: number;
}

/**
 * Parses `--host-override NAME=IP[:PORT]` (also `NAME=:PORT`, which keeps DNS and changes the
 * port only, and `NAME=[::1]:PORT`).
 */
export function parseHostOverride(text: string): [name: string, override: HostOverride] {
  const equals = text.indexOf('=');
  const name = text.slice(0, equals).trim().toLowerCase().replace(/\.$/, '');
  const target = text.slice(equals + 1).trim();
  if (equals <= 0 || name === '' || target === '') {
    throw new DoctorUsageError(`--host-override ${text}: expected NAME=IP[:PORT] or NAME=:PORT`);
  }
  let address: string | undefined;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  if (bracketed) {
    address = bracketed[1];
    portText = bracketed[2];
  } else if (isIP(target) === 6) {
    address = target;
  } else {
    const colon = target.lastIndexOf(':');
    address = colon < 0 ? target : target.slice(0, colon);
    portText = colon < 0 ? undefined : target.slice(colon + 1);
    if (address === '') address = undefined;
  }
  if (address !== undefined && isIP(address) === 0) {
    throw new DoctorUsageError(`--host-override ${text}: "${address}" is not an IP address`);
  }
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    throw new DoctorUsageError(`--host-override ${text}: "${portText}" is not a port`);
  }
  if (address === undefined && port === undefined) {
    throw new DoctorUsageError(`--host-override ${text}: give an IP, a port, or both`);
  }
  return [
    name,
    { ...(address !== undefined ? { address } : {}), ...(port !== undefined ? { port } : {}) },
  ];
}
