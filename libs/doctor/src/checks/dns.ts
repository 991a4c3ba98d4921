import { isIP } from 'node:net';
import dns2 from 'dns2';
import { isPublicAddress } from '../net/addresses.js';
import type { HostOverride } from '../net/overrides.js';
import type { Resolver } from '../net/resolvers.js';
import type { CheckContext, CheckOutcome, DnsData, DnsQuery, PrivatelinkProblem } from './model.js';

const rcodeNames: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};
const recordType = { A: 1, AAAA: 28, CNAME: 5 } as const;
// A CNAME chain longer than this is a loop, not a configuration.
const MAX_CNAME_HOPS = 8;

function errorCode(error: unknown): string {
  if (
    error !== null &&
    typeof error === 'object' &&
    'code' in error &&
    typeof error.code === 'string'
  ) {
    return error.code === 'ETIMEDOUT' ? 'timeout' : error.code;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Asks one resolver one question, following the CNAME chain (also across answers when the
 * resolver returns the CNAME without its target). Never throws: failures are in the result.
 * Only `resolver` is contacted — dns2's client is always given the address explicitly, so its
 * built-in public default is never used.
 */
export async function queryResolver(
  resolver: Resolver,
  name: string,
  type: 'A' | 'AAAA',
  timeoutMs: number,
  now: () => number = () => performance.now(),
): Promise<DnsQuery> {
  const started = now();
  // Follow-up questions along a CNAME chain share the one timeout.
  const ask = (question: string) =>
    dns2.UDPClient({
      dns: resolver.address,
      port: resolver.port,
      timeout: Math.max(1, Math.round(timeoutMs - (now() - started))),
      socketType: isIP(resolver.address) === 6 ? 'udp6' : 'udp4',
    })(question, type);
  const cnames: string[] = [];
  let current = name.toLowerCase();
  let rcode: string | undefined;
  let addresses: string[] = [];
  try {
    for (let hop = 0; hop <= MAX_CNAME_HOPS; hop += 1) {
      const response = await ask(current);
      rcode = rcodeNames[response.header.rcode] ?? `RCODE${response.header.rcode}`;
      const answers = response.answers;
      let followed = false;
      for (let guard = 0; guard <= MAX_CNAME_HOPS; guard += 1) {
        const alias = answers.find(
          (record) => record.type === recordType.CNAME && record.name.toLowerCase() === current,
        );
        if (alias?.domain === undefined) break;
        current = alias.domain.toLowerCase().replace(/\.$/, '');
        cnames.push(current);
        followed = true;
      }
      addresses = answers
        .filter(
          (record) => record.type === recordType[type] && record.name.toLowerCase() === current,
        )
        .flatMap((record) => (record.address !== undefined ? [record.address] : []));
      if (addresses.length > 0 || rcode !== 'NOERROR' || !followed) break;
    }
    return {
      resolver: resolver.label,
      type,
      ...(rcode !== undefined ? { rcode } : {}),
      addresses,
      cnames,
      latencyMs: Math.round(now() - started),
    };
  } catch (error) {
    return {
      resolver: resolver.label,
      type,
      ...(rcode !== undefined ? { rcode } : {}),
      addresses,
      cnames,
      latencyMs: Math.round(now() - started),
      error: errorCode(error),
    };
  }
}

/**
 * A `privatelink.` name in a CNAME chain must resolve to a private address; one that resolves
 * to a public address (private DNS zone not linked to the cluster's network) or not at all is
 * a problem even though the name "resolves". Judged over one resolver's A and AAAA answers.
 */
export function privatelinkProblem(queries: readonly DnsQuery[]): PrivatelinkProblem | undefined {
  const name = queries
    .flatMap((query) => query.cnames)
    .find((cname) => cname.split('.').includes('privatelink'));
  if (name === undefined || queries.some((query) => query.error !== undefined)) return undefined;
  const addresses = queries.flatMap((query) => query.addresses);
  if (addresses.length === 0) return { name, problem: 'unresolved', addresses: [] };
  if (addresses.some(isPublicAddress)) return { name, problem: 'public-address', addresses };
  return undefined;
}

function describeFailure(query: DnsQuery): string {
  if (query.error !== undefined) return query.error === 'timeout' ? 'timed out' : query.error;
  if (query.rcode !== 'NOERROR') return query.rcode ?? 'no answer';
  return 'no address';
}

/** Inputs of one host's DNS check. */
export interface DnsCheckInput {
  readonly host: string;
  /** Asked separately, in order; the first one's answer is what later checks connect to. */
  readonly resolvers: readonly Resolver[];
  readonly override?: HostOverride;
}

/** Resolves a host (A and AAAA) through every resolver separately. */
export async function runDnsCheck(
  input: DnsCheckInput,
  context: CheckContext,
): Promise<CheckOutcome> {
  if (input.override?.address !== undefined) {
    const data: DnsData = {
      kind: 'dns',
      source: 'override',
      queries: [],
      addresses: [input.override.address],
    };
    return {
      status: 'pass',
      detail: `not asked: --host-override → ${input.override.address}`,
      data,
    };
  }
  if (isIP(input.host) !== 0) {
    const data: DnsData = { kind: 'dns', source: 'literal', queries: [], addresses: [input.host] };
    return { status: 'pass', detail: `${input.host} is an address`, data };
  }
  const [primary] = input.resolvers;
  if (primary === undefined) return { status: 'fail', detail: 'no resolver to ask' };
  const queries = (
    await Promise.all(
      input.resolvers.map((resolver) =>
        Promise.all([
          queryResolver(resolver, input.host, 'A', context.timeoutMs, context.now),
          queryResolver(resolver, input.host, 'AAAA', context.timeoutMs, context.now),
        ]),
      ),
    )
  ).flat();
  const fromPrimary = queries.filter((query) => query.resolver === primary.label);
  const addresses = [...new Set(fromPrimary.flatMap((query) => query.addresses))];
  const privatelink = privatelinkProblem(fromPrimary);
  const data: DnsData = {
    kind: 'dns',
    source: 'resolvers',
    queries,
    // Later checks must not connect to a private endpoint's public address, so a privatelink
    // problem leaves nothing to connect to.
    addresses: privatelink === undefined ? addresses : [],
    ...(privatelink !== undefined ? { privatelink } : {}),
  };
  const a = fromPrimary.find((query) => query.type === 'A');
  const slowest = Math.max(...fromPrimary.map((query) => query.latencyMs));
  if (privatelink !== undefined) {
    return {
      status: 'fail',
      detail:
        privatelink.problem === 'public-address'
          ? `${privatelink.name} resolves to public ${privatelink.addresses.join(', ')}`
          : `${privatelink.name} does not resolve`,
      data,
    };
  }
  if (addresses.length === 0) {
    return {
      status: 'fail',
      detail: `${a !== undefined ? describeFailure(a) : 'no answer'} from ${primary.label}`,
      data,
    };
  }
  const cname = a !== undefined && a.cnames.length > 0 ? ` via ${a.cnames.join(' → ')}` : '';
  return { status: 'pass', detail: `${addresses.join(', ')}${cname} (${slowest} ms)`, data };
}
