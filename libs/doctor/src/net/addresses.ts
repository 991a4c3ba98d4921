import { BlockList, isIP } from 'node:net';

const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

function family(address: string): 'ipv4' | 'ipv6' | undefined {
  const version = isIP(address);
  return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : undefined;
}

/**
 * Whether an address is routable on the internet (not private, CGNAT, loopback or
 * link-local). A private endpoint's name must not resolve to one.
 */
export function isPublicAddress(address: string): boolean {
  const kind = family(address);
  return kind !== undefined && !nonPublic.check(address, kind);
}

/** Whether an address is on the loopback interface (127.0.0.0/8, ::1). */
export function isLoopbackAddress(address: string): boolean {
  const kind = family(address);
  return kind !== undefined && loopback.check(address, kind);
}

/** Whether `address` lies in `cidr` (`10.244.0.0/16`); false when either is malformed. */
export function cidrContains(cidr: string, address: string): boolean {
  const [network, prefixText] = cidr.split('/');
  const kind = family(network ?? '');
  if (kind === undefined || kind !== family(address)) return false;
  const prefix = prefixText === undefined ? (kind === 'ipv4' ? 32 : 128) : Number(prefixText);
  if (!Number.isInteger(prefix)) return false;
  const list = new BlockList();
  try {
    list.addSubnet(network ?? '', prefix, kind);
  } catch {
    return false;
  }
  return list.check(address, kind);
}
